"""bench/earnings: the earnings engine over 1,000,000 conversions (700,000 leads and 300,000 sales,
already attributed) and 1,000,000 clicks of 10,000 ambassadors on PostgreSQL, with three rules: 10 %
of every sale split by the linear model, a flat 5.00 per lead split by the linear model, and 1
point per unique click. Timed: rewards.services.earnings.compute_earnings (one call, one process,
as the Celery task runs it; every event is past its holding period, so entries are written
approved), ledger.approve_due (nothing left to approve), then one payout run over the 10,000
ambassadors (rewards.services.payouts.create_run), with the share of its entry moves that were
HOT updates (no index written), then confirm and mark paid (printed, not a target).
Targets: earnings < 120 s, payout run < 10 s, and the ledger equals an independent recount.

The data is deterministic for a seed: the organisation, its 10,000 ambassadors and their links
through the ORM (bench/_attribution_data.py's seed_organization; a third of them external, with
PayPal details so the run pays everyone), then, with COPY, clicks in time order (80 % unique, 5 %
bots, 1 % self-clicks), customers in lead order, sales (8 % a customer's second sale, 10.00–5,000.00, 1 % refunded) and
their linear credits (version 1) as attribution writes them: one to three ambassadors per
customer, a lead's 1.0000 and a sale's cents split equally, the extra unit to the lowest id.

The recount is SQL written apart from the engine (largest remainder with window functions):
per (rule, event, ambassador) what the ledger should hold, compared with the ledger's live sums
(FULL JOIN, every difference counted). A second compute_earnings run must write nothing.

Its own database (BENCH_DATABASE_URL, default bench_earnings on 127.0.0.1), dropped and migrated
each run. --scale 0.1 (or BENCH_SCALE=0.1) for a quick run (conversions and clicks; the
ambassadors stay 10,000). Last line:
RESULT earnings conversions=… entries=… seconds=… payout_run_s=… target=met|missed"""

import argparse
import itertools
import math
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _attribution_data as data  # noqa: E402 - the attribution bench's organisation builder
from _common import recreate_database, setup_django  # noqa: E402

EARNINGS_TARGET_S = 120.0
PAYOUT_TARGET_S = 10.0
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_earnings"
LEADS, SALES, CLICKS, AMBASSADORS = 700_000, 300_000, 1_000_000, 10_000
SALE_PERCENT = Decimal("10.00")
LEAD_AMOUNT = Decimal("5.00")
CLICK_POINTS = Decimal("1")
TOUCHES = [(1, 0.6), (2, 0.3), (3, 0.1)]
DAY = 86400.0

CREDIT_COLUMNS = ("organization_id", "kind", "customer_id", "sale_id", "model", "ambassador_id", "link_id",
                  "campaign_id", "amount", "lead_share", "converted_at", "version")


def equal_split(units: int, ambassador_ids: list[int]) -> list[int]:
    """units split equally, the leftover units one each to the lowest ids (attribution's ties)."""
    share, left = divmod(units, len(ambassador_ids))
    order = sorted(range(len(ambassador_ids)), key=lambda i: ambassador_ids[i])
    parts = [share] * len(ambassador_ids)
    for i in order[:left]:
        parts[i] += 1
    return parts


def generate(rng: random.Random, seed: dict, n_leads: int, n_sales: int, n_clicks: int, attributed_at: datetime):
    """(clicks, customers, sales, credits) rows for COPY."""
    org_id = seed["org_id"]
    links = seed["links"]  # (id, campaign_id, ambassador_id)
    by_ambassador: dict[int, list[tuple[int, int, int]]] = {}
    for link in links:
        by_ambassador.setdefault(link[2], []).append(link)
    ambassadors = sorted(by_ambassador)
    weights = list(itertools.accumulate(rng.paretovariate(1.2) for _ in ambassadors))
    link_weights = list(itertools.accumulate(rng.paretovariate(1.2) for _ in links))
    end = data.END.timestamp()
    start = end - data.DAYS * DAY
    touch_counts = [t for t, _ in TOUCHES]
    touch_weights = list(itertools.accumulate(w for _, w in TOUCHES))

    clicks = []
    # In time order, as in production (ids grow with time): a run reads them a chunk of minutes at a time.
    for at in sorted(start + rng.random() * data.DAYS * DAY for _ in range(n_clicks)):
        link = data._pick(rng, links, link_weights)
        roll = rng.random()
        bot, self_click = roll < 0.05, 0.05 <= roll < 0.06
        unique = not bot and not self_click and rng.random() < 0.84
        when = datetime.fromtimestamp(at, UTC)
        clicks.append((data.click_id(rng, at), org_id, link[0], link[1], link[2], when, when.date(),
                       data._b64(rng.randbytes(16)), "0" * 32, "bench", "", "direct", False, bot,
                       "ua:bench" if bot else "", self_click, unique, "", "", ""))

    customers, credits, touched = [], [], []
    lead_times = sorted(start + rng.random() * data.DAYS * DAY for _ in range(n_leads))  # ids in lead order
    for n in range(1, n_leads + 1):
        lead_at = datetime.fromtimestamp(lead_times[n - 1], UTC)
        count = data._pick(rng, touch_counts, touch_weights)
        chosen: dict[int, tuple[int, int, int]] = {}
        while len(chosen) < count:
            ambassador = data._pick(rng, ambassadors, weights)
            chosen.setdefault(ambassador, rng.choice(by_ambassador[ambassador]))
        people = list(chosen.values())
        touched.append((lead_at, people))
        customers.append((n, org_id, uuid.UUID(int=rng.getrandbits(128), version=4), f"cus_{n:07d}", None, "",
                          None, None, lead_at, lead_at, "{}", lead_at, lead_at, attributed_at))
        for (link_id, campaign_id, ambassador_id), units in zip(people, equal_split(10_000, [p[2] for p in people]),
                                                                strict=True):
            credits.append((org_id, "lead", n, None, "linear", ambassador_id, link_id, campaign_id, "0.00",
                            Decimal(units).scaleb(-4), lead_at, 1))

    repeat = round(n_sales * 0.08)
    buyers = rng.sample(range(n_leads), n_sales - repeat)
    facts = [(touched[i][0].timestamp() + rng.uniform(3600, 20 * DAY), i) for i in buyers]
    facts += [(at + rng.uniform(DAY, 30 * DAY), i) for at, i in rng.sample(facts, repeat)]
    facts.sort()
    refunded = set(rng.sample(range(len(facts)), round(n_sales * 0.01)))
    sales = []
    low, high = math.log(10.0), math.log(5000.0)
    for n, (at, index) in enumerate(facts, start=1):
        when = datetime.fromtimestamp(at, UTC)
        amount = Decimal(f"{min(5000.0, max(10.0, math.exp(rng.uniform(low, high)))):.2f}")
        status = "refunded" if n - 1 in refunded else "paid"
        sales.append((n, org_id, uuid.UUID(int=rng.getrandbits(128), version=4), f"inv_{n:07d}", index + 1,
                      f"cus_{index + 1:07d}", amount, data.CURRENCY, when, status,
                      when + timedelta(days=2) if status == "refunded" else None, when, attributed_at))
        if status == "paid":  # attribution removes a refunded sale's credits
            people = touched[index][1]
            for (link_id, campaign_id, ambassador_id), cents in zip(
                    people, equal_split(int(amount * 100), [p[2] for p in people]), strict=True):
                credits.append((org_id, "sale", index + 1, n, "linear", ambassador_id, link_id, campaign_id,
                                Decimal(cents).scaleb(-2), "0.0000", when, 1))
    return clicks, customers, sales, credits


def seed_rewards(org_id: int, rng: random.Random) -> dict:
    """The three rules (in force since long before the data), reward settings, and PayPal details
    for the external ambassadors (the payout run pays them through the PayPal file)."""
    from ambassadors.models import Ambassador
    from rewards import crypto
    from rewards.models import PayoutDetails, RewardRule, RewardSettings
    from rewards.services.payout_details import clean_details
    from tenancy.scoping import tenant_scope

    with tenant_scope(org_id):
        RewardSettings.objects.create(organization_id=org_id, money_holding_days=30, points_holding_days=0)
        rules = {
            "sale": RewardRule.objects.create(organization_id=org_id, name="10 % of sales", event="sale",
                                              unit="money", amount_kind="percent", percent=SALE_PERCENT),
            "lead": RewardRule.objects.create(organization_id=org_id, name="Lead bonus", event="lead", unit="money",
                                              amount_kind="flat", amount=LEAD_AMOUNT),
            "click": RewardRule.objects.create(organization_id=org_id, name="Click points", event="click",
                                               unit="points", amount_kind="flat", amount=CLICK_POINTS),
        }
        RewardRule.objects.filter(organization_id=org_id).update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
        rows = []
        for ambassador_id, in Ambassador.objects.filter(organization_id=org_id, kind="external").values_list("id"):
            details = clean_details("paypal", paypal_email=f"payee{ambassador_id}@paypal.example")
            rows.append(PayoutDetails(organization_id=org_id, ambassador_id=ambassador_id, method=details.method,
                                      encrypted=crypto.encrypt(details.to_json()),
                                      fingerprint=crypto.fingerprint(details.normalised), masked=details.masked))
        PayoutDetails.objects.bulk_create(rows, batch_size=2000)
    return {name: rule.pk for name, rule in rules.items()}


def copy_credits(rows) -> float:
    return data.copy_rows("tracking_credit", CREDIT_COLUMNS, rows)


RECOUNT = """
WITH
sale_w AS (
    SELECT c.sale_id, c.ambassador_id, sum(c.amount * 100)::bigint AS w
    FROM tracking_credit c WHERE c.kind = 'sale' AND c.model = 'linear' AND c.version = 1
    GROUP BY 1, 2),
sale_t AS (
    SELECT w.*, round(s.amount * %(percent)s / 100, 2) * 100 AS total, sum(w.w) OVER (PARTITION BY w.sale_id) AS ws
    FROM sale_w w JOIN tracking_sale s ON s.id = w.sale_id WHERE s.status = 'paid'),
lead_w AS (
    SELECT c.customer_id, c.ambassador_id, sum(c.lead_share * 10000)::bigint AS w
    FROM tracking_credit c WHERE c.kind = 'lead' AND c.model = 'linear' AND c.version = 1
    GROUP BY 1, 2),
lead_t AS (
    SELECT w.*, %(lead_cents)s::numeric AS total, sum(w.w) OVER (PARTITION BY w.customer_id) AS ws FROM lead_w w),
parts AS (
    SELECT %(sale_rule)s AS rule_id, 'sale:' || sale_id AS cause, ambassador_id, total, w, ws,
           floor(total * w / ws) AS base, (total * w) %% ws AS rest FROM sale_t
    UNION ALL
    SELECT %(lead_rule)s, 'lead:' || customer_id, ambassador_id, total, w, ws,
           floor(total * w / ws), (total * w) %% ws FROM lead_t),
ranked AS (
    SELECT p.*, total - sum(base) OVER (PARTITION BY rule_id, cause) AS leftover,
           row_number() OVER (PARTITION BY rule_id, cause ORDER BY rest DESC, ambassador_id) AS place
    FROM parts p),
expected AS (
    SELECT rule_id, cause, ambassador_id, (base + CASE WHEN place <= leftover THEN 1 ELSE 0 END) / 100 AS amount
    FROM ranked
    UNION ALL
    SELECT %(click_rule)s, 'click:' || click_id, ambassador_id, %(click_points)s::numeric FROM tracking_click
    WHERE is_unique AND NOT is_bot AND NOT is_self AND NOT is_head),
ledger AS (
    SELECT rule_id, split_part(cause, ':', 1) || ':' || split_part(cause, ':', 2) AS cause, ambassador_id,
           sum(amount) AS amount
    FROM rewards_earningentry WHERE status IN ('pending', 'approved', 'in_payout', 'paid', 'held')
    GROUP BY 1, 2, 3)
SELECT count(e.cause) FILTER (WHERE e.amount <> 0), count(l.cause) FILTER (WHERE l.amount <> 0),
       count(*) FILTER (WHERE coalesce(e.amount, 0) <> coalesce(l.amount, 0)),
       coalesce(sum(e.amount) FILTER (WHERE e.rule_id <> %(click_rule)s), 0),
       coalesce(sum(l.amount) FILTER (WHERE l.rule_id <> %(click_rule)s), 0)
FROM expected e FULL JOIN ledger l USING (rule_id, cause, ambassador_id)
"""


def row_updates() -> tuple[int, int]:
    """(updates, HOT updates) of the entries table so far (statistics flushed first)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(1.1)")  # a backend flushes its statistics when idle, at most every second
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = %s",
                       ["rewards_earningentry"])
        return cursor.fetchone()


def recount(rules: dict) -> tuple:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute(RECOUNT, {"percent": SALE_PERCENT, "lead_cents": int(LEAD_AMOUNT * 100),
                                 "click_points": CLICK_POINTS, "sale_rule": rules["sale"],
                                 "lead_rule": rules["lead"], "click_rule": rules["click"]})
        row = cursor.fetchone()
        cursor.execute("RESET work_mem")
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")),
                        help="multiplies conversions and clicks (default 1, or BENCH_SCALE)")
    parser.add_argument("--ambassadors", type=int, default=AMBASSADORS)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--profile", action="store_true", help="cProfile compute_earnings and print the top")
    args = parser.parse_args()
    n_leads, n_sales, n_clicks = (round(n * args.scale) for n in (LEADS, SALES, CLICKS))
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    started = time.perf_counter()
    recreate_database(url)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    print(f"database {url.rsplit('@', 1)[-1]} created and migrated in {time.perf_counter() - started:.1f} s")

    from django.db import connection
    from django.utils import timezone

    from rewards.models import EarningEntry
    from rewards.services import ledger, payouts
    from rewards.services.earnings import compute_earnings
    from tenancy.scoping import tenant_scope

    rng = random.Random(args.seed)
    started = time.perf_counter()
    seed = data.seed_organization(rng, args.ambassadors)
    org_id = seed["org_id"]
    rules = seed_rewards(org_id, rng)
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    attributed_at = data.END + timedelta(days=60)
    clicks, customers, sales, credits = generate(rng, seed, n_leads, n_sales, n_clicks, attributed_at)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    data.copy_rows("tracking_click", data.CLICK_COLUMNS, clicks)
    data.copy_rows("tracking_customer", data.CUSTOMER_COLUMNS, customers)
    data.copy_rows("tracking_sale", data.SALE_COLUMNS, sales)
    copy_credits(credits)
    data.finish_load()
    loaded = time.perf_counter() - started
    conversions = len(customers) + len(sales)
    print(f"organisation {org_id}: {args.ambassadors:,} ambassadors, {len(seed['links']):,} links, 3 rules "
          f"(ORM, {seeded:.1f} s); generated {len(clicks):,} clicks, {len(customers):,} leads, {len(sales):,} sales "
          f"({sum(1 for s in sales if s[9] == 'refunded'):,} refunded), {len(credits):,} linear credits in "
          f"{generated:.1f} s; COPY and VACUUM ANALYZE {loaded:.1f} s")
    del clicks, customers, sales, credits

    now = timezone.now()
    screening = [0.0]  # seconds inside rewards.services.fraud.screen_entries (the fraud rules' own reads)
    from rewards.services import fraud

    screen = fraud.screen_entries

    def timed_screen(*args, **kwargs):
        began = time.perf_counter()
        try:
            return screen(*args, **kwargs)
        finally:
            screening[0] += time.perf_counter() - began

    fraud.screen_entries = timed_screen
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    result = compute_earnings(org_id, now=now)
    earnings_s = time.perf_counter() - started
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
        print(out.getvalue())
    with tenant_scope(org_id):
        entries = EarningEntry.objects.filter(organization_id=org_id).count()
    print(f"earnings: {result.created:,} entries ({result.clicks:,} unique clicks, {result.customers:,} customers "
          f"with their sales) in {earnings_s:.1f} s = {conversions / earnings_s:,.0f} conversions/s "
          f"(target < {EARNINGS_TARGET_S:.0f} s), of which fraud screening {screening[0]:.1f} s")

    started = time.perf_counter()
    again = compute_earnings(org_id, now=now)
    again_s = time.perf_counter() - started
    print(f"a second run: {again.created + again.corrections} entries written in {again_s:.2f} s")

    started = time.perf_counter()
    approved = ledger.approve_due(org_id, now)
    approve_s = time.perf_counter() - started
    print(f"approve_due: {approved:,} entries approved in {approve_s:.1f} s")

    updates = row_updates()
    started = time.perf_counter()
    run = payouts.create_run(org_id, None, now=now)
    payout_s = time.perf_counter() - started
    with tenant_scope(org_id):
        items = run.items.count()
        in_run = EarningEntry.objects.filter(payout_item__run=run).count()
    moved, hot = (after - before for after, before in zip(row_updates(), updates, strict=True))
    print(f"payout run: {items:,} items ({in_run:,} entries) in {payout_s:.2f} s (target < {PAYOUT_TARGET_S:.0f} s); "
          f"{hot:,} of {moved:,} entry moves were HOT updates (no index written)")
    updates = row_updates()
    started = time.perf_counter()
    payouts.confirm(run, None, now=now)
    payouts.mark_paid(run, None, now=now)
    paid_s = time.perf_counter() - started
    moved, hot = (after - before for after, before in zip(row_updates(), updates, strict=True))
    print(f"confirm and mark paid: {in_run:,} entries in {paid_s:.2f} s (not a target); {hot:,} of {moved:,} "
          f"HOT updates")

    started = time.perf_counter()
    expected, got, differing, expected_money, got_money = recount(rules)
    recount_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM (SELECT rule_id, cause, ambassador_id FROM rewards_earningentry "
                       "GROUP BY 1, 2, 3 HAVING count(*) > 1) d")
        duplicates = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM rewards_earningentry e JOIN tracking_sale s ON s.id = e.sale_id "
                       "WHERE s.status = 'refunded' AND e.status IN ('pending', 'approved', 'in_payout', 'paid', "
                       "'held')")
        refunded_live = cursor.fetchone()[0]
    ok = differing == 0 and duplicates == 0 and refunded_live == 0 and again.created + again.corrections == 0
    print(f"recount (SQL, {recount_s:.1f} s): {expected:,} (rule, event, ambassador) expected, {got:,} in the ledger, "
          f"differing: {differing}; money expected {expected_money}, in the ledger {got_money}; duplicate keys: "
          f"{duplicates}; live entries on refunded sales: {refunded_live} → {'OK' if ok else 'MISMATCH'}")

    met = ok and earnings_s < EARNINGS_TARGET_S and payout_s < PAYOUT_TARGET_S
    print(f"RESULT earnings conversions={conversions} entries={entries} seconds={earnings_s:.1f} "
          f"payout_run_s={payout_s:.2f} target={'met' if met else 'missed'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
