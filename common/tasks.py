"""The outbox's tasks: the beat's sweep (platform-wide on purpose: OutboxEvent is not a tenant
model; handlers enter their organisation's scope themselves) and the post-commit fast path."""

from celery import shared_task
from django.conf import settings

from . import outbox


@shared_task(name="common.tasks.sweep_outbox")
def sweep_outbox() -> int:
    """Handle what is due (every few seconds from the beat): events whose post-commit task was
    lost (broker down at publish time) and those backing off after a failure."""
    return outbox.sweep(limit=settings.OUTBOX_SWEEP_LIMIT)


@shared_task(name=outbox.HANDLE_TASK)
def handle_outbox_event(key: str) -> bool:
    """Queued after the commit that wrote the event: handle it now rather than at the next sweep."""
    return outbox.handle_key(key)
