from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Outbound webhooks (Standard Webhooks) and conversions in from Stripe and HubSpot."""

    name = "integrations"

    def ready(self):
        from common import events

        from . import (
            handlers,  # noqa: F401 - registers this app's outbox topics
            listening,
        )

        events.listen(listening.wants)  # events are written only for organisations with endpoints
