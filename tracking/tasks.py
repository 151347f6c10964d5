"""Thin Celery tasks around tracking's services."""

import logging

from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django_scopes import scopes_disabled

from tenancy.models import Organization
from tenancy.tasking import publish_after_commit, tenant_task

from . import salts
from .models import ConversionImport, ImportStatus
from .selectors import imports_waiting_too_long
from .services import attribution, attribution_settings, click_processing, import_runs

log = logging.getLogger(__name__)

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
    """Queue attribute_pending once the current transaction commits (the rows must be visible).
    The conversion is stored by then: if the broker is down, the beat's dispatch_attribution
    picks it up later, and the request that stored it must not fail for it."""
    publish_after_commit(attribute_pending, organization_id,
                         recovery="the beat's dispatch_attribution sweep will attribute it")


@shared_task(name="tracking.tasks.dispatch_attribution")
def dispatch_attribution() -> int:
    """Beat, every 30 seconds: queue attribute_pending for each organisation with leads or
    sales waiting, so a lead deferred for its click (or a lost queue message) is picked up
    without another post. Duplicates are harmless: attribution rewrites idempotently."""
    with scopes_disabled():
        organization_ids = attribution.organizations_with_pending_attribution()
    for organization_id in organization_ids:
        attribute_pending.delay(organization_id)
    # Recomputes whose chain of steps stopped (a lost message, a dead worker) carry on.
    with scopes_disabled():
        stalled = attribution_settings.organizations_with_stalled_recompute()
    for organization_id, version in stalled:
        recompute_attribution.delay(organization_id, version)
    # Imports whose task message never arrived (broker down at upload, a lost message).
    with scopes_disabled():
        waiting = imports_waiting_too_long()
    for organization_id, import_id in waiting:
        run_conversion_import.delay(organization_id, import_id, only_if_queued=True)
    return len(organization_ids)


# Old credits stay a minute after a recompute finishes, so a report that read the settings just
# before the switch still finds the rows of the version it is about to read.
STALE_CREDITS_GRACE = 60  # seconds


@tenant_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def recompute_attribution(organization_id: int, version: int) -> int:
    """One chunk of a recompute (new window or half-life); queues the next chunk, and the
    deletion of the old credits once the new version is active. Returns customers done."""
    step = attribution_settings.recompute_step(organization_id, version)
    if step.more:
        recompute_attribution.delay(organization_id, version)
    if step.finished:
        delete_stale_credits.apply_async((organization_id,), countdown=STALE_CREDITS_GRACE)
    return step.done


@tenant_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def delete_stale_credits(organization_id: int) -> int:
    """Delete credits of versions no report reads any more, a chunk per run."""
    deleted, more = attribution_settings.delete_stale_credits(organization_id)
    if more:
        delete_stale_credits.delay(organization_id)
    return deleted


def queue_settings_change(change: attribution_settings.Change) -> None:
    """After a settings change commits: start its recompute, or clean up a cancelled one."""
    organization_id = change.settings.organization_id
    if change.recompute_started:
        publish_after_commit(recompute_attribution, organization_id, change.settings.pending_version,
                             recovery="dispatch_attribution restarts a recompute that doesn't move")
    elif change.recompute_cancelled:
        publish_after_commit(delete_stale_credits, organization_id,
                             recovery="the cancelled version's credits stay (reports don't read them) "
                                      "until the next recompute cleans up")


@shared_task(name="tracking.tasks.verify_credits")
def verify_credits() -> int:
    """Nightly: check every organisation's credits (tracking.verification); log each violation
    and their count at ERROR (alerting watches that level). Returns the number found."""
    from .verification import verify

    with scopes_disabled():
        organization_ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    total = 0
    for report in verify(organization_ids):
        for violation in report.violations[:100]:
            log.error("verify_credits: %s", violation.line())
        if report.violations:
            log.error("verify_credits: %d violations in organisation %s (%d customers checked)",
                      len(report.violations), report.organization_id, report.customers)
        total += len(report.violations)
    if not total:
        log.info("verify_credits: no violations in %d organisations", len(organization_ids))
    return total


# --- CSV import of leads and sales (tracking.services.imports, import_runs) ----------------------

@tenant_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def run_conversion_import(organization_id: int, import_id: int, only_if_queued: bool = False) -> dict | None:
    """Process one uploaded CSV import (ConversionImport). Safe to run again: it recomputes
    the report and creates nothing new. Returns the counts (None if a run of it was under way,
    or if `only_if_queued` and it isn't queued any more: the beat's re-queued copies of an import
    that has run since do nothing)."""
    if only_if_queued and not ConversionImport.objects.filter(pk=import_id, status=ImportStatus.QUEUED).exists():
        return None

    done = import_runs.run_import(import_id, organization_id, rows_stored=queue_attribution)
    if done is None:
        return None
    return {"status": done.status, "created": done.rows_created, "updated": done.rows_updated,
            "unchanged": done.rows_unchanged, "failed": done.rows_failed}


def queue_conversion_import(organization_id: int, import_id: int) -> None:
    """Queue run_conversion_import once the current transaction commits (the row must be visible)."""
    publish_after_commit(run_conversion_import, organization_id, import_id,
                         recovery="dispatch_attribution re-queues imports left queued")


@shared_task(name="tracking.tasks.fetch_reference_rates", autoretry_for=(OSError,), retry_backoff=True,
             max_retries=5)
def fetch_reference_rates(url: str | None = None) -> int:
    """The beat, daily: the ECB's euro reference rates of the last 90 days (REFERENCE_RATES_URL;
    empty: the shipped history instead, no call out), stored as reference rates for every
    organisation that sells in another currency (the currencies it sells in), which converts its
    estimated and awaiting sales. Returns the number of sales converted again."""
    import urllib.request

    from django.conf import settings

    from .models import Sale
    from .services import rates

    with scopes_disabled():
        used = list(Sale.objects.exclude(original_currency="").exclude(rate_status="own")
                    .values_list("organization_id", "original_currency").distinct())
    if not used:  # nobody sells in another currency: nothing to fetch
        return 0
    url = settings.REFERENCE_RATES_URL if url is None else url
    if url:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - the configured ECB feed
            table = rates.parse_ecb_xml(answer.read().decode("utf-8"))
    else:
        table = rates.shipped_reference()
    changed = 0
    wanted: dict[int, set[str]] = {}
    for organization_id, currency in used:
        wanted.setdefault(organization_id, set()).add(currency)
    with scopes_disabled():
        for organization in Organization.objects.filter(pk__in=wanted):
            converted = rates.load_reference(organization, table, wanted=wanted[organization.pk])
            if converted:
                queue_attribution(organization.pk)
            changed += converted
    return changed
