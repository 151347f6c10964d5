"""Payout runs: approved money entries grouped per ambassador and currency, reviewed, confirmed,
exported (rewards.services.payout_files), marked paid — or canceled, entries back to approved.

One run at a time may be open (draft or confirmed) per organisation: `create_run` takes the
organisation's row lock (PostgreSQL; SQLite's IMMEDIATE transactions serialise writers anyway)
before it looks. A run nets every APPROVED money entry not yet in a run, negative corrections
included (a refund after payout is netted here), per (ambassador, currency); a total that is zero
or less, below RewardSettings.minimum_payout, of an excluded ambassador, or of an external
ambassador without payout details is left out and carries over to a later run. Internal
ambassadors are paid through payroll and need no payout details.

Entries are claimed with ONE conditional UPDATE (status approved and in no run → in_payout with
the item), so an entry can never be in two runs, and one that a concurrent hold or cancel took
first is simply not claimed; the items' totals are then recounted from what was claimed. It all
happens in one transaction: a failure (or a killed process) anywhere leaves nothing behind.
Every step is in the audit log; `mark_paid` emits the outbox event "payout.paid" in its
transaction (notifications.payout_emails e-mails each paid ambassador)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from ambassadors.models import Ambassador, Kind
from common import outbox
from common.events import publish
from tenancy.models import Organization
from tenancy.scoping import tenant_scope

from ..models import (
    EarningEntry,
    EntryStatus,
    PayoutDetails,
    PayoutItem,
    PayoutRun,
    PayoutStatus,
    RewardUnit,
)
from ..selectors.settings import reward_settings
from . import RewardError, audit

PAID_TOPIC = "payout.paid"
OPEN_STATUSES = (PayoutStatus.DRAFT, PayoutStatus.CONFIRMED)


class Channel:
    """How an item is paid: which payout file carries it."""

    PAYROLL = "payroll"  # internal ambassadors
    PAYPAL = "paypal"
    BANK = "bank"
    MISSING = "missing"  # external, and the details are gone


CHANNEL_LABELS = {Channel.PAYROLL: "Payroll", Channel.PAYPAL: "PayPal", Channel.BANK: "Bank transfer (IBAN)",
                  Channel.MISSING: "No payout details"}

CHANNEL_CHOICES = list(CHANNEL_LABELS.items())


class Reason:
    """Why approved money is not in a run."""

    EXCLUDED = "excluded"
    NOT_POSITIVE = "not_positive"
    BELOW_MINIMUM = "below_minimum"
    NO_DETAILS = "no_details"
    LATER = "later"


REASON_TEXTS = {
    Reason.EXCLUDED: "Excluded by an admin.",
    Reason.NOT_POSITIVE: "Corrections net it to zero or less; it carries over.",
    Reason.BELOW_MINIMUM: "Below the minimum payout; it carries over.",
    Reason.NO_DETAILS: "No payout details yet (PayPal e-mail or IBAN).",
    Reason.LATER: "Approved after this run was made: the next run pays it.",
}
REASON_CHOICES = list(REASON_TEXTS.items())


@dataclass(frozen=True)
class Due:
    """One ambassador's approved money in one currency, in no run yet."""

    ambassador_id: int
    currency: str
    amount: Decimal
    entry_count: int


@dataclass
class LeftOut:
    ambassador: Ambassador
    currency: str
    amount: Decimal
    entry_count: int
    reason: str

    @property
    def reason_text(self) -> str:
        return REASON_TEXTS[self.reason]


@dataclass
class Plan:
    """What a run made now would pay (`included`) and leave out."""

    included: list[Due]
    left_out: list[LeftOut]
    minimum: Decimal

    @property
    def totals(self) -> dict[str, Decimal]:
        return _totals((due.currency, due.amount) for due in self.included)


@dataclass
class ReviewItem:
    item: PayoutItem
    channel: str
    masked: str

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS[self.channel]


@dataclass
class Review:
    run: PayoutRun
    items: list[ReviewItem]
    totals: dict[str, Decimal]
    left_out: list[LeftOut] = field(default_factory=list)
    excluded: list[Ambassador] = field(default_factory=list)
    minimum: Decimal = Decimal("0")

    @property
    def channels(self) -> dict[str, list[str]]:
        """channel → the currencies it pays in this run (the export links to offer)."""
        found: dict[str, set[str]] = {}
        for row in self.items:
            found.setdefault(row.channel, set()).add(row.item.currency)
        return {channel: sorted(currencies) for channel, currencies in sorted(found.items())}


def _totals(pairs: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for currency, amount in pairs:
        totals[currency] = totals.get(currency, Decimal("0.00")) + amount
    return dict(sorted(totals.items()))


# --- Reads -------------------------------------------------------------------------------------------

def runs(organization_id: int):
    with tenant_scope(organization_id):
        return (PayoutRun.objects.filter(organization_id=organization_id).select_related("created_by")
                .annotate(item_count=Count("items")).order_by("-created_at", "-pk"))


def run_by_public_id(organization_id: int, public_id) -> PayoutRun | None:
    with tenant_scope(organization_id):
        return PayoutRun.objects.filter(organization_id=organization_id, public_id=public_id).first()


def open_run(organization_id: int) -> PayoutRun | None:
    with tenant_scope(organization_id):
        return PayoutRun.objects.filter(organization_id=organization_id, status__in=OPEN_STATUSES).first()


def _dues(organization_id: int) -> list[Due]:
    rows = (EarningEntry.objects.filter(organization_id=organization_id, unit=RewardUnit.MONEY,
                                        status=EntryStatus.APPROVED, payout_item__isnull=True)
            .values_list("ambassador_id", "currency").order_by().annotate(total=Sum("amount"), n=Count("pk")))
    return [Due(ambassador_id, currency, total, n) for ambassador_id, currency, total, n in rows]


def _reason(due: Due, *, excluded: set[int], internal: set[int], with_details: set[int],
            minimum: Decimal) -> str | None:
    if due.ambassador_id in excluded:
        return Reason.EXCLUDED
    if due.amount <= 0:
        return Reason.NOT_POSITIVE
    if due.amount < minimum:
        return Reason.BELOW_MINIMUM
    if due.ambassador_id not in internal and due.ambassador_id not in with_details:
        return Reason.NO_DETAILS
    return None


def _ambassadors(organization_id: int, ids: Iterable[int]) -> dict[int, Ambassador]:
    return {a.pk: a for a in Ambassador.objects.filter(organization_id=organization_id, pk__in=set(ids))}


def _plan(organization_id: int, excluded: set[int], *, in_run: set[tuple[int, str]] = frozenset()) -> Plan:
    minimum = reward_settings(organization_id).minimum_payout
    dues = _dues(organization_id)
    ambassador_ids = {due.ambassador_id for due in dues}
    internal = set(Ambassador.objects.filter(organization_id=organization_id, pk__in=ambassador_ids,
                                             kind=Kind.INTERNAL).values_list("pk", flat=True))
    with_details = set(PayoutDetails.objects.filter(organization_id=organization_id, ambassador_id__in=ambassador_ids)
                       .values_list("ambassador_id", flat=True))
    included, left_out = [], []
    for due in dues:
        if (due.ambassador_id, due.currency) in in_run:
            reason = Reason.LATER
        else:
            reason = _reason(due, excluded=excluded, internal=internal, with_details=with_details, minimum=minimum)
        if reason is None:
            included.append(due)
        else:
            left_out.append((due, reason))
    by_id = _ambassadors(organization_id, (due.ambassador_id for due, _ in left_out))
    rows = [LeftOut(by_id[due.ambassador_id], due.currency, due.amount, due.entry_count, reason)
            for due, reason in left_out]
    rows.sort(key=lambda row: (row.ambassador.display_name.casefold(), row.ambassador.pk, row.currency))
    included.sort(key=lambda due: (due.ambassador_id, due.currency))
    return Plan(included=included, left_out=rows, minimum=minimum)


def preview(organization_id: int, exclude: Iterable = ()) -> Plan:
    """What a run made now would pay and leave out (nothing is written)."""
    with tenant_scope(organization_id):
        return _plan(organization_id, _excluded_ids(organization_id, exclude))


def payment_order(item: PayoutItem) -> tuple:
    """Pages and files list payments by name, then ambassador and currency (the same order on every
    database: collations differ on punctuation, Python's order doesn't)."""
    return item.ambassador.display_name.casefold(), item.ambassador_id, item.currency


def channel_of(ambassador: Ambassador, details: PayoutDetails | None) -> str:
    if ambassador.kind == Kind.INTERNAL:
        return Channel.PAYROLL
    return details.method if details is not None else Channel.MISSING


def review(run: PayoutRun) -> Review:
    """The run's items (masked details only), totals per currency, who was excluded and, while the
    run is open, the approved money it leaves out and why."""
    organization_id = run.organization_id
    with tenant_scope(organization_id):
        items = sorted(run.items.select_related("ambassador"), key=payment_order)
        details = {d.ambassador_id: d for d in PayoutDetails.objects.filter(
            organization_id=organization_id, ambassador_id__in={item.ambassador_id for item in items})}
        rows = [ReviewItem(item, channel_of(item.ambassador, details.get(item.ambassador_id)),
                           details[item.ambassador_id].masked if item.ambassador_id in details else "")
                for item in items]
        excluded = list(run.excluded.order_by("display_name", "pk"))
        result = Review(run=run, items=rows, totals=_totals((item.currency, item.amount) for item in items),
                        excluded=excluded)
        if run.status in OPEN_STATUSES:
            plan = _plan(organization_id, {a.pk for a in excluded},
                         in_run={(item.ambassador_id, item.currency) for item in items})
            result.left_out, result.minimum = plan.left_out, plan.minimum
        else:
            result.minimum = reward_settings(organization_id).minimum_payout
    return result


# --- Writes ------------------------------------------------------------------------------------------

def _excluded_ids(organization_id: int, exclude: Iterable) -> set[int]:
    """Ambassadors (objects or ids) of this organisation; anything else is refused."""
    wanted = {getattr(value, "pk", value) for value in exclude}
    if not wanted:
        return set()
    if not all(isinstance(value, int) for value in wanted):
        raise RewardError("exclude", "Name the ambassadors to exclude by their id.")
    found = set(Ambassador.objects.filter(organization_id=organization_id, pk__in=wanted).values_list("pk", flat=True))
    if found != wanted:
        raise RewardError("exclude", "Some ambassadors to exclude are not in this organisation.")
    return found


def _lock_organisation(organization_id: int) -> None:
    """Serialise run creation per organisation (a no-op on SQLite, whose writers are serialised)."""
    # NO KEY: two runs still wait for each other, but rows referencing the organisation may be
    # inserted meanwhile (a plain FOR UPDATE blocks every insert of the tenant, and deadlocked with
    # an earnings chunk inserting audit rows while holding entries the run wanted).
    Organization.objects.select_for_update(no_key=True).filter(pk=organization_id).values_list("pk").first()


def _claim_entries(run: PayoutRun, now) -> dict[int, tuple[Decimal, int]]:
    """Move every approved money entry of the run's (ambassador, currency) pairs that is in no run
    to in_payout with its item, in one statement; what each item claimed: item id → (total,
    entries). PostgreSQL: a hash join of the items with the organisation's entries (the planner
    can't know yet how many items were just written, and one index probe per item is far slower)
    and the sums taken from the UPDATE's own rows."""
    entries, items = EarningEntry._meta.db_table, PayoutItem._meta.db_table
    update = (f"UPDATE {entries} SET status = %s, payout_item_id = {items}.id, status_changed_at = %s "  # noqa: S608 - the models' table names and placeholders only
              f"FROM {items} WHERE {items}.run_id = %s AND {entries}.organization_id = %s "
              f"AND {entries}.ambassador_id = {items}.ambassador_id AND {entries}.currency = {items}.currency "
              f"AND {entries}.unit = %s AND {entries}.status = %s AND {entries}.payout_item_id IS NULL")
    params = [EntryStatus.IN_PAYOUT.value, connection.ops.adapt_datetimefield_value(now), run.pk,
              run.organization_id, RewardUnit.MONEY.value, EntryStatus.APPROVED.value]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":  # SQLite: no UPDATE inside WITH
            cursor.execute(update, params)
            return _claimed(run)
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(f"WITH claimed AS ({update} RETURNING {items}.id AS item_id, {entries}.amount) "  # noqa: S608
                       "SELECT item_id, sum(amount), count(*) FROM claimed GROUP BY item_id", params)
        claimed = {item_id: (total, count) for item_id, total, count in cursor.fetchall()}
        cursor.execute("SET LOCAL enable_nestloop = on")
    return claimed


def _claimed(run: PayoutRun) -> dict[int, tuple[Decimal, int]]:
    return {item_id: (total, n) for item_id, total, n in
            _entries_of(run).values_list("payout_item_id").order_by().annotate(total=Sum("amount"), n=Count("pk"))}


def _entries_of(run: PayoutRun, item: PayoutItem | None = None):
    """The entries in the run (or one of its items). EarningEntry.payout_item has no index: an item
    is one ambassador's, so its entries are found through the ambassador's index."""
    entries = EarningEntry.objects.filter(organization_id=run.organization_id, status=EntryStatus.IN_PAYOUT)
    if item is not None:
        return entries.filter(ambassador_id=item.ambassador_id, payout_item=item)
    return entries.filter(payout_item__run=run)


def _settle_items(run: PayoutRun, claimed: dict[int, tuple[Decimal, int]], minimum: Decimal) -> None:
    """Set each item to what it actually claimed (a concurrent hold or a new approval may have
    changed its entries since the totals were read); an item no longer payable is dropped and its
    entries go back to approved."""
    for item in list(run.items.all()):
        total, count = claimed.get(item.pk, (None, 0))
        if count == 0 or total <= 0 or total < minimum:
            _entries_of(run, item).update(status=EntryStatus.APPROVED, payout_item=None)
            item.delete()
        elif (total, count) != (item.amount, item.entry_count):
            item.amount, item.entry_count = total, count
            item.save(update_fields=["amount", "entry_count"])


def create_run(organization_id: int, actor, exclude: Iterable = (), *, note: str = "", now=None) -> PayoutRun:
    """A draft run of everything payable now (see the module's doc); refused while another run is
    open or when nothing is payable."""
    now = now or timezone.now()
    note = " ".join(str(note or "").replace("\x00", "").split())[:300]
    with tenant_scope(organization_id), transaction.atomic():
        _lock_organisation(organization_id)
        current = PayoutRun.objects.filter(organization_id=organization_id, status__in=OPEN_STATUSES).first()
        if current is not None:
            raise RewardError(None, f"A payout run is already open ({current.get_status_display().lower()}, made "
                                    f"{timezone.localtime(current.created_at):%Y-%m-%d %H:%M}): mark it paid or "
                                    "cancel it before making another.", code="run_open")
        excluded = _excluded_ids(organization_id, exclude)
        plan = _plan(organization_id, excluded)
        if not plan.included:
            raise RewardError(None, "Nothing to pay: no ambassador has approved earnings to pay out "
                                    "(see who is left out and why below).", code="nothing_due")
        run = PayoutRun.objects.create(organization_id=organization_id, created_by=actor, note=note)
        run.excluded.set(excluded)
        PayoutItem.objects.bulk_create(
            [PayoutItem(organization_id=organization_id, run=run, ambassador_id=due.ambassador_id,
                        currency=due.currency, amount=due.amount, entry_count=due.entry_count)
             for due in plan.included], batch_size=2000)
        claimed = _claim_entries(run, now)
        _settle_items(run, claimed, plan.minimum)
        items = list(run.items.values_list("currency", "amount"))
        if not items:
            raise RewardError(None, "Nothing to pay: the approved earnings changed while the run was made; "
                                    "try again.", code="nothing_due")
        audit.record(organization_id=organization_id, actor=actor, action="payout_run.created",
                     object_type="payout_run", object_id=run.public_id, at=now, after={
                         "status": run.status, "items": len(items), "entries": sum(n for _, n in claimed.values()),
                         "totals": {currency: str(total) for currency, total in _totals(items).items()},
                         "excluded": sorted(str(a.public_id) for a in run.excluded.all())})
    return run


VERBS = {PayoutStatus.CONFIRMED: "confirmed", PayoutStatus.CANCELED: "canceled", PayoutStatus.PAID: "marked paid"}


def _move(run: PayoutRun, *, allowed: tuple[str, ...], to: str, stamp: str | None, now) -> PayoutRun:
    """The run from one of `allowed` to `to`, by a conditional UPDATE (a second click, or another
    admin at the same moment, changes nothing); refused with the run's actual status otherwise."""
    fields = {"status": to, **({stamp: now} if stamp else {})}
    moved = PayoutRun.objects.filter(pk=run.pk, status__in=allowed).update(**fields)
    run.refresh_from_db()
    if not moved:
        raise RewardError(None, f"This run is {run.get_status_display().lower()}: it can't be {VERBS[to]} now.",
                          code="wrong_status")
    return run


def _record(run: PayoutRun, actor, action: str, before: str, now, **after) -> None:
    audit.record(organization_id=run.organization_id, actor=actor, action=action, object_type="payout_run",
                 object_id=run.public_id, at=now, before={"status": before}, after={"status": run.status, **after})


def confirm(run: PayoutRun, actor, *, now=None) -> PayoutRun:
    """Draft → confirmed: its files can be downloaded and paid."""
    now = now or timezone.now()
    with tenant_scope(run.organization_id), transaction.atomic():
        run = _move(run, allowed=(PayoutStatus.DRAFT,), to=PayoutStatus.CONFIRMED, stamp="confirmed_at", now=now)
        _record(run, actor, "payout_run.confirmed", PayoutStatus.DRAFT, now)
    return run


def cancel(run: PayoutRun, actor, *, now=None) -> PayoutRun:
    """Draft or confirmed → canceled: its entries go back to approved (for the next run); the run
    and its items stay, as history."""
    now = now or timezone.now()
    with tenant_scope(run.organization_id), transaction.atomic():
        before = run.status
        run = _move(run, allowed=OPEN_STATUSES, to=PayoutStatus.CANCELED, stamp=None, now=now)
        released = _entries_of(run).update(
            status=EntryStatus.APPROVED, payout_item=None, status_changed_at=now)
        _record(run, actor, "payout_run.canceled", before, now, entries_released=released)
    return run


def mark_paid(run: PayoutRun, actor, *, now=None) -> PayoutRun:
    """Confirmed → paid: exactly this run's entries move from in_payout to paid, and the
    ambassadors are e-mailed (outbox "payout.paid", in this transaction)."""
    now = now or timezone.now()
    with tenant_scope(run.organization_id), transaction.atomic():
        run = _move(run, allowed=(PayoutStatus.CONFIRMED,), to=PayoutStatus.PAID, stamp="paid_at", now=now)
        paid = _entries_of(run).update(
            status=EntryStatus.PAID, status_changed_at=now)
        totals = _totals(run.items.values_list("currency", "amount"))
        _record(run, actor, "payout_run.marked_paid", PayoutStatus.CONFIRMED, now, entries_paid=paid,
                totals={currency: str(total) for currency, total in totals.items()})
        outbox.emit(PAID_TOPIC, key=f"{PAID_TOPIC}:{run.pk}", organization_id=run.organization_id,
                    payload={"run": run.pk})
        # The organisation's systems hear of it too (webhooks): public ids, money as strings.
        items = [{"id": str(item_id), "ambassador_id": str(ambassador_id), "amount": f"{amount:.2f}",
                  "currency": currency, "entries": entries}
                 for item_id, ambassador_id, amount, currency, entries in run.items.order_by("pk").values_list(
                     "public_id", "ambassador__public_id", "amount", "currency", "entry_count")]
        publish("payout.paid", organization_id=run.organization_id, cause=str(run.public_id), occurred_at=now,
                data={"payout": {"id": str(run.public_id), "paid_at": now.astimezone(UTC).isoformat().replace(
                    "+00:00", "Z"), "totals": [{"amount": f"{total:.2f}", "currency": currency}
                                               for currency, total in sorted(totals.items())], "items": items}})
    return run
