"""The delivery engine: due Delivery rows → the channel's sender → sent, retried, failed or skipped.

Exactly once per Delivery row (its key names the cause: ambassador, campaign, channel, kind):

1. **Claim** (`claim`): due rows that are pending, or `sending` with an expired lease (their
   worker died), are taken in one transaction: status `sending`, `claimed_until` = now + lease,
   `attempts` + 1. PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED, so overlapping beats and several
   workers take disjoint rows; SQLite: the transaction holds the database's write lock (IMMEDIATE).
   E-mail rows are claimed by whole (ambassador, kind) groups, so a daily or weekly batch is one
   e-mail. Rows of ambassadors no longer active, who turned that kind off meanwhile, or of a
   campaign no longer running are `skipped`.
2. **Send**: the channel's sender (notifications.senders) gets the rows of one organisation, in
   its scope. It must not start a message after the lease (`senders.time_left()`, which keeps a
   margin of EMAIL_TIMEOUT + 1 s), so a row is never sent by two workers at once — provided the
   workers' clocks agree within that margin (leases are wall-clock times; run NTP).
3. **Record**: each outcome the sender `report()`s is written at once, in its own autocommitted
   UPDATE (e-mail: right after the SMTP server accepted the message); the rest when the sender
   returns. Temporary failures go back to `pending` with `due_at` = now + retry_after; after
   MAX_ATTEMPTS, or on a permanent refusal, `failed`.

The remaining window: a worker killed (or a database lost) after the SMTP server accepted a
message and before its row's UPDATE reached the database sends that one message again once the
lease has expired — at most one message per killed worker, with the same deterministic
Message-ID (notifications.emails.message_id), so the resend is recognisable (and dropped by
receivers that de-duplicate on it). Nothing else is sent twice: every other row was either
marked sent before the kill or never handed to the server.
"""

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scopes_disabled

from ambassadors.models import Status as AmbassadorStatus
from campaigns.models import CampaignStatus
from tenancy.scoping import tenant_scope

from .models import Delivery, DeliveryChannel, DeliveryStatus, Frequency, Preference
from .senders import SENDERS, Outcome, reporting

log = logging.getLogger(__name__)

MAX_ERROR = 300  # Delivery.last_error's length


def retry_backoff(attempts: int) -> float:
    """Seconds before another try after `attempts` failed ones: 30 s, 1 min, 2 min … at most 1 h."""
    return float(min(30 * 2 ** max(0, attempts - 1), 3600))


@dataclass
class Run:
    """What one send_due call did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    more: bool = False  # stopped by its time budget with rows still due

    def add(self, other: "Run") -> None:
        for name in ("claimed", "sent", "retried", "failed", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Claim:
    rows: list[Delivery]
    lease: object  # the claimed_until written on them (datetime)
    deadline: float  # time.monotonic() when the lease ends, less the margin for one send
    now: object
    settled: set[int] = field(default_factory=set)
    attempts: dict[int, int] = field(init=False)  # row id → attempts, this claim's included

    def __post_init__(self):
        self.attempts = {row.pk: row.attempts for row in self.rows}


def _claimable(now, organization_id):
    rows = Delivery.objects.filter(due_at__lte=now).filter(
        Q(status=DeliveryStatus.PENDING) | Q(status=DeliveryStatus.SENDING, claimed_until__lt=now))
    if organization_id is not None:
        rows = rows.filter(organization_id=organization_id)
    return rows


def _locked(rows):
    return rows.select_for_update(skip_locked=True) if connection.vendor == "postgresql" else rows


def _give_up_on_crashed(now, organization_id) -> int:
    """Rows whose sender died MAX_ATTEMPTS times in a row: failed, not taken again."""
    return _claimable(now, organization_id).filter(status=DeliveryStatus.SENDING,
                                                   attempts__gte=settings.NOTIFY_MAX_ATTEMPTS).update(
        status=DeliveryStatus.FAILED, claimed_until=None,
        last_error=f"Gave up after {settings.NOTIFY_MAX_ATTEMPTS} attempts (the sender never finished).")


def claim(*, now=None, organization_id: int | None = None, limit: int | None = None) -> Claim | None:
    """Take up to `limit` due rows (whole e-mail groups: a few more when a group straddles the
    limit); None when nothing is due. Platform-wide unless `organization_id`."""
    now = now or timezone.now()
    limit = limit or settings.NOTIFY_BATCH_SIZE
    lease_seconds = settings.NOTIFY_LEASE_SECONDS
    started = time.monotonic()
    with scopes_disabled(), transaction.atomic():
        claimable = _claimable(now, organization_id)
        # In id order: the primary key's index finds the first due rows without sorting them all.
        picked = list(_locked(claimable).order_by("pk").values_list("pk", "channel", "ambassador_id")[:limit])
        if not picked:
            return None
        ids = [pk for pk, _, _ in picked]
        groups = {ambassador_id for _, channel, ambassador_id in picked
                  if channel == DeliveryChannel.EMAIL and ambassador_id is not None}
        if groups:  # the rest of those ambassadors' due e-mails, so a batch is one e-mail
            ids += list(_locked(claimable.filter(channel=DeliveryChannel.EMAIL, ambassador_id__in=groups)
                                .exclude(pk__in=ids)).values_list("pk", flat=True))
        lease = now + timedelta(seconds=lease_seconds)
        Delivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.SENDING, claimed_until=lease,
                                                   attempts=F("attempts") + 1)
        rows = list(Delivery.objects.filter(pk__in=ids).select_related("ambassador", "campaign", "organization")
                    .order_by("organization_id", "channel", "ambassador_id", "kind", "pk"))
    for row in rows:  # the same organisation: no query per row for ambassador.organization
        if row.ambassador is not None:
            row.ambassador.organization = row.organization
    margin = send_margin()
    return Claim(rows=rows, lease=lease, deadline=started + lease_seconds - margin, now=now)


def send_margin() -> float:
    """Seconds one message may take at most (the SMTP timeout), plus one: a sender does not start
    a message with less time than that left on the lease."""
    return float(getattr(settings, "EMAIL_TIMEOUT", None) or 10) + 1.0


# --- Recording outcomes ----------------------------------------------------------------------------

def _mine(claim: Claim, ids):
    """The claimed rows still ours (status sending, our lease): a row whose lease ran out and that
    another worker took is not overwritten."""
    return Delivery.objects.filter(pk__in=list(ids), status=DeliveryStatus.SENDING, claimed_until=claim.lease)


def _mark_sent(claim: Claim, ids: list[int]) -> int:
    """_mine(claim, ids).update(status=sent, …) in plain SQL: it runs once per e-mail, right after
    the SMTP server accepted it, so it is kept to one short autocommitted statement."""
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = %s, claimed_until = NULL, last_error = '' "  # noqa: S608 - the table's name and placeholders only
            f"WHERE id IN ({', '.join(['%s'] * len(ids))}) AND status = %s AND claimed_until = %s",
            [DeliveryStatus.SENT.value, ops.adapt_datetimefield_value(claim.now), *ids, DeliveryStatus.SENDING.value,
             ops.adapt_datetimefield_value(claim.lease)])
        return cursor.rowcount


def record(claim: Claim, outcomes: dict[int, Outcome], run: Run) -> None:
    """Write outcomes (autocommit: each call is its own short transaction)."""
    outcomes = {pk: outcome for pk, outcome in outcomes.items() if pk not in claim.settled}
    if not outcomes:
        return
    attempts = claim.attempts
    sent = [pk for pk, outcome in outcomes.items() if outcome.sent]
    by_change: dict[tuple, list[int]] = defaultdict(list)
    for pk, outcome in outcomes.items():
        if outcome.sent:
            continue
        error = (outcome.error or "failed")[:MAX_ERROR]
        if outcome.retry_after is not None and attempts.get(pk, 0) < settings.NOTIFY_MAX_ATTEMPTS:
            by_change[(DeliveryStatus.PENDING, outcome.retry_after, error)].append(pk)
        else:
            if outcome.retry_after is not None:
                error = f"Gave up after {attempts.get(pk, 0)} attempts: {error}"[:MAX_ERROR]
            by_change[(DeliveryStatus.FAILED, None, error)].append(pk)
    with scopes_disabled():
        if sent:
            updated = _mark_sent(claim, sent)
            if updated != len(sent):
                log.warning("%d of %d sent deliveries were no longer ours (lease expired?)", len(sent) - updated,
                            len(sent))
            run.sent += len(sent)
        for (status, retry_after, error), ids in by_change.items():
            changes = {"status": status, "claimed_until": None, "last_error": error}
            if status == DeliveryStatus.PENDING:
                changes["due_at"] = timezone.now() + timedelta(seconds=retry_after)
                run.retried += len(ids)
            else:
                run.failed += len(ids)
            _mine(claim, ids).update(**changes)
    claim.settled.update(outcomes)


# --- Who no longer wants it ------------------------------------------------------------------------

def _unwanted(rows: list[Delivery], now) -> dict[int, str]:
    """Rows not to send any more, with the reason: the ambassador is no longer active or turned
    that kind of e-mail off since the row was made; the campaign was paused, ended or deleted."""
    reasons = {}
    email_rows = [r for r in rows if r.channel == DeliveryChannel.EMAIL and r.ambassador_id is not None]
    off = set()
    if email_rows:
        with scopes_disabled():
            off = set(Preference.objects.filter(
                ambassador_id__in={r.ambassador_id for r in email_rows}, channel=DeliveryChannel.EMAIL,
                frequency=Frequency.OFF).values_list("ambassador_id", "kind"))
    for row in rows:
        if row.ambassador_id is not None and row.ambassador.status != AmbassadorStatus.ACTIVE:
            reasons[row.pk] = f"The ambassador is {row.ambassador.status}."
        elif row.channel == DeliveryChannel.EMAIL and (row.ambassador_id, row.kind) in off:
            reasons[row.pk] = "The ambassador turned these e-mails off."
        elif row.campaign_id is not None and (row.campaign.status != CampaignStatus.ACTIVE
                                              or (row.campaign.ends_at is not None and row.campaign.ends_at <= now)):
            reasons[row.pk] = "The campaign is no longer running."
    return reasons


def _skip(claim: Claim, reasons: dict[int, str], run: Run) -> None:
    by_reason = defaultdict(list)
    for pk, reason in reasons.items():
        by_reason[reason].append(pk)
    with scopes_disabled():
        for reason, ids in by_reason.items():
            _mine(claim, ids).update(status=DeliveryStatus.SKIPPED, claimed_until=None, last_error=reason[:MAX_ERROR])
    claim.settled.update(reasons)
    run.skipped += len(reasons)


# --- Sending ---------------------------------------------------------------------------------------

def process(claim: Claim) -> Run:
    """Send the claimed rows, per organisation and channel, and record every outcome."""
    run = Run(claimed=len(claim.rows))
    _skip(claim, _unwanted(claim.rows, claim.now), run)
    batches: dict[tuple[int, str], list[Delivery]] = defaultdict(list)
    for row in claim.rows:
        if row.pk not in claim.settled:
            batches[(row.organization_id, row.channel)].append(row)
    for (organization_id, channel), rows in batches.items():
        sender = SENDERS.get(channel)
        if sender is None:
            record(claim, {row.pk: Outcome.refused(f"No sender for the {channel} channel.") for row in rows}, run)
            continue
        outcomes: dict[int, Outcome] = {}
        try:
            with tenant_scope(organization_id), reporting(lambda early: record(claim, early, run),
                                                          deadline=claim.deadline):
                outcomes = sender(rows) or {}
        except Exception as error:  # noqa: BLE001 - a sender's bug must not leave rows claimed
            # The type only: a chat sender's exception text may carry its webhook address.
            log.error("The %s sender failed on %d deliveries of organisation %s: %s", channel, len(rows),
                      organization_id, type(error).__name__)
            outcomes = {}
            failure = f"The sender failed ({type(error).__name__})."
        else:
            failure = "The sender gave no outcome."
        rest = {row.pk: outcomes.get(row.pk) or Outcome.retry(retry_backoff(row.attempts), failure)
                for row in rows}
        record(claim, rest, run)
    return run


def send_due(*, now=None, organization_id: int | None = None, budget_seconds: float | None = None,
             batch_size: int | None = None) -> Run:
    """Claim and send due rows batch after batch until none is due or `budget_seconds` is spent
    (then `more` is set: the caller queues another run). `now` fixes the clock (tests)."""
    budget = settings.NOTIFY_SEND_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    stop_at = time.monotonic() + budget
    total = Run()
    with scopes_disabled():
        total.failed += _give_up_on_crashed(now or timezone.now(), organization_id)
    while True:
        batch = claim(now=now, organization_id=organization_id, limit=batch_size)
        if batch is None:
            break
        total.add(process(batch))
        if time.monotonic() >= stop_at:
            total.more = True
            break
    if total.claimed:
        log.info("Notifications: claimed=%d sent=%d retried=%d failed=%d skipped=%d more=%s", total.claimed,
                 total.sent, total.retried, total.failed, total.skipped, total.more)
    return total
