from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Cross-cutting utilities below every app: rate limits, CSV cells and export, the outbox."""

    name = "common"
