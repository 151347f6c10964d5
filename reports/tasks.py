"""The reports' Celery tasks (thin: the work is in reports.digest)."""

from celery import shared_task

from . import digest


@shared_task(name="reports.tasks.send_due_digests")
def send_due_digests() -> int:
    """Every 15 minutes (beat): send the weekly and monthly digests that are due, platform-wide."""
    return digest.send_due_digests()
