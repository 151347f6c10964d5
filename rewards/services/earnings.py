"""The earnings engine: reward rules applied to attributed clicks, leads and sales, written to the
ledger exactly once.

`compute_earnings(organization_id)` reads what is new since the organisation's EarningsCursor —
unique creditable clicks after `last_click_pk`, customers (leads, and with them all their sales)
attributed since `computed_at` minus RESCAN_MARGIN (re-reading a few minutes is harmless, missing
a commit is not) — and, for each (rule, source event, ambassador), compares what the rules give
now (the *target*, rewards.earnings) with what the ledger holds (the *live* sum: entries neither
canceled nor refunded):

* nothing yet → an entry with the event's cause ("click:<id>", "lead:<customer>", "sale:<sale>");
* a different target (a recompute moved the split, a cap freed room) → a delta entry
  "<cause>:v<attribution version>" (or ":adj<n>" when that is taken), pointing at the first entry
  (`adjusts`); amounts are never edited, paid entries never touched;
* a refunded sale → its unpaid entries (pending, approved, held) move to refunded, and what was
  already paid or is in a payout is taken back by a negative "<cause>:refund" entry, approved at
  once and netted in the next payout;
* an admin's cancellation is final: that (rule, cause, ambassador) is never written again;
  a deactivated rule writes nothing new and corrects nothing, except refunds.

Weights: a lead or sale is split by the credits of the active attribution version under the
organisation's reporting model (lead credits' lead_share, sale credits' cents; a sale's credits
follow its customer's lead), or by the first_touch / last_touch credits when the rule says so.
Percentages are of the sale's amount (always in the organisation's currency: a sale in another
currency is converted when stored, and one awaiting a rate has no sale credits, so earns nothing
until its rate arrives); flat money is in the organisation's currency. Each credit outside a
campaign rule's campaign, and each ambassador outside a rule's group or kind, keeps its share
unpaid (it is not handed to the others). A rule applies to events from max(starts_at, its
creation) to ends_at: creating a rule never pays for last year's sales.

When the active attribution version or reporting model differs from the one the ledger was last
reconciled under (the "earnings.basis" audit entry), the run reconciles every attributed customer.

Exactly once: the unique constraint (organisation, rule, cause, ambassador) refuses any second
write; every chunk runs in a transaction holding the EarningsCursor row (SELECT … FOR UPDATE on
PostgreSQL, the database's write lock on SQLite), so two runs take turns chunk by chunk, and each
chunk reads the ledger after taking it. New entries are screened by
rewards.services.fraud.screen_entries in the same transaction.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings as django_settings
from django.db import connection, connections, transaction
from django.db.models import Max
from django.db.models.base import ModelState
from django.utils import timezone

from ambassadors.models import Ambassador
from common.queries import where_in
from tenancy.models import Organization
from tenancy.scoping import tenant_scope
from tracking.models import Click, Credit, CreditKind, Customer, Sale, SaleStatus
from tracking.selectors import active_version

from .. import earnings as rules_engine
from ..earnings import RuleTerms
from ..models import (
    AuditEntry,
    EarningEntry,
    EarningsCursor,
    EntryStatus,
    GroupHolding,
    RewardEvent,
    RewardRule,
    RewardSettings,
    RewardUnit,
    Split,
)
from . import fraud, ledger
from .audit import record

log = logging.getLogger(__name__)

__all__ = ["Result", "compute_earnings", "organizations_with_rules"]

RESCAN_MARGIN = timedelta(minutes=5)
CUSTOMER_CHUNK = 2_000
# PostgreSQL: the entries table is analysed again after this many rows written by a run. A first
# run writes millions: without fresh statistics the planner takes the ledger's lookups by cause
# for selective through the organisation's index and scans every entry (0.7 s a chunk at 2 M).
ANALYZE_EVERY = 200_000
CLICK_CHUNK = 20_000
IN_CHUNK = 5_000  # ids per IN (...) list (SQLite's variable limit)
LIVE = frozenset(s.value for s in (EntryStatus.PENDING, EntryStatus.APPROVED, EntryStatus.IN_PAYOUT,
                                   EntryStatus.PAID, EntryStatus.HELD))
UNPAID = frozenset(s.value for s in (EntryStatus.PENDING, EntryStatus.APPROVED, EntryStatus.HELD))
PAID_OR_PAYING = frozenset(s.value for s in (EntryStatus.IN_PAYOUT, EntryStatus.PAID))
BASIS_ACTION = "earnings.basis"
ZERO = Decimal("0.00")

Key = tuple[int, str, int]  # (rule id, base cause, ambassador id)


def _checkpoint(name: str) -> None:
    """A no-op. Tests replace it to pause a run at a named point and let another writer act
    there (tests/rewards/test_drills*.py): "chunk_read" (a chunk's ledger read, lock held)."""


@dataclass
class Result:
    created: int = 0
    corrections: int = 0
    refunded: int = 0
    clicks: int = 0
    customers: int = 0
    full_pass: bool = False
    more: bool = False  # clicks were left for the next run (a bounded run)
    busy: bool = False  # another run of the organisation held the run lock: nothing done

    def add(self, part: Result) -> None:
        self.created += part.created
        self.corrections += part.corrections
        self.refunded += part.refunded
        self.clicks += part.clicks
        self.customers += part.customers
        self.more = self.more or part.more


# --- the run's context ------------------------------------------------------------------------------

@dataclass
class Context:
    organization_id: int
    now: datetime
    tz: object
    currency: str
    version: int
    model: str
    rules: dict[int, RuleTerms]
    money_days: int
    points_days: int
    group_days: dict[int, tuple[int, int]]
    kind_of: dict[int, str] = field(default_factory=dict)
    groups_of: dict[int, frozenset[int]] = field(default_factory=dict)
    _holding: dict[tuple[int, str], timedelta] = field(default_factory=dict)
    written_since_analyze: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def by_event(self, event: str) -> list[RuleTerms]:
        return [rule for rule in self.rules.values() if rule.event == event]

    def eligible(self, rule: RuleTerms, ambassador_id: int) -> bool:
        return rules_engine.ambassador_eligible(rule, kind=self.kind_of.get(ambassador_id, ""),
                                                group_ids=self.groups_of.get(ambassador_id, ()))

    def holding(self, ambassador_id: int, unit: str) -> timedelta:
        """The longest holding of the ambassador's groups that set one, else the organisation's."""
        key = (ambassador_id, unit)
        found = self._holding.get(key)
        if found is None:
            index = 0 if unit == RewardUnit.MONEY else 1
            own = [self.group_days[g][index] for g in self.groups_of.get(ambassador_id, ()) if g in self.group_days]
            days = max(own) if own else (self.money_days if index == 0 else self.points_days)
            found = self._holding[key] = timedelta(days=days)
        return found


def _terms(rule: RewardRule) -> RuleTerms:
    starts = rule.created_at if rule.starts_at is None else max(rule.starts_at, rule.created_at)
    return RuleTerms(id=rule.pk, event=rule.event, unit=rule.unit, amount_kind=rule.amount_kind, amount=rule.amount,
                     percent=rule.percent, split=rule.split, recurrence=rule.recurrence,
                     recurrence_months=rule.recurrence_months, cap_amount=rule.cap_amount,
                     cap_period=rule.cap_period, campaign_id=rule.campaign_id, group_id=rule.group_id,
                     ambassador_kind=rule.ambassador_kind, starts_at=starts, ends_at=rule.ends_at, active=rule.active)


def _context(organization_id: int, now: datetime) -> Context:
    org = Organization.objects.get(pk=organization_id)
    version, model = active_version(organization_id)
    rules = {rule.pk: _terms(rule) for rule in RewardRule.objects.filter(organization_id=organization_id)}
    stored = RewardSettings.objects.filter(organization_id=organization_id).first() or RewardSettings()
    group_days = {g: (m, p) for g, m, p in GroupHolding.objects.filter(organization_id=organization_id)
                  .values_list("group_id", "money_holding_days", "points_holding_days")}
    ctx = Context(organization_id, now, org.tzinfo, org.currency, version, model, rules, stored.money_holding_days,
                  stored.points_holding_days, group_days)
    ctx.kind_of = dict(Ambassador.objects.filter(organization_id=organization_id).values_list("id", "kind"))
    groups: dict[int, set[int]] = defaultdict(set)
    for ambassador_id, group_id in (Ambassador.groups.through.objects
                                    .filter(ambassador__organization_id=organization_id)
                                    .values_list("ambassador_id", "ambassadorgroup_id")):
        groups[ambassador_id].add(group_id)
    ctx.groups_of = {a: frozenset(g) for a, g in groups.items()}
    return ctx


def organizations_with_rules() -> list[int]:
    """Organisations with a reward rule, deactivated ones too (their entries still follow
    refunds): the beat's sweep. Platform-wide: call inside scopes_disabled()."""
    return sorted(set(RewardRule.objects.values_list("organization_id", flat=True).distinct().order_by()))


# --- events and their targets ---------------------------------------------------------------------

@dataclass
class Events:
    """The source events of one chunk, as plain values, and what the rules give for them."""

    earned_at: dict[str, datetime] = field(default_factory=dict)  # base cause → when
    facts: dict[str, dict] = field(default_factory=dict)  # base cause → entry fields (event, ids, campaign)
    refunded: set[str] = field(default_factory=set)
    targets: dict[Key, tuple[Decimal, str]] = field(default_factory=dict)  # → (amount, currency)
    campaign_of: dict[Key, int] = field(default_factory=dict)  # a conversion entry's campaign (ROI per campaign)
    clicks: dict[str, tuple[int, datetime]] = field(default_factory=dict)  # click id → (link, when): fraud's velocity


def _chunks(items: list, size: int = IN_CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _credits_of(ctx: Context, customer_ids: list[int], models: set[str]) -> tuple[dict, dict]:
    """Lead credits per customer and sale credits per sale, per model: [(ambassador, campaign, units)]
    (units: 1/10,000 of a lead, cents of a sale)."""
    leads: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    sales: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for where in where_in(Credit, "customer_id", customer_ids):
        rows = (Credit.objects.filter(where, organization_id=ctx.organization_id, version=ctx.version,
                                      model__in=sorted(models), kind__in=[CreditKind.LEAD, CreditKind.SALE])
                .values_list("kind", "customer_id", "sale_id", "model", "ambassador_id", "campaign_id", "amount",
                             "lead_share"))
        for kind, customer_id, sale_id, model, ambassador_id, campaign_id, amount, share in rows:
            if kind == CreditKind.LEAD:
                leads[customer_id][model].append((ambassador_id, campaign_id, int(share * 10000)))
            else:
                sales[sale_id][model].append((ambassador_id, campaign_id, int(amount * 100)))
    return leads, sales


def _models_needed(ctx: Context) -> set[str]:
    models = set()
    for rule in ctx.rules.values():
        if rule.event != RewardEvent.CLICK:
            models.add(ctx.model if rule.split == Split.MODEL else rule.split)
    return models


def _split_conversion(ctx: Context, events: Events, rule: RuleTerms, cause: str, total: Decimal, currency: str,
                      credits_by_model: dict[str, list]) -> None:
    credits = credits_by_model.get(ctx.model if rule.split == Split.MODEL else rule.split)
    if not credits or not total:
        return
    parts = rules_engine.reward_split(rule, total, credits, lambda a: ctx.eligible(rule, a))
    for ambassador_id, amount in parts.items():
        key = (rule.id, cause, ambassador_id)
        events.targets[key] = (amount, currency)
        events.campaign_of[key] = rules_engine.main_campaign(rule, credits, ambassador_id)


def _conversion_events(ctx: Context, customer_ids: list[int], events: Events) -> None:
    """Leads and sales of these customers: their facts and targets under every rule."""
    lead_rules = ctx.by_event(RewardEvent.LEAD)
    sale_rules = ctx.by_event(RewardEvent.SALE)
    if not lead_rules and not sale_rules:
        return
    leads, sale_credits = _credits_of(ctx, customer_ids, _models_needed(ctx))
    if lead_rules:
        for where in where_in(Customer, "pk", customer_ids):
            for customer_id, at in (Customer.objects.filter(where, organization_id=ctx.organization_id)
                                    .values_list("pk", "first_lead_at")):
                # Every customer, credited or not: one whose credit went (a recompute) is corrected to 0.
                cause = f"lead:{customer_id}"
                events.earned_at[cause] = at
                events.facts[cause] = {"event": RewardEvent.LEAD, "customer_id": customer_id}
                by_model = leads.get(customer_id)
                if not by_model:
                    continue
                for rule in lead_rules:
                    if rules_engine.rule_in_force(rule, event=RewardEvent.LEAD, at=at):
                        _split_conversion(ctx, events, rule, cause, rule.amount,
                                          ctx.currency if rule.unit == RewardUnit.MONEY else "", by_model)
    if not sale_rules:
        return
    sales_of: dict[int, list] = defaultdict(list)
    for where in where_in(Sale, "customer_id", customer_ids):
        for row in (Sale.objects.filter(where, organization_id=ctx.organization_id)
                    .values_list("pk", "customer_id", "amount", "currency", "occurred_at", "status")):
            sales_of[row[1]].append(row)
    for customer_id, sales in sales_of.items():
        paid = [(occurred_at, pk) for pk, _, _, _, occurred_at, status in sales if status == SaleStatus.PAID]
        first_paid = min(paid) if paid else None
        for pk, _, amount, currency, occurred_at, status in sales:
            cause = f"sale:{pk}"
            events.earned_at[cause] = occurred_at
            events.facts[cause] = {"event": RewardEvent.SALE, "customer_id": customer_id, "sale_id": pk}
            if status != SaleStatus.PAID:
                events.refunded.add(cause)
                continue
            by_model = sale_credits.get(pk)
            if not by_model:
                continue
            for rule in sale_rules:
                if not rules_engine.rule_in_force(rule, event=RewardEvent.SALE, at=occurred_at):
                    continue
                if not rules_engine.sale_counts(rule, sale_key=(occurred_at, pk), first_paid_key=first_paid):
                    continue
                if rule.unit == RewardUnit.MONEY:
                    total = rule.total_for(amount)
                    currency_of_entry = currency if rule.amount_kind == "percent" else ctx.currency
                else:
                    total, currency_of_entry = rule.amount, ""
                _split_conversion(ctx, events, rule, cause, total, currency_of_entry, by_model)


def _click_events(ctx: Context, rows: list[tuple], events: Events) -> None:
    """rows: (pk, click_id, ambassador_id, campaign_id, clicked_at, link_id) of unique creditable clicks."""
    click_rules = ctx.by_event(RewardEvent.CLICK)
    for _pk, click_id, ambassador_id, campaign_id, clicked_at, link_id in rows:
        cause = f"click:{click_id}"
        events.clicks[click_id] = (link_id, clicked_at)
        events.earned_at[cause] = clicked_at
        events.facts[cause] = {"event": RewardEvent.CLICK, "click_id": click_id, "campaign_id": campaign_id}
        for rule in click_rules:
            if (rules_engine.rule_matches(rule, event=RewardEvent.CLICK, at=clicked_at, campaign_id=campaign_id)
                    and ctx.eligible(rule, ambassador_id)):
                events.targets[(rule.id, cause, ambassador_id)] = (
                    rule.amount, ctx.currency if rule.unit == RewardUnit.MONEY else "")


def _unique_clicks(ctx: Context, queryset) -> list[tuple]:
    return list(queryset.filter(is_unique=True, is_bot=False, is_self=False, is_head=False)
                .values_list("pk", "click_id", "ambassador_id", "campaign_id", "clicked_at", "link_id"))


# --- caps --------------------------------------------------------------------------------------------

def _period(ctx: Context, events: Events, key: Key):
    rule = ctx.rules[key[0]]
    return (key[0], key[2], rules_engine.cap_period_start(rule.cap_period, events.earned_at[key[1]], ctx.tz))


def _widen_for_caps(ctx: Context, events: Events, held_keys) -> set[tuple[int, int, object]]:
    """Complete the capped (rule, ambassador, period)s of this chunk's events (what the rules give
    now, and what the ledger holds: `held_keys`) with every other event of the period — a cap
    depends on all of them, in order. Returns the periods now complete."""
    periods: dict[tuple[int, int, object], None] = {}
    for (rule_id, cause, ambassador_id) in [*events.targets, *held_keys]:
        rule = ctx.rules[rule_id]
        if rule.cap_amount is not None:
            start = rules_engine.cap_period_start(rule.cap_period, events.earned_at[cause], ctx.tz)
            periods[(rule_id, ambassador_id, start)] = None
    if not periods:
        return set()
    extra_customers: set[int] = set()
    extra_clicks: list[tuple] = []
    for rule_id, ambassador_id, start in periods:
        rule = ctx.rules[rule_id]
        low, high = rules_engine.cap_period_bounds(rule.cap_period, start, ctx.tz)
        if rule.event == RewardEvent.CLICK:
            extra_clicks += _unique_clicks(ctx, Click.objects.filter(
                organization_id=ctx.organization_id, ambassador_id=ambassador_id, clicked_at__gte=low,
                clicked_at__lt=high))
            continue
        kind = CreditKind.LEAD if rule.event == RewardEvent.LEAD else CreditKind.SALE
        extra_customers.update(Credit.objects.filter(
            organization_id=ctx.organization_id, version=ctx.version,
            model=ctx.model if rule.split == Split.MODEL else rule.split, kind=kind, ambassador_id=ambassador_id,
            converted_at__gte=low, converted_at__lt=high).values_list("customer_id", flat=True))
    known = {fact.get("customer_id") for fact in events.facts.values()}
    wider = Events()
    _conversion_events(ctx, sorted(extra_customers - known), wider)
    _click_events(ctx, [row for row in extra_clicks if f"click:{row[1]}" not in events.facts], wider)
    for cause, at in wider.earned_at.items():
        events.earned_at.setdefault(cause, at)
        events.facts.setdefault(cause, wider.facts[cause])
    events.refunded |= wider.refunded
    for key, value in wider.targets.items():
        rule = ctx.rules[key[0]]
        if rule.cap_amount is not None:  # other rules' targets of the extra events are not this chunk's
            events.targets.setdefault(key, value)
            if key in wider.campaign_of:
                events.campaign_of.setdefault(key, wider.campaign_of[key])
    return set(periods)


def _capped_targets(ctx: Context, events: Events, complete: set) -> dict[Key, tuple[Decimal, str]]:
    """The targets with the caps applied (extra events' targets outside the completed periods
    are left out: their own run decides them)."""
    if not complete:
        return events.targets
    amounts = {key: amount for key, (amount, _) in events.targets.items()}
    capped = rules_engine.apply_caps(amounts, earned_at=events.earned_at, rules=ctx.rules, tz=ctx.tz)
    return {key: (capped[key], currency) for key, (_, currency) in events.targets.items()
            if ctx.rules[key[0]].cap_amount is None or _period(ctx, events, key) in complete}


# --- the ledger side -----------------------------------------------------------------------------------

@dataclass
class Held:
    """What the ledger holds for one (rule, cause, ambassador)."""

    base_pk: int | None = None
    campaign_id: int | None = None
    currency: str = ""
    unit: str = ""
    entries: list[tuple[int, str, Decimal, str]] = field(default_factory=list)  # (pk, cause, amount, status)

    def live(self) -> Decimal:
        return sum((amount for _, _, amount, status in self.entries if status in LIVE), ZERO)


_ENTRY_FIELDS = ("pk", "rule_id", "cause", "ambassador_id", "amount", "status", "currency", "unit", "campaign_id",
                 "adjusts_id")


def _ledger_of(ctx: Context, causes: list[str], refunded_sale_ids: list[int]) -> dict[Key, Held]:
    """The entries of these base causes (the first entry of each key has the base cause; the
    corrections point at it). Entries of refunded sales are locked first, in id order, so what
    a payout run does to them waits for this chunk."""
    org = ctx.organization_id
    for where in where_in(EarningEntry, "sale_id", refunded_sale_ids):
        list(EarningEntry.objects.select_for_update().filter(where, organization_id=org)
             .order_by("pk").values_list("pk", flat=True))
    held: dict[Key, Held] = {}
    by_pk: dict[int, Key] = {}
    rule_ids = sorted(ctx.rules)
    for where in where_in(EarningEntry, "cause", sorted(causes)):
        for row in (EarningEntry.objects.filter(where, organization_id=org, rule_id__in=rule_ids)
                    .values_list(*_ENTRY_FIELDS)):
            pk, rule_id, cause, ambassador_id, amount, status, currency, unit, campaign_id, _ = row
            key = (rule_id, cause, ambassador_id)
            held[key] = Held(pk, campaign_id, currency, unit, [(pk, cause, amount, status)])
            by_pk[pk] = key
    for where in where_in(EarningEntry, "adjusts", sorted(by_pk)):
        for row in (EarningEntry.objects.filter(where, organization_id=org)
                    .values_list(*_ENTRY_FIELDS)):
            pk, _, cause, _, amount, status, _, _, _, adjusts_id = row
            held[by_pk[adjusts_id]].entries.append((pk, cause, amount, status))
    return held


def _free_cause(base: str, suffix: str, taken: set[str]) -> str:
    cause = f"{base}:{suffix}"
    n = 1
    while cause in taken:
        cause = f"{base}:adj{n}"
        n += 1
    return cause


@dataclass
class Plan:
    new: list[EarningEntry] = field(default_factory=list)
    refund_ids: list[int] = field(default_factory=list)
    corrections: int = 0


def _plan(ctx: Context, events: Events, targets: dict[Key, tuple[Decimal, str]], held: dict[Key, Held],
          allowed) -> Plan:
    """What to write: new entries, corrections, refunds (see the module docstring), for the keys
    `allowed` says this chunk decides."""
    plan = Plan()
    keys = {key for key in targets if allowed(key)} | {key for key in held if allowed(key)}
    for key in sorted(keys):
        rule_id, cause, ambassador_id = key
        rule = ctx.rules[rule_id]
        mine = held.get(key)
        if mine and any(status == EntryStatus.CANCELED for _, _, _, status in mine.entries):
            continue  # an admin canceled it: final
        taken = {c for _, c, _, _ in mine.entries} if mine else set()
        if cause in events.refunded:
            if not mine:
                continue
            unpaid = [(pk, amount) for pk, _, amount, status in mine.entries if status in UNPAID]
            paid = sum((amount for _, _, amount, status in mine.entries if status in PAID_OR_PAYING), ZERO)
            if paid + sum((amount for _, amount in unpaid), ZERO) == 0:
                continue
            plan.refund_ids += [pk for pk, _ in unpaid]
            if paid:
                plan.new.append(_entry(ctx, events, key, -paid, mine.currency, mine.unit,
                                       _free_cause(cause, "refund", taken), adjusts=mine))
                plan.corrections += 1
            continue
        if not rule.active:
            continue  # a deactivated rule is frozen (refunds above still apply)
        target, currency = targets.get(key, (ZERO, ""))
        if mine is None:
            if target > 0:
                plan.new.append(_entry(ctx, events, key, target, currency, rule.unit, cause))
            continue
        delta = target - mine.live()
        if delta:
            plan.new.append(_entry(ctx, events, key, delta, mine.currency, mine.unit,
                                   _free_cause(cause, f"v{ctx.version}", taken), adjusts=mine))
            plan.corrections += 1
    return plan


_FIELDS = ("id", "organization_id", "public_id", "rule_id", "ambassador_id", "cause", "event", "campaign_id",
           "customer_id", "sale_id", "click_id", "unit", "currency", "amount", "status", "earned_at", "approve_after",
           "adjusts_id", "payout_item_id", "fraud_case_id", "note", "created_at", "status_changed_at")
if tuple(f.attname for f in EarningEntry._meta.concrete_fields) != _FIELDS:  # _entry sets exactly these
    raise ImportError("EarningEntry's fields changed: update rewards.services.earnings._FIELDS")
_new_entry = object.__new__


def _entry(ctx: Context, events: Events, key: Key, amount: Decimal, currency: str, unit: str, cause: str,
           adjusts: Held | None = None) -> EarningEntry:
    """A new entry, pending (approved if its holding is already over); a correction (`adjusts`:
    the key's ledger) points at the key's first entry and keeps its campaign, so it nets where
    that entry counted."""
    rule_id, base, ambassador_id = key
    earned_at = events.earned_at[base]
    # Taking money back waits for nothing.
    approve_after = earned_at + ctx.holding(ambassador_id, unit) if amount > 0 else ctx.now
    # An entry whose holding period is already over (an old event, points without holding, a
    # correction) is approved as it is written: approve_due reads only entries whose holding
    # ends after its last run.
    due = approve_after <= ctx.now
    facts = events.facts[base]
    campaign_id = adjusts.campaign_id if adjusts else events.campaign_of.get(key, facts.get("campaign_id"))
    # The instance's fields set directly, as Model.__init__ would (a fifth of its time: a backlog
    # makes millions); _FIELDS is checked against the model above.
    entry = _new_entry(EarningEntry)
    entry.__dict__.update(zip(_FIELDS, (
        None, ctx.organization_id, uuid.uuid4(), rule_id, ambassador_id, cause, facts["event"], campaign_id,
        facts.get("customer_id"), facts.get("sale_id"), facts.get("click_id", ""), unit,
        currency if unit == RewardUnit.MONEY else "", amount,
        EntryStatus.APPROVED.value if due else EntryStatus.PENDING.value, earned_at, approve_after,
        adjusts.base_pk if adjusts else None, None, None, "", ctx.now, ctx.now if due else None), strict=True))
    entry._state = ModelState()
    return entry


_COPY_COLUMNS = ("id", "organization_id", "public_id", "rule_id", "ambassador_id", "cause", "event", "campaign_id",
                 "customer_id", "sale_id", "click_id", "unit", "currency", "amount", "status", "earned_at",
                 "approve_after", "adjusts_id", "note", "created_at", "status_changed_at")


def _insert(entries: list[EarningEntry]) -> None:
    """Write new entries (ids set on them, for the fraud screen). PostgreSQL: ids drawn from the
    table's sequence, then COPY (several times faster than INSERT for a backlog); elsewhere
    bulk_create. A second writer of one key fails the unique constraint and rolls the chunk back."""
    if not entries:
        return
    if connection.vendor != "postgresql":
        EarningEntry.objects.bulk_create(entries, batch_size=500)
        return
    table = EarningEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "  # noqa: S608 - the model's table
                       f"FROM generate_series(1, %s)", [len(entries)])
        for entry, (pk,) in zip(entries, cursor.fetchall(), strict=True):
            entry.pk = entry.id = pk
        with cursor.cursor.copy(f"COPY {table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy:
            for e in entries:
                copy.write_row((e.id, e.organization_id, e.public_id, e.rule_id, e.ambassador_id, e.cause, e.event,
                                e.campaign_id, e.customer_id, e.sale_id, e.click_id, e.unit, e.currency, e.amount,
                                e.status, e.earned_at, e.approve_after, e.adjusts_id, e.note, e.created_at,
                                e.status_changed_at))
    for entry in entries:
        entry._state.adding = False
        entry._state.db = connection.alias


def _apply(ctx: Context, events: Events, result: Result) -> None:
    """Inside a chunk's transaction: complete capped periods, read the ledger, plan, write, screen.
    The chunk decides the keys of its own events, and of capped periods it completed."""
    own = set(events.facts)
    complete: set = set()
    if any(rule.cap_amount is not None for rule in ctx.rules.values()):
        complete = _widen_for_caps(ctx, events, [key for key in _ledger_of(ctx, sorted(own), []) if key[1] in own])
    targets = _capped_targets(ctx, events, complete)
    refunded_sale_ids = sorted(events.facts[c]["sale_id"] for c in events.refunded)
    held = _ledger_of(ctx, list(events.facts), refunded_sale_ids)
    _checkpoint("chunk_read")

    def allowed(key: Key) -> bool:
        return key[1] in own or (ctx.rules[key[0]].cap_amount is not None and _period(ctx, events, key) in complete)

    plan = _plan(ctx, events, targets, held, allowed)
    if plan.refund_ids:
        result.refunded += ledger.mark_refunded(ctx.organization_id, plan.refund_ids, now=ctx.now,
                                                reason="sale refunded")
    _insert(plan.new)
    ledger.publish_entry_events("earning.created", ctx.organization_id, [entry.pk for entry in plan.new], at=ctx.now)
    result.created += len(plan.new) - plan.corrections
    result.corrections += plan.corrections
    if plan.new:
        fraud.screen_entries(ctx.organization_id, plan.new, now=ctx.now, clicks=events.clicks)


def _lock_cursor(organization_id: int) -> EarningsCursor:
    return EarningsCursor.objects.select_for_update().get(organization_id=organization_id)


def _chunk_lock(organization_id: int) -> None:
    """What a chunk's transaction takes first. PostgreSQL: the organisation's row FOR KEY SHARE
    (what any insert referencing it takes anyway), so a payout run being made (it holds that row
    FOR UPDATE) is waited for before the chunk locks any entry, never in the middle (that order
    deadlocked); runs exclude each other with the run lock (`_run_lock`). SQLite: the
    transaction's write lock (IMMEDIATE) already serialises every writer."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {Organization._meta.db_table} WHERE id = %s FOR KEY SHARE",  # noqa: S608
                           [organization_id])


RUN_LOCK_NAMESPACE = 0x45726E  # "Ern": pg_advisory_lock(namespace, organisation), no other lock collides
RUN_LOCK_WAIT = 60.0  # seconds a run waits for another run of the organisation before giving up (busy)


@contextmanager
def _run_lock(organization_id: int, wait: float):
    """One run per organisation at a time. PostgreSQL: a session advisory lock on this thread's
    connection, tried every half second for `wait` seconds (yields False if another run still
    holds it); released at the end, or by the server when a killed worker's connection drops.
    SQLite: no lock (each chunk's IMMEDIATE transaction serialises the writers; two runs may
    interleave chunk by chunk, which is harmless since each chunk reads the ledger under it)."""
    if connection.vendor != "postgresql":
        yield True
        return
    deadline = time.monotonic() + wait
    key = [RUN_LOCK_NAMESPACE, organization_id % 2**31]
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            if cursor.fetchone()[0]:
                break
            if time.monotonic() >= deadline:
                yield False
                return
            time.sleep(0.5)
    try:
        yield True
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


# --- the run -----------------------------------------------------------------------------------------

def _basis(organization_id: int):
    after = (AuditEntry.objects.filter(organization_id=organization_id, action=BASIS_ACTION)
             .order_by("-at", "-pk").values_list("after", flat=True).first())
    return (after or {}).get("version"), (after or {}).get("model")


def compute_earnings(organization_id: int, now: datetime | None = None, *, click_limit: int | None = None,
                     parallel: int | None = None, wait: float = RUN_LOCK_WAIT) -> Result:
    """Bring the organisation's ledger up to date (see the module docstring). Safe to run at any
    time, twice, concurrently, or after a crash: it converges to the same ledger. `now` is the
    ledger's clock (holding periods, statuses); what is new is found by the wall clock.
    `click_limit` bounds the clicks read in one run (`more` then says some were left).
    `parallel` (default settings.EARNINGS_PARALLEL) threads work through a backlog on PostgreSQL,
    each with its own connection (a chunk's database work overlaps another's Python). If another
    run of the organisation holds the run lock for `wait` seconds, returns with `busy` set."""
    now = now or timezone.now()
    started = timezone.now()
    result = Result()
    with tenant_scope(organization_id):
        EarningsCursor.objects.get_or_create(organization_id=organization_id)
        with _run_lock(organization_id, wait) as acquired:
            if not acquired:
                result.busy = True
                return result
            ctx = _context(organization_id, now)
            cursor = EarningsCursor.objects.get(organization_id=organization_id)
            if not ctx.rules:
                _skip_ahead(organization_id, started)
                return result
            basis = _basis(organization_id)
            # A full pass when the attribution the ledger was reconciled under changed (not on the
            # first run with rules: every attributed customer is read then anyway, as new).
            result.full_pass = basis[0] is not None and basis != (ctx.version, ctx.model)
            jobs = []
            if ctx.by_event(RewardEvent.CLICK):
                jobs.append(lambda part: _clicks(ctx, part, click_limit))
            else:
                _skip_clicks(organization_id)
            for chunk in _conversion_chunks(ctx, None if result.full_pass else cursor.computed_at):
                jobs.append(functools.partial(_conversion_chunk, ctx, chunk))
            _run_jobs(ctx, jobs, result, _threads(ctx, parallel, len(jobs)))
            _written(ctx, 0, threshold=ANALYZE_EVERY // 10)  # fresh statistics for what reads the entries next
            with transaction.atomic():
                EarningsCursor.objects.filter(organization_id=organization_id).update(computed_at=started)
                if basis != (ctx.version, ctx.model):
                    record(organization_id=organization_id, actor=None, action=BASIS_ACTION,
                           object_type="attribution", object_id=f"v{ctx.version}", at=now,
                           before={"version": basis[0], "model": basis[1]} if basis[0] is not None else None,
                           after={"version": ctx.version, "model": ctx.model, "full_pass": result.full_pass,
                                  "corrections": result.corrections})
    if result.created or result.corrections or result.refunded:
        log.info("Earnings of organisation %s: %d new, %d corrections, %d refunded", organization_id,
                 result.created, result.corrections, result.refunded)
    return result


def _threads(ctx: Context, parallel: int | None, jobs: int) -> int:
    """Threads for this run: one unless on PostgreSQL, outside a transaction (threads see only
    what is committed), without caps (a cap's period spans chunks: they take turns), with work
    for more than one."""
    wanted = parallel if parallel is not None else getattr(django_settings, "EARNINGS_PARALLEL", 2)
    if (wanted <= 1 or jobs <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block
            or any(rule.cap_amount is not None for rule in ctx.rules.values())):
        return 1
    return min(wanted, jobs)


def _run_jobs(ctx: Context, jobs: list, result: Result, threads: int) -> None:
    """Run each job(partial Result) — the clicks, then the conversion chunks — here, or in
    `threads` threads with their own connections, adding their partial results to `result`.
    A job that fails stops nothing else (what it wrote is rolled back); the first error is
    raised once all are done."""
    lock = threading.Lock()
    queue = list(reversed(jobs))
    errors: list[BaseException] = []

    def work() -> None:
        while True:
            with lock:
                if not queue:
                    return
                job = queue.pop()
            part = Result()
            try:
                job(part)
            except BaseException as error:  # noqa: BLE001 - raised below, after the other threads finish
                with lock:
                    errors.append(error)
                continue
            with lock:
                result.add(part)

    if threads <= 1:
        for job in jobs:
            part = Result()
            job(part)
            result.add(part)
        return

    def thread_main() -> None:
        try:
            with tenant_scope(ctx.organization_id):
                work()
        finally:
            connections.close_all()  # this thread's connection

    pool = [threading.Thread(target=thread_main, name=f"earnings-{n}") for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]


def _skip_ahead(organization_id: int, started: datetime) -> None:
    """No rules: nothing to earn; the cursor moves past what exists (a new rule applies from its
    creation anyway)."""
    with transaction.atomic():
        _lock_cursor(organization_id)
        last = Click.objects.filter(organization_id=organization_id).aggregate(last=Max("pk"))["last"] or 0
        EarningsCursor.objects.filter(organization_id=organization_id, last_click_pk__lt=last).update(
            last_click_pk=last)
        EarningsCursor.objects.filter(organization_id=organization_id).update(computed_at=started)


def _skip_clicks(organization_id: int) -> None:
    with transaction.atomic():
        _lock_cursor(organization_id)
        last = Click.objects.filter(organization_id=organization_id).aggregate(last=Max("pk"))["last"] or 0
        EarningsCursor.objects.filter(organization_id=organization_id, last_click_pk__lt=last).update(
            last_click_pk=last)


def _clicks(ctx: Context, result: Result, limit: int | None) -> None:
    """Unique creditable clicks after the cursor, a chunk per transaction. Click processing writes
    an organisation's clicks under its lock, so their ids commit in order: none can appear
    below the cursor later."""
    read = 0
    while True:
        with transaction.atomic():
            _chunk_lock(ctx.organization_id)
            cursor = _lock_cursor(ctx.organization_id)
            rows = list(Click.objects.filter(organization_id=ctx.organization_id, pk__gt=cursor.last_click_pk)
                        .order_by("pk").values_list("pk", "click_id", "ambassador_id", "campaign_id", "clicked_at",
                                                    "link_id", "is_unique", "is_bot", "is_self", "is_head")
                        [:CLICK_CHUNK])
            if not rows:
                return
            unique = [row[:6] for row in rows if row[6] and not row[7] and not row[8] and not row[9]]
            events = Events()
            _click_events(ctx, unique, events)
            before = result.created + result.corrections
            _apply(ctx, events, result)
            EarningsCursor.objects.filter(organization_id=ctx.organization_id).update(last_click_pk=rows[-1][0])
            result.clicks += len(unique)
            read += len(rows)
        _written(ctx, result.created + result.corrections - before)
        if len(rows) < CLICK_CHUNK:
            return
        if limit is not None and read >= limit:
            result.more = True
            return


def _conversion_chunks(ctx: Context, since: datetime | None) -> list[list[int]]:
    """Customers attributed since `since` (all attributed ones when None), in chunks of ids; a
    chunk covers each customer's lead and all of its sales."""
    if not ctx.by_event(RewardEvent.LEAD) and not ctx.by_event(RewardEvent.SALE):
        return []
    customers = Customer.objects.filter(organization_id=ctx.organization_id, attributed_at__isnull=False)
    if since is not None:
        customers = customers.filter(attributed_at__gte=since - _margin())
    ids = sorted(customers.values_list("pk", flat=True))
    return list(_chunks(ids, getattr(django_settings, "EARNINGS_CUSTOMER_CHUNK", CUSTOMER_CHUNK)))


def _conversion_chunk(ctx: Context, chunk: list[int], result: Result) -> None:
    before = result.created + result.corrections
    with transaction.atomic():
        _chunk_lock(ctx.organization_id)
        events = Events()
        _conversion_events(ctx, chunk, events)
        _apply(ctx, events, result)
    result.customers += len(chunk)
    _written(ctx, result.created + result.corrections - before)


def _written(ctx: Context, rows: int, *, threshold: int = ANALYZE_EVERY) -> None:
    """After a commit: count the rows this run wrote; ANALYZE the entries table every `threshold`
    (PostgreSQL; autovacuum's own analyze lags a run that grows the table this fast)."""
    if connection.vendor != "postgresql":
        return
    with ctx.lock:
        ctx.written_since_analyze += rows
        if ctx.written_since_analyze < threshold:
            return
        ctx.written_since_analyze = 0
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {EarningEntry._meta.db_table}")


def _margin() -> timedelta:
    return getattr(django_settings, "EARNINGS_RESCAN_MARGIN", RESCAN_MARGIN)
