import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

from . import kombu_filesystem  # noqa: F401 - registers the "filesystem-atomic" transport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ambassadors")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Celery's Django fixup closes every database connection around every task unless
# CELERY_DB_REUSE_MAX is set: a new PostgreSQL connection per task (~7 ms, more than most tasks
# take; issue 16's webhook deliveries are one task per event). Workers keep their connections the
# way web requests do instead (settings.CELERY_DB_REUSE_MAX): Django's close_old_connections()
# around each task closes a connection that is broken or older than CONN_MAX_AGE, and
# CONN_HEALTH_CHECKS checks one before it is reused, so a restarted database costs a reconnect,
# not a failed task. (With DB_POOL, or SQLite, CONN_MAX_AGE is 0: closed after every task as before.)
@task_prerun.connect(dispatch_uid="close_old_connections_before_task")
@task_postrun.connect(dispatch_uid="close_old_connections_after_task")
def _close_old_connections(task=None, **kwargs):
    if task is not None and getattr(task.request, "is_eager", False):
        return  # run in the caller's process (apply(), eager tests): the connection is the caller's
    from django.db import close_old_connections

    close_old_connections()
