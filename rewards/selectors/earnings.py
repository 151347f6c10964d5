"""Reads of the earnings ledger for people: the ambassador's "My earnings" page, the admins'
approvals queue and the earnings API. Money per status is `money.money_summary`, points balances
`points`, the settings `settings`; this module adds what those pages show besides (when pending
entries become approvable, the payout estimate, paid runs, the ledger, the queue). The writes are
rewards.services.ledger's.

Every query here runs in the current tenant scope, except `entries_of_user`, which reads one
user's own entries across the organisations they belong to, on purpose."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate

from tenancy.selectors import memberships_of
from tracking.models import Customer, Sale

from ..models import EarningEntry, EarningsCursor, EntryStatus, PayoutItem, PayoutStatus
from .money import MoneySummary, cents

ZERO = Decimal("0.00")
# What an ambassador's money totals are made of, in the page's order.
MONEY_STATUSES = (EntryStatus.PENDING, EntryStatus.HELD, EntryStatus.APPROVED, EntryStatus.IN_PAYOUT,
                  EntryStatus.PAID)
QUEUE_STATUSES = (EntryStatus.PENDING, EntryStatus.HELD)
_RECOMPUTE = re.compile(r"v\d+")


# --- what an entry is ------------------------------------------------------------------------------

def correction_kind(cause: str) -> str | None:
    """None for an entry earned by an event ("sale:12"); for a correction (a cause with a third
    part, rewards' contract): "refund" (taken back after payout), "recompute" (the attribution
    changed: "…:v3") or "adjustment" (anything else)."""
    parts = cause.split(":", 2)
    if len(parts) < 3:
        return None
    if parts[2] == "refund":
        return "refund"
    if _RECOMPUTE.fullmatch(parts[2]):
        return "recompute"
    return "adjustment"


CORRECTION_LABELS = {
    "refund": "Refund after payout",
    "recompute": "Attribution recomputed",
    "adjustment": "Correction",
}


# --- one ambassador's figures -------------------------------------------------------------------------

@dataclass
class CurrencyTotals:
    """Signed sums (a negative correction lowers its status's total) of one currency."""

    currency: str
    pending: Decimal = ZERO
    held: Decimal = ZERO
    approved: Decimal = ZERO
    in_payout: Decimal = ZERO
    paid: Decimal = ZERO


def per_currency(summary: MoneySummary) -> list[CurrencyTotals]:
    """A money summary (status → currency → sum) as one row per currency, currencies A–Z."""
    rows = []
    for currency in summary.currencies:
        sums = {status.value: summary.of(status).get(currency, ZERO) for status in MONEY_STATUSES}
        if any(sums.values()):  # a currency only canceled or refunded in: nothing to show
            rows.append(CurrencyTotals(currency, **sums))
    return rows


@dataclass
class ApprovalDate:
    """Pending entries that become approvable on one (local) day, in one currency (or points)."""

    day: date
    unit: str
    currency: str
    amount: Decimal
    entries: int


def pending_schedule(ambassador_id: int, tz, limit: int = 6) -> list[ApprovalDate]:
    """When the ambassador's pending entries become approvable, soonest first: per day in the
    organisation's time zone and currency (points apart)."""
    rows = (EarningEntry.objects.filter(ambassador_id=ambassador_id, status=EntryStatus.PENDING)
            .annotate(day=TruncDate("approve_after", tzinfo=tz))
            .values("day", "unit", "currency").annotate(amount=Sum("amount"), entries=Count("pk"))
            .order_by("day", "unit", "currency"))[:limit]
    return [ApprovalDate(row["day"], row["unit"], row["currency"], cents(row["amount"]), row["entries"])
            for row in rows]


@dataclass
class PayoutEstimate:
    """What the next payout run would pay the ambassador in one currency, from the approved money."""

    currency: str
    approved: Decimal
    minimum: Decimal

    @property
    def reaches_minimum(self) -> bool:
        return self.approved > 0 and self.approved >= self.minimum


def next_payout(totals: list[CurrencyTotals], minimum_payout: Decimal) -> list[PayoutEstimate]:
    """One estimate per currency with approved money (negative: a correction to be netted)."""
    return [PayoutEstimate(t.currency, t.approved, minimum_payout) for t in totals if t.approved]


def paid_history(ambassador_id: int) -> QuerySet[PayoutItem]:
    """The ambassador's items in paid runs, latest first."""
    return (PayoutItem.objects.filter(ambassador_id=ambassador_id, run__status=PayoutStatus.PAID)
            .select_related("run").order_by("-run__paid_at", "-pk"))


def ledger_of(ambassador_id: int, status: str = "") -> QuerySet[EarningEntry]:
    """The ambassador's entries, newest first (optionally of one status)."""
    entries = EarningEntry.objects.filter(ambassador_id=ambassador_id)
    if status:
        entries = entries.filter(status=status)
    return entries.select_related("rule", "campaign").order_by("-earned_at", "-pk")


# --- the approvals queue -----------------------------------------------------------------------------

DUE_CHOICES = [("due", "Due now"), ("later", "Still holding")]


def _in_queue(now: datetime, status: str = "") -> Q:
    """Pending entries (found by time: none is pending whose holding ended before
    EarningsCursor.pending_floor) and held ones (each in a fraud case)."""
    if status not in ("", EntryStatus.PENDING, EntryStatus.HELD):
        return Q(status=status)
    wanted = Q(pk__in=[])
    if status in ("", EntryStatus.PENDING):
        cursor = EarningsCursor.objects.first()
        floor = cursor.pending_floor(now) if cursor else None
        wanted |= Q(status=EntryStatus.PENDING) & (Q(approve_after__gt=floor) if floor is not None else Q())
    if status in ("", EntryStatus.HELD):
        wanted |= Q(status=EntryStatus.HELD, fraud_case__isnull=False)
    return wanted


def approval_queue(*, now: datetime, status: str = "", campaign=None, ambassador=None,
                   due: str = "") -> QuerySet[EarningEntry]:
    """Pending and held entries, the soonest approvable first. `campaign` and `ambassador` are
    public ids (already validated as UUIDs); `due` one of DUE_CHOICES' keys."""
    entries = EarningEntry.objects.filter(_in_queue(now, status))
    if campaign:
        entries = entries.filter(campaign__public_id=campaign)
    if ambassador:
        entries = entries.filter(ambassador__public_id=ambassador)
    if due == "due":
        entries = entries.filter(approve_after__lte=now)
    elif due == "later":
        entries = entries.filter(approve_after__gt=now)
    return entries.select_related("ambassador", "rule", "campaign", "fraud_case").order_by("approve_after", "pk")


@dataclass
class QueueCounts:
    pending: int
    due: int
    held: int


def queue_counts(now: datetime) -> QueueCounts:
    counts = EarningEntry.objects.filter(_in_queue(now)).aggregate(
        pending=Count("pk", filter=Q(status=EntryStatus.PENDING)),
        due=Count("pk", filter=Q(status=EntryStatus.PENDING, approve_after__lte=now)),
        held=Count("pk", filter=Q(status=EntryStatus.HELD)))
    return QueueCounts(**counts)


def queue_totals(entries: QuerySet[EarningEntry]) -> list[dict]:
    """Sums of a (filtered) queue per unit and currency: [{unit, currency, amount, entries}]."""
    rows = list(entries.order_by().values("unit", "currency").annotate(amount=Sum("amount"), entries=Count("pk"))
                .order_by("unit", "currency"))
    return [{**row, "amount": cents(row["amount"])} for row in rows]


def entries_by_public_id(public_ids) -> list[EarningEntry]:
    """The current organisation's entries among `public_ids` (others' ids simply aren't found)."""
    return list(EarningEntry.objects.filter(public_id__in=list(public_ids)).select_related("ambassador")
                .order_by("pk"))


# --- the API -------------------------------------------------------------------------------------------

def _with_public_ids(entries: QuerySet[EarningEntry]) -> QuerySet[EarningEntry]:
    """The sale's and customer's public ids (entries store their row ids), and the corrected entry's."""
    return entries.select_related("ambassador", "rule", "campaign", "adjusts").annotate(
        sale_public_id=Subquery(Sale.objects.filter(pk=OuterRef("sale_id")).values("public_id")[:1]),
        customer_public_id=Subquery(Customer.objects.filter(pk=OuterRef("customer_id")).values("public_id")[:1]))


def entries_for_api() -> QuerySet[EarningEntry]:
    """The organisation's entries, newest first, for managers' API."""
    return _with_public_ids(EarningEntry.objects.all()).order_by("-earned_at", "-pk")


def entries_of_user(user) -> QuerySet[EarningEntry]:
    """The user's own entries in every organisation they are a member of (their ambassador
    profile there), newest first. Across tenants on purpose: only rows of this user's profiles,
    and only in organisations where they still have a membership."""
    organizations = [membership.organization_id for membership in memberships_of(user)]
    return (EarningEntry.objects.with_scopes_disabled()
            .filter(ambassador__user=user, organization_id__in=organizations)
            .select_related("organization", "rule", "campaign", "adjusts").order_by("-earned_at", "-pk"))
