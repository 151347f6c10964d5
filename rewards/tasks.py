"""Thin Celery tasks around rewards' services.

Earnings follow attribution through the beat: tracking sits below rewards and knows nothing
of it, so `dispatch_earnings` (every 30 s) queues `compute_earnings` for each organisation with
reward rules; a run reads only what changed since its cursor, so an idle organisation costs a
few indexed reads. `dispatch_approvals` (hourly) approves entries whose holding period is over
(each earnings run does it too, so 0-day points are spendable within a beat)."""

import logging

from celery import shared_task
from django.core.cache import cache
from django.db import IntegrityError, InterfaceError, OperationalError
from django_scopes import scopes_disabled

from tenancy.tasking import tenant_task

from .services import earnings, fraud, ledger

log = logging.getLogger(__name__)

# While this key exists a compute_earnings task of the organisation is queued or running, so the
# beat queues no other. Best effort: runs of one organisation take turns under the cursor's row
# lock and converge to the same ledger, so a duplicate is harmless; the TTL frees a dead task's.
QUEUED_KEY = "rewards:compute-earnings:{}"
QUEUED_TTL = 60  # seconds
CLICKS_PER_RUN = 200_000  # a backlog is worked through in several runs, so no run holds a worker long
# A run of the organisation in progress is waited for this long, then this one gives up (the beat
# comes again): a worker is not held behind a long first run.
RUN_LOCK_WAIT = 5.0


def queue_earnings(organization_id: int) -> bool:
    if cache.add(QUEUED_KEY.format(organization_id), "queued", QUEUED_TTL):
        compute_earnings.delay(organization_id)
        return True
    return False


# IntegrityError: another writer of the same (rule, cause, ambassador) committed first (the unique
# constraint refused this chunk, which rolled back); the retry reads the ledger again.
@tenant_task(autoretry_for=(OperationalError, InterfaceError, IntegrityError), retry_backoff=True, max_retries=5)
def compute_earnings(organization_id: int) -> int:
    """Bring the organisation's ledger up to date, then approve what is due. Returns the number
    of entries written (new and corrections)."""
    key = QUEUED_KEY.format(organization_id)
    requeued = False
    try:
        run = earnings.compute_earnings(organization_id, click_limit=CLICKS_PER_RUN, wait=RUN_LOCK_WAIT)
        ledger.approve_due(organization_id)
        if run.more:
            cache.set(key, "queued", QUEUED_TTL)
            compute_earnings.delay(organization_id)
            requeued = True
        return run.created + run.corrections
    finally:
        if not requeued:
            cache.delete(key)


@tenant_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def approve_due(organization_id: int) -> int:
    """Approve the organisation's entries whose holding period is over. Returns how many."""
    return ledger.approve_due(organization_id)


@shared_task(name="rewards.tasks.dispatch_earnings")
def dispatch_earnings() -> int:
    """Beat, every 30 seconds: queue compute_earnings for each organisation with a reward rule
    (deactivated ones too: their entries still follow refunds). Returns how many were queued."""
    with scopes_disabled():
        organization_ids = earnings.organizations_with_rules()
    return sum(queue_earnings(organization_id) for organization_id in organization_ids)


@shared_task(name="rewards.tasks.dispatch_approvals")
def dispatch_approvals() -> int:
    """Beat, hourly: queue approve_due for each organisation with pending entries past their
    holding period. Returns how many were queued."""
    with scopes_disabled():
        candidates = earnings.organizations_with_rules()
    organization_ids = [organization_id for organization_id in candidates if ledger.has_due(organization_id)]
    for organization_id in organization_ids:
        approve_due.delay(organization_id)
    return len(organization_ids)


@tenant_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def release_stale_fraud_cases(organization_id: int) -> int:
    """Release the organisation's fraud cases with no new signal for 30 days (as the system)."""
    return fraud.auto_release_stale(organization_id)


@shared_task(name="rewards.tasks.dispatch_stale_fraud_cases")
def dispatch_stale_fraud_cases() -> int:
    """Beat, daily: queue release_stale_fraud_cases for each organisation with a case quiet for 30
    days. Returns how many were queued."""
    with scopes_disabled():
        organization_ids = fraud.organizations_with_stale_cases()
    for organization_id in organization_ids:
        release_stale_fraud_cases.delay(organization_id)
    return len(organization_ids)
