from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Ambassadors' notification preferences and e-mail / Slack / Teams delivery from the outbox."""

    name = "notifications"

    def ready(self):
        from . import handlers  # noqa: F401 - registers this app's outbox topics
