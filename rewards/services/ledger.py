"""Every status move of a ledger entry, each with its audit entry, in the caller's transaction
(or its own).

Moves only go forward (pending → approved → in a payout → paid; held ⇄ pending/approved;
pending, approved or held → canceled or refunded) and are conditional UPDATEs (`WHERE status IN
…`), so two racing moves of one entry cannot both happen: the second changes no row. Amounts are
never touched here (a correction is a new entry, rewards.services.earnings).

`actor` is the user acting, or None for the system (the beat, the earnings engine); the audit
log says "system" then."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone

from common.events import publish, wanted
from tenancy.scoping import tenant_scope
from tracking.models import Customer, Sale

from ..models import EarningEntry, EarningsCursor, EntryStatus, FraudCase
from . import RewardError
from .audit import record

__all__ = [
    "APPROVE_BATCH",
    "CANCELABLE",
    "approve",
    "approve_due",
    "has_due",
    "cancel",
    "hold",
    "mark_refunded",
    "publish_entry_events",
    "release",
]

APPROVE_BATCH = 5000
EVENT_CHUNK = 1000  # entries read per query when their domain events are written
UNPAID = (EntryStatus.PENDING, EntryStatus.APPROVED, EntryStatus.HELD)
CANCELABLE = UNPAID
HOLDABLE = (EntryStatus.PENDING, EntryStatus.APPROVED)
_REFUSED = {
    EntryStatus.IN_PAYOUT: "This entry is in a payout run; cancel the run (or remove the ambassador from it) first.",
    EntryStatus.PAID: "This entry is paid; a paid entry is never changed (a correction is a new entry).",
    EntryStatus.CANCELED: "This entry is already canceled.",
    EntryStatus.REFUNDED: "This entry was refunded; it can no longer change.",
}


def _ids(entries: Iterable[EarningEntry | int] | QuerySet) -> list[int]:
    """Entries given as rows, ids or a queryset (evaluated in the caller's tenant scope)."""
    if isinstance(entries, QuerySet):
        return sorted(entries.values_list("pk", flat=True))
    return sorted({getattr(entry, "pk", entry) for entry in entries})


def _batch_audit(organization_id: int, actor, action: str, ids: list[int], before: dict, after: dict,
                 at: datetime) -> None:
    """One audit entry per move of a set of entries, naming each (public ids): a batch of the
    beat's approvals is one line, not thousands."""
    if not ids:
        return
    public_ids = [str(p) for p in EarningEntry.objects.filter(pk__in=ids).order_by("pk")
                  .values_list("public_id", flat=True)]
    record(organization_id=organization_id, actor=actor, action=action, object_type="earning_entries",
           object_id=f"{len(ids)} entries" if len(ids) > 1 else public_ids[0], before=before,
           after={**after, "entries": public_ids}, at=at)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def publish_entry_events(event_type: str, organization_id: int, ids: list[int], *, at: datetime) -> None:
    """The domain events (common.events) of entries just written ("earning.created": once per
    entry) or moved ("earning.updated": once per entry, status and moment), in the caller's
    transaction. Their data names everything by public id; money is a string with its currency.
    Nothing is read when no one listens (no webhook endpoint of the organisation wants the type)."""
    if not wanted(organization_id, event_type):
        return
    for start in range(0, len(ids), EVENT_CHUNK):
        rows = list(EarningEntry.objects.filter(organization_id=organization_id, pk__in=ids[start:start + EVENT_CHUNK])
                    .order_by("pk").values("public_id", "status", "event", "unit", "amount", "currency", "earned_at",
                                           "approve_after", "ambassador__public_id", "rule__public_id",
                                           "campaign__public_id", "adjusts__public_id", "sale_id", "customer_id"))
        sales = dict(Sale.objects.filter(organization_id=organization_id, pk__in={r["sale_id"] for r in rows
                                                                                  if r["sale_id"]})
                     .values_list("pk", "public_id"))
        customers = dict(Customer.objects.filter(organization_id=organization_id,
                                                 pk__in={r["customer_id"] for r in rows if r["customer_id"]})
                         .values_list("pk", "public_id"))
        for row in rows:
            entry_id = str(row["public_id"])
            cause = entry_id if event_type == "earning.created" else f"{entry_id}:{row['status']}:{_iso(at)}"
            public = {name: str(value) if value else None for name, value in (
                ("ambassador_id", row["ambassador__public_id"]), ("rule_id", row["rule__public_id"]),
                ("campaign_id", row["campaign__public_id"]), ("adjusts_id", row["adjusts__public_id"]),
                ("sale_id", sales.get(row["sale_id"])), ("customer_id", customers.get(row["customer_id"])))}
            publish(event_type, organization_id=organization_id, cause=cause, occurred_at=at, data={"earning": {
                "id": entry_id, "status": row["status"], "event": row["event"], "unit": row["unit"],
                "amount": f"{row['amount']:.2f}", "currency": row["currency"] or None,
                "earned_at": _iso(row["earned_at"]), "approve_after": _iso(row["approve_after"]), **public}})


def _move(organization_id: int, ids: list[int], *, from_statuses, to_status, at: datetime, **extra) -> list[int]:
    """Move the entries among `ids` still in one of `from_statuses`; returns the ids moved. The
    rows are locked first (in id order, like every writer of entries), so what is returned is
    exactly what the UPDATE changed, and a concurrent move of one of them waits, then finds it
    moved and leaves it."""
    if not ids:
        return []
    moved = list(EarningEntry.objects.select_for_update()
                 .filter(organization_id=organization_id, pk__in=ids, status__in=list(from_statuses))
                 .order_by("pk").values_list("pk", flat=True))
    if moved:
        EarningEntry.objects.filter(pk__in=moved, status__in=list(from_statuses)).update(
            status=to_status, status_changed_at=at, **extra)
        publish_entry_events("earning.updated", organization_id, moved, at=at)
    return moved


def _due(organization_id: int, now: datetime) -> QuerySet[EarningEntry]:
    """The pending entries whose holding is over, read by approve_after from the cursor's floor."""
    cursor = EarningsCursor.objects.filter(organization_id=organization_id).first()
    due = EarningEntry.objects.filter(organization_id=organization_id, approve_after__lte=now,
                                      status=EntryStatus.PENDING)
    floor = cursor.pending_floor(now) if cursor is not None else None
    return due if floor is None else due.filter(approve_after__gt=floor)


def has_due(organization_id: int, now: datetime | None = None) -> bool:
    with tenant_scope(organization_id):
        return _due(organization_id, now or timezone.now()).exists()


def approve_due(organization_id: int, now: datetime | None = None, *, batch: int = APPROVE_BATCH) -> int:
    """Approve every pending entry (money and points) whose holding period is over; held entries
    wait for their fraud case. Returns how many were approved. Reads entries by approve_after,
    from the last run's `now` (EarningsCursor.approved_through, less a margin), in batches of
    `batch`, each its own transaction and audit entry, so a large backlog never holds a long lock."""
    now = now or timezone.now()
    approved = 0
    with tenant_scope(organization_id):
        EarningsCursor.objects.get_or_create(organization_id=organization_id)  # approved_through is kept there
        due = _due(organization_id, now)
        after: tuple[datetime, int] | None = None
        while True:
            page = due if after is None else due.filter(
                Q(approve_after__gt=after[0]) | Q(approve_after=after[0], pk__gt=after[1]))
            rows = list(page.order_by("approve_after", "pk").values_list("approve_after", "pk")[:batch])
            if not rows:
                break
            after = rows[-1]
            with transaction.atomic():
                moved = _move(organization_id, [pk for _, pk in rows], from_statuses=[EntryStatus.PENDING],
                              to_status=EntryStatus.APPROVED, at=now)
                _batch_audit(organization_id, None, "entries.approve_due", moved, {"status": "pending"},
                             {"status": "approved"}, now)
            approved += len(moved)
            if len(rows) < batch:
                break
        EarningsCursor.objects.filter(Q(approved_through__isnull=True) | Q(approved_through__lt=now),
                                      organization_id=organization_id).update(approved_through=now)
    return approved


def approve(entry: EarningEntry, actor, *, now: datetime | None = None) -> EarningEntry:
    """Approve a pending entry early (before its holding period ends)."""
    now = now or timezone.now()
    with tenant_scope(entry.organization_id), transaction.atomic():
        if not _move(entry.organization_id, [entry.pk], from_statuses=[EntryStatus.PENDING],
                     to_status=EntryStatus.APPROVED, at=now):
            entry.refresh_from_db()
            raise RewardError("status", "Only a pending entry can be approved early; this one is "
                                        f"{entry.get_status_display().lower()}.")
        record(organization_id=entry.organization_id, actor=actor, action="entry.approve", object_type="earning_entry",
               object_id=entry.public_id, before={"status": "pending"}, after={"status": "approved"}, at=now)
    with tenant_scope(entry.organization_id):
        entry.refresh_from_db()
    return entry


def cancel(entry: EarningEntry, actor, reason: str, *, now: datetime | None = None) -> EarningEntry:
    """Cancel a pending, approved or held entry, with a reason (kept in the entry's note and the
    audit log). A canceled entry earns nothing, and the engine never re-creates it."""
    reason = (reason or "").strip()
    if not reason:
        raise RewardError("reason", "Say why the entry is canceled.")
    now = now or timezone.now()
    with tenant_scope(entry.organization_id), transaction.atomic():
        current = EarningEntry.objects.select_for_update().get(organization_id=entry.organization_id, pk=entry.pk)
        if current.status not in CANCELABLE:
            raise RewardError("status", _REFUSED.get(current.status, "This entry cannot be canceled."))
        _move(entry.organization_id, [entry.pk], from_statuses=CANCELABLE, to_status=EntryStatus.CANCELED, at=now,
              note=reason[:300])
        record(organization_id=entry.organization_id, actor=actor, action="entry.cancel", object_type="earning_entry",
               object_id=entry.public_id, before={"status": current.status},
               after={"status": "canceled", "reason": reason[:300]}, at=now)
        entry.refresh_from_db()
    return entry


def hold(entries, case: FraudCase, actor, reason: str = "", *, now: datetime | None = None) -> int:
    """Hold pending or approved entries under a fraud case (they wait for its release). Returns
    how many were held (entries already held, in a payout, paid, canceled or refunded are left)."""
    now = now or timezone.now()
    with tenant_scope(case.organization_id), transaction.atomic():
        ids = _ids(entries)
        moved = _move(case.organization_id, ids, from_statuses=HOLDABLE, to_status=EntryStatus.HELD, at=now,
                      fraud_case=case)
        _batch_audit(case.organization_id, actor, "entries.hold", moved, {"status": "pending/approved"},
                     {"status": "held", "case": str(case.public_id), "reason": reason[:300]}, now)
    return len(moved)


def release(entries, actor, *, now: datetime | None = None, note: str = "",
            organization_id: int | None = None) -> int:
    """Release held entries (rows, or ids/a queryset with `organization_id`): back to pending,
    or approved when their holding period is over. Returns how many were released."""
    now = now or timezone.now()
    if isinstance(entries, QuerySet):
        organization_id = organization_id or entries.values_list("organization_id", flat=True).first()
    else:
        entries = list(entries)
        organization_id = organization_id or next(
            (e.organization_id for e in entries if isinstance(e, EarningEntry)), None)
    if organization_id is None:
        return 0
    with tenant_scope(organization_id), transaction.atomic():
        ids = _ids(entries)
        moved = list(EarningEntry.objects.select_for_update()
                     .filter(organization_id=organization_id, pk__in=ids, status=EntryStatus.HELD)
                     .order_by("pk").values_list("pk", flat=True))
        if not moved:
            return 0
        EarningEntry.objects.filter(pk__in=moved, status=EntryStatus.HELD).update(
            status=Case(When(approve_after__lte=now, then=Value(EntryStatus.APPROVED.value)),
                        default=Value(EntryStatus.PENDING.value)),
            status_changed_at=now)
        publish_entry_events("earning.updated", organization_id, moved, at=now)
        _batch_audit(organization_id, actor, "entries.release", moved, {"status": "held"},
                     {"status": "pending/approved as due", "note": note[:300]}, now)
    return len(moved)


def mark_refunded(organization_id: int, entries, *, actor=None, now: datetime | None = None,
                  reason: str = "sale refunded") -> int:
    """Mark unpaid live entries (pending, approved, held) refunded: the sale they came from was
    refunded before they were paid. Entries in a payout or paid are left to the caller (the
    engine writes a negative "<cause>:refund" entry for them). Returns how many moved."""
    now = now or timezone.now()
    with tenant_scope(organization_id), transaction.atomic():
        moved = _move(organization_id, _ids(entries), from_statuses=UNPAID, to_status=EntryStatus.REFUNDED, at=now)
        _batch_audit(organization_id, actor, "entries.refund", moved, {"status": "unpaid"},
                     {"status": "refunded", "reason": reason[:300]}, now)
    return len(moved)


def unpaid(queryset: QuerySet) -> QuerySet:
    """The entries of `queryset` not yet in a payout (pending, approved or held)."""
    return queryset.filter(Q(status__in=list(UNPAID)))
