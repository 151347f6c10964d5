"""Thin Celery tasks around the delivery engine (notifications.delivery)."""

from celery import shared_task
from django.conf import settings

from tenancy.tasking import publish_after_commit, tenant_task

from . import delivery


@shared_task(name="notifications.tasks.send_due")
def send_due() -> int:
    """Beat, every few seconds, platform-wide on purpose (every organisation's due rows, each
    sent in its organisation's scope): send what is due for up to NOTIFY_SEND_BUDGET_SECONDS,
    and queue another run if rows are left. Returns how many were sent."""
    run = delivery.send_due()
    if run.more:
        publish_after_commit(send_due, recovery="the beat's next send_due sends the rest")
    return run.sent


@tenant_task()
def send_due_for(organization_id: int) -> int:
    """Queued after a fan-out: send the organisation's due rows now rather than at the next beat."""
    run = delivery.send_due(organization_id=organization_id)
    if run.more:
        publish_after_commit(send_due_for, organization_id, recovery="the beat's send_due sends the rest")
    return run.sent


def queue_sending(organization_id: int) -> None:
    """After the current transaction commits, queue send_due_for (if the broker is down, the
    beat's send_due sends them)."""
    if getattr(settings, "NOTIFY_SEND_ON_COMMIT", True):
        publish_after_commit(send_due_for, organization_id, recovery="the beat's send_due sends them")
