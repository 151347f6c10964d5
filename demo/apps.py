from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (manage.py seed_demo), above every app: it uses each app's services."""

    name = "demo"
