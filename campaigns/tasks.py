"""Thin Celery tasks around campaigns' services."""

from celery import shared_task

from .services import announcements


@shared_task(name="campaigns.tasks.announce_started_campaigns")
def announce_started_campaigns() -> int:
    """Beat: announce the campaigns whose start has come (platform-wide: see announce_started)."""
    return announcements.announce_started()
