import os

from celery import Celery

from . import kombu_filesystem  # noqa: F401 - registers the "filesystem-atomic" transport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ambassadors")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
