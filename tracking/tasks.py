"""Thin Celery tasks around tracking's services."""

from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django_scopes import scopes_disabled

from tenancy.tasking import tenant_task

from . import salts
from .services import attribution, click_processing

# While this key exists, a process_clicks task of the organisation is queued or running, so no
# other is queued. Best effort: a duplicate is harmless (batches of one organisation take turns
# under a database lock and never count twice); the TTL frees an organisation whose task died.
QUEUED_KEY = "tracking:process-clicks:{}"
QUEUED_TTL = 10  # seconds; short, since with a per-process cache (embedded mode) only the TTL frees the key


def queue_processing(organization_id: int) -> bool:
    """Queue process_clicks for the organisation unless one is queued or running already (the
    beat's dispatcher uses this; so can anything that wants clicks processed sooner)."""
    if cache.add(QUEUED_KEY.format(organization_id), "queued", QUEUED_TTL):
        process_clicks.delay(organization_id)
        return True
    return False


@tenant_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def process_clicks(organization_id: int) -> int:
    """Process the organisation's raw clicks, a bounded number of batches per run; queue a
    follow-up run when some remain, so one organisation can't hold a worker forever.
    Returns the number of clicks recorded."""
    key = QUEUED_KEY.format(organization_id)
    requeued = False
    try:
        run = click_processing.process_pending(organization_id)
        if run.more:
            cache.set(key, "queued", QUEUED_TTL)
            process_clicks.delay(organization_id)
            requeued = True
        return run.inserted
    finally:
        if not requeued:
            cache.delete(key)


@shared_task(name="tracking.tasks.dispatch_click_processing")
def dispatch_click_processing() -> int:
    """Beat, every few seconds: queue process_clicks for each organisation with raw clicks
    waiting, unless one is queued or running already. Returns how many were queued."""
    with scopes_disabled():
        organization_ids = click_processing.organizations_with_pending_clicks()
    return sum(queue_processing(organization_id) for organization_id in organization_ids)


@shared_task(name="tracking.tasks.delete_old_salts")
def delete_old_salts() -> int:
    """Hourly: forget IP-hash salts whose day has been over for 24 hours (platform-wide)."""
    return salts.delete_old_salts()


@tenant_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def attribute_pending(organization_id: int) -> int:
    """Attribute the organisation's unattributed leads and sales, one bounded batch of each
    per run; queue a follow-up run when a full batch was seen. Idempotent, so duplicate or
    overlapping runs are harmless. Returns the number of conversions attributed."""
    run = attribution.attribute_pending(organization_id)
    if run.more:
        attribute_pending.delay(organization_id)
    return run.customers + run.sales


def queue_attribution(organization_id: int) -> None:
    """Queue attribute_pending once the current transaction commits (the rows must be visible)."""
    transaction.on_commit(lambda: attribute_pending.delay(organization_id))


@shared_task(name="tracking.tasks.dispatch_attribution")
def dispatch_attribution() -> int:
    """Beat, every 30 seconds: queue attribute_pending for each organisation with leads or
    sales waiting, so a lead deferred for its click (or a lost queue message) is picked up
    without another post. Duplicates are harmless: attribution rewrites idempotently."""
    with scopes_disabled():
        organization_ids = attribution.organizations_with_pending_attribution()
    for organization_id in organization_ids:
        attribute_pending.delay(organization_id)
    return len(organization_ids)
