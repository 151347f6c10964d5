"""Thin Celery tasks around the webhook delivery engine (integrations.services.delivery)."""

import logging

from celery import shared_task
from django.core.cache import cache

from tenancy.tasking import publish_after_commit, tenant_task

from .services import delivery

log = logging.getLogger(__name__)

QUEUED_KEY = "webhooks:queued:{}"  # an organisation's deliver_due_for is queued and has not started
QUEUED_SECONDS = 10  # after which another may be queued anyway (the first may have been lost)


@shared_task(name="integrations.tasks.deliver_due")
def deliver_due() -> int:
    """Beat, every few seconds, platform-wide on purpose (every organisation's due deliveries, each
    recorded without a tenant scope by the engine, which reads only the rows it claimed): retries
    that came due, and deliveries whose queued task was lost (broker down). How many succeeded."""
    run = delivery.deliver_due()
    if run.more:
        publish_after_commit(deliver_due, recovery="the beat's next deliver_due sends the rest")
    return run.succeeded


@tenant_task()
def deliver_due_for(organization_id: int) -> int:
    """Queued after a fan-out: send the organisation's due deliveries now, not at the next beat."""
    try:
        cache.delete(QUEUED_KEY.format(organization_id))  # events from now on queue another run
    except Exception:  # noqa: BLE001 - a cache that is down only costs an extra task
        log.debug("Could not clear the webhook queue mark of organisation %s", organization_id, exc_info=True)
    run = delivery.deliver_due(organization_id=organization_id)
    if run.more:
        publish_after_commit(deliver_due_for, organization_id, recovery="the beat's deliver_due sends the rest")
    return run.succeeded


def queue_delivery(organization_id: int) -> None:
    """After the current transaction commits, queue deliver_due_for unless one is already queued
    and not started (a burst of events makes one task, not one per event); if the broker is down,
    the beat's deliver_due sends them."""
    def publish() -> None:
        try:
            fresh = cache.add(QUEUED_KEY.format(organization_id), 1, timeout=QUEUED_SECONDS)
        except Exception:  # noqa: BLE001 - no cache: queue every time
            fresh = True
        if fresh:
            try:
                deliver_due_for.delay(organization_id)
            except Exception:  # noqa: BLE001 - kombu/redis/OS errors alike: the beat's sweep is the safety net
                log.warning("Could not queue webhook delivery for organisation %s (broker down?); the beat's "
                            "deliver_due sends it.", organization_id, exc_info=True)
                try:
                    cache.delete(QUEUED_KEY.format(organization_id))
                except Exception:  # noqa: BLE001
                    log.debug("Could not clear the webhook queue mark", exc_info=True)

    from django.conf import settings
    from django.db import transaction

    if getattr(settings, "WEBHOOK_SEND_ON_COMMIT", True):
        transaction.on_commit(publish)


@shared_task(name="integrations.tasks.prune_delivery_log")
def prune_delivery_log() -> int:
    """Beat, daily, platform-wide on purpose: delivery attempts older than 30 days are deleted."""
    return delivery.prune_log()
