"""Helpers for the rewards tests: rules made the way admins make them (but in force for the
test's past events), and an independent recount of what the ledger should hold.

The recount is deliberately written apart from rewards.services.earnings and rewards.earnings:
plain loops over the credits, sales and clicks, exact Fractions for the split, no chunks, no
cursor, no corrections — what each (rule, event, ambassador) should net to, full stop. Tests
compare the ledger's live sums with it."""

from __future__ import annotations

import calendar
import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db import connection, connections

from rewards.models import LIVE_STATUSES, EarningEntry, RewardRule
from tenancy.models import Organization
from tenancy.scoping import tenant_scope
from tests.factories import RewardRuleFactory
from tracking.models import AttributionSettings, Click, Credit, Sale

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
CENT = Decimal("0.01")


def reward_rule(org, **fields) -> RewardRule:
    """A rule (tests.factories.RewardRuleFactory: 10 % of every sale by default) in force since
    LONG_AGO: rules apply from their creation, and tests' events are often dated in the past."""
    with tenant_scope(org):
        rule = RewardRuleFactory(organization=org, **fields)
        RewardRule.objects.filter(pk=rule.pk).update(created_at=LONG_AGO)
        rule.refresh_from_db()
    return rule


def flat_rule(org, event: str, amount, *, unit: str = "money", **fields) -> RewardRule:
    return reward_rule(org, event=event, unit=unit, amount_kind="flat", percent=None, amount=Decimal(amount),
                       **fields)


def ledger_sums(org) -> dict[tuple[int, str, int], Decimal]:
    """The ledger's live sum (neither canceled nor refunded) per (rule, source event, ambassador),
    corrections added to the event they correct; zero sums left out."""
    sums: dict[tuple[int, str, int], Decimal] = defaultdict(Decimal)
    with tenant_scope(org):
        for rule_id, cause, ambassador_id, amount in EarningEntry.objects.filter(
                organization=org, status__in=LIVE_STATUSES).values_list("rule_id", "cause", "ambassador_id",
                                                                        "amount"):
            sums[(rule_id, ":".join(cause.split(":")[:2]), ambassador_id)] += amount
    return {key: total for key, total in sums.items() if total}


def _largest_remainder(total_units: int, weights: dict[int, int]) -> dict[int, int]:
    whole = sum(weights.values())
    exact = {key: Fraction(total_units * weight, whole) for key, weight in weights.items()}
    parts = {key: int(share) for key, share in exact.items()}  # floor: every share is >= 0
    order = sorted(exact, key=lambda key: (-(exact[key] - parts[key]), key))
    for key in order[:total_units - sum(parts.values())]:
        parts[key] += 1
    return parts


def _in_force(rule: RewardRule, at: datetime) -> bool:
    start = max(rule.starts_at or rule.created_at, rule.created_at)
    return rule.active and at >= start and (rule.ends_at is None or at < rule.ends_at)


def _eligible(rule: RewardRule, ambassador) -> bool:
    if rule.ambassador_kind and ambassador.kind != rule.ambassador_kind:
        return False
    return rule.group_id is None or ambassador.groups.filter(pk=rule.group_id).exists()


def _split(rule: RewardRule, total: Decimal, credits: list[tuple[int, int, int]], ambassadors) -> dict[int, Decimal]:
    """credits: (ambassador, campaign, units); shares of credits that don't qualify stay unpaid."""
    scale = 1 if rule.unit == "points" else 100
    weights: dict[int, int] = defaultdict(int)
    for ambassador_id, campaign_id, units in credits:
        paid = (rule.campaign_id in (None, campaign_id)) and _eligible(rule, ambassadors[ambassador_id])
        weights[ambassador_id if paid else -1] += units  # -1: nobody's (after every id on ties below)
    if not any(w for key, w in weights.items() if key != -1):
        return {}
    ordered = {(key if key != -1 else 10**18): w for key, w in weights.items()}
    parts = _largest_remainder(int(total * scale), ordered)
    return {key: Decimal(units) / scale for key, units in parts.items() if key != 10**18 and units}


def _period(rule: RewardRule, at: datetime, tz) -> date:
    local = at.astimezone(tz).date()
    if rule.cap_period == "day":
        return local
    if rule.cap_period == "week":
        return local - timedelta(days=local.weekday())
    return local.replace(day=1)


def _months_later(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def recount(org) -> dict[tuple[int, str, int], Decimal]:
    """What the ledger should net to per (rule, source event, ambassador), from the rules, the
    active version's credits, the sales and the clicks. Canceled keys and deactivated rules are
    the tests' to account for (compare with `exclude_canceled`)."""
    org = Organization.objects.get(pk=org.pk)
    tz = org.tzinfo
    expected: dict[tuple[int, str, int], Decimal] = {}
    earned: dict[str, datetime] = {}
    with tenant_scope(org):
        from ambassadors.models import Ambassador

        ambassadors = {a.pk: a for a in Ambassador.objects.filter(organization=org)}
        settings = AttributionSettings.objects.filter(organization=org).first()
        version, reporting = (settings.version, settings.reporting_model) if settings else (1, "linear")
        rules = list(RewardRule.objects.filter(organization=org))
        for rule in rules:
            model = reporting if rule.split == "model" else rule.split
            if rule.event == "click":
                for click in Click.objects.filter(organization=org, is_unique=True, is_bot=False, is_self=False,
                                                  is_head=False):
                    if (_in_force(rule, click.clicked_at) and rule.campaign_id in (None, click.campaign_id)
                            and _eligible(rule, ambassadors[click.ambassador_id])):
                        expected[(rule.pk, f"click:{click.click_id}", click.ambassador_id)] = rule.amount
                        earned[f"click:{click.click_id}"] = click.clicked_at
            elif rule.event == "lead":
                leads: dict[int, list] = defaultdict(list)
                lead_at = {}
                for credit in Credit.objects.filter(organization=org, kind="lead", version=version, model=model):
                    leads[credit.customer_id].append((credit.ambassador_id, credit.campaign_id,
                                                      int(credit.lead_share * 10000)))
                    lead_at[credit.customer_id] = credit.converted_at
                for customer_id, credits in leads.items():
                    if _in_force(rule, lead_at[customer_id]):
                        earned[f"lead:{customer_id}"] = lead_at[customer_id]
                        for ambassador_id, amount in _split(rule, rule.amount, credits, ambassadors).items():
                            expected[(rule.pk, f"lead:{customer_id}", ambassador_id)] = amount
            else:
                sales: dict[int, list] = defaultdict(list)
                for credit in Credit.objects.filter(organization=org, kind="sale", version=version, model=model):
                    sales[credit.sale_id].append((credit.ambassador_id, credit.campaign_id, int(credit.amount * 100)))
                for sale in Sale.objects.filter(organization=org, status="paid", pk__in=list(sales)):
                    paid = Sale.objects.filter(organization=org, customer_id=sale.customer_id, status="paid")
                    first = min(paid, key=lambda s: (s.occurred_at, s.pk))
                    if rule.recurrence == "first_sale" and first.pk != sale.pk:
                        continue
                    if rule.recurrence == "months" and sale.occurred_at >= _months_later(first.occurred_at,
                                                                                           rule.recurrence_months):
                        continue
                    if not _in_force(rule, sale.occurred_at):
                        continue
                    total = (sale.amount * rule.percent / 100).quantize(CENT, ROUND_HALF_UP) \
                        if rule.amount_kind == "percent" else rule.amount
                    earned[f"sale:{sale.pk}"] = sale.occurred_at
                    for ambassador_id, amount in _split(rule, total, sales[sale.pk], ambassadors).items():
                        expected[(rule.pk, f"sale:{sale.pk}", ambassador_id)] = amount
        by_rule = {rule.pk: rule for rule in rules}
    # Caps, in (earned_at, cause) order per (rule, ambassador, period).
    room: dict[tuple[int, int, date], Decimal] = {}
    for key in sorted(expected, key=lambda k: (earned[k[1]], k[1], k[0], k[2])):
        rule = by_rule[key[0]]
        if rule.cap_amount is None:
            continue
        slot = (key[0], key[2], _period(rule, earned[key[1]], tz))
        left = room.setdefault(slot, rule.cap_amount)
        expected[key] = min(expected[key], left)
        room[slot] = left - expected[key]
    return {key: amount for key, amount in expected.items() if amount}


def canceled_keys(org) -> set[tuple[int, str, int]]:
    with tenant_scope(org):
        return {(rule_id, ":".join(cause.split(":")[:2]), ambassador_id) for rule_id, cause, ambassador_id in
                EarningEntry.objects.filter(organization=org, status="canceled").values_list(
                    "rule_id", "cause", "ambassador_id")}


def ledger_differences(org) -> dict:
    """{key: (ledger, recount)} where they differ (admins' cancellations left out)."""
    got, want = ledger_sums(org), recount(org)
    skip = canceled_keys(org)
    return {key: (got.get(key), want.get(key)) for key in set(got) | set(want)
            if key not in skip and got.get(key) != want.get(key)}


def refunded_sales_with_money(org) -> dict[int, Decimal]:
    """Refunded sales whose live entries don't net to zero (there must be none)."""
    with tenant_scope(org):
        refunded = set(Sale.objects.filter(organization=org, status="refunded").values_list("pk", flat=True))
        sums: dict[int, Decimal] = defaultdict(Decimal)
        for sale_id, amount in EarningEntry.objects.filter(organization=org, sale_id__in=refunded,
                                                           status__in=LIVE_STATUSES).values_list("sale_id", "amount"):
            sums[sale_id] += amount
    return {sale_id: total for sale_id, total in sums.items() if total}


def positive_unpaid_on_refunded_sales(org) -> list[tuple[int, Decimal, str]]:
    """(sale, amount, status) of positive pending/approved/held entries on refunded sales: money
    still on its way to an ambassador for a sale that was refunded (there must be none)."""
    with tenant_scope(org):
        refunded = list(Sale.objects.filter(organization=org, status="refunded").values_list("pk", flat=True))
        return list(EarningEntry.objects.filter(organization=org, sale_id__in=refunded, amount__gt=0,
                                                status__in=["pending", "approved", "held"])
                    .values_list("sale_id", "amount", "status"))


# --- interleavings (the _checkpoint pattern of tracking's race tests) ------------------------------

PAUSE_TIMEOUT = 30  # seconds: waiting longer than this means the test is broken, not slow
BLOCKED_GRACE = 0.5  # seconds a writer is given before it counts as waiting (SQLite: no lock view)


class Thread(threading.Thread):
    """A thread with its own database connection, closed at its end; its exception re-raised by finish()."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.target, self.error, self.result = target, None, None

    def run(self):
        try:
            self.result = self.target()
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            self.error = error
        finally:
            connections.close_all()

    def finish(self):
        self.join(PAUSE_TIMEOUT * 2)
        assert not self.is_alive(), "thread still running"
        if self.error:
            raise self.error
        return self.result


def _waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def waited_or_done(writer: Thread) -> bool:
    """True once the writer waits for a lock (PostgreSQL: seen in pg_stat_activity; SQLite: still
    running after a grace period), False if it finished without waiting."""
    started = time.monotonic()
    while time.monotonic() - started < PAUSE_TIMEOUT:
        if not writer.is_alive():
            return False
        if connection.vendor == "postgresql":
            if _waiting_for_a_lock():
                return True
        elif time.monotonic() - started > BLOCKED_GRACE:
            return True
        time.sleep(0.01)
    raise AssertionError("the writer neither finished nor waited")


def interleave(monkeypatch, module, point: str, paused, writer) -> tuple[bool, object, object]:
    """Run `paused` in a thread, stopped at `module._checkpoint(point)` (its first time there);
    run `writer` in another thread meanwhile; release. Returns (whether the writer had to wait,
    paused's result, writer's result)."""
    reached, release = threading.Event(), threading.Event()
    holder = {}

    def checkpoint(name):
        if name == point and threading.current_thread() is holder.get("thread") and not reached.is_set():
            reached.set()
            assert release.wait(PAUSE_TIMEOUT), "never released"

    monkeypatch.setattr(module, "_checkpoint", checkpoint)
    try:
        first = holder["thread"] = Thread(paused)
        first.start()
        assert reached.wait(PAUSE_TIMEOUT), f"never reached {point!r}"
        second = Thread(writer)
        second.start()
        waited = waited_or_done(second)
        release.set()
        paused_result = first.finish()
        writer_result = second.finish()
    finally:
        release.set()
        monkeypatch.setattr(module, "_checkpoint", lambda name: None)
    return waited, paused_result, writer_result
