"""Thin Celery tasks around the delivery engine (notifications.delivery)."""

from celery import shared_task
from django.conf import settings

from tenancy.tasking import publish_after_commit, tenant_task

from . import delivery, digest, reminders


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


@shared_task(name="notifications.tasks.produce_digests")
def produce_digests() -> int:
    """Beat, every 15 minutes, platform-wide on purpose: the weekly digests due (Monday from 08:00
    in each organisation's time zone) as Delivery rows, sent by send_due. How many were added."""
    created = digest.produce_digests()
    if created:
        publish_after_commit(send_due, recovery="the beat's send_due sends them")
    return created


@shared_task(name="notifications.tasks.produce_reminders")
def produce_reminders() -> int:
    """Beat, every 15 minutes, platform-wide on purpose: reminders of featured campaigns not shared
    (organisations that turned them on), as Delivery rows sent by send_due. How many were added."""
    created = reminders.produce_reminders()
    if created:
        publish_after_commit(send_due, recovery="the beat's send_due sends them")
    return created
