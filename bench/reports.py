"""bench/reports: the leaderboard and campaign ROI selectors over a year of one organisation's
data on PostgreSQL: 10,000,000 clicks and 1,000,000 conversions (700,000 leads, 300,000 sales),
loaded with COPY and rolled up. Target: p50 < 100 ms for both.

The data (bench/_reports_data.py) is deterministic for a seed: one organisation in Europe/Berlin
through the ORM (~1,000 ambassadors, 20 campaigns, costs, links), then share events, clicks,
customers, sales and credits of all five models with COPY, then DailyClickRollup and
DailyCreditRollup with INSERT … SELECT … GROUP BY, then VACUUM ANALYZE.

Timed, inside the organisation's tenant scope, each over --repeat calls after a warm-up:
reports.selectors.leaderboard.leaderboard(f, metric="revenue") and
reports.selectors.roi.roi_list(f) for the last 30 days (also, for information, campaign_roi()
of the top campaign and both over 90 days). The baseline, in the same run: the same answers
computed by aggregating the raw tables (tracking_click, tracking_credit, campaigns_shareevent)
instead of the rollups; it is checked to give exactly the selector's numbers (ranks, figures,
points, ROI). Each selector's queries are listed with their times; if a selector misses the
target (or with --profile) the slowest ones are run again under EXPLAIN (ANALYZE, BUFFERS).

Its own database (BENCH_DATABASE_URL, default bench_reports on 127.0.0.1), dropped, created and
migrated each run, dropped at the end unless --keep (--reuse: time again against a kept one,
skipping the load). --scale 0.1 (or BENCH_SCALE=0.1) for a quick run.
Last line: RESULT reports p50_ms=… p95_ms=… naive_p50_ms=… speedup=… target=met|missed
(p50/p95 of the slower of the two selectors; naive_p50 and speedup of that same report)."""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _reports_data as data  # noqa: E402 - the bench's own helper, next to this file
from _common import setup_django  # noqa: E402

TARGET_MS = 100.0
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_reports"
CLICKS, LEADS, SALES, SHARES = 10_000_000, 700_000, 300_000, 200_000
AMBASSADORS, CAMPAIGNS = 1_000, 20


def admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(sql)


def database_exists(url: str) -> bool:
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name(url)]).fetchone())


def db_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?")[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def timed(function, repeat: int, warmup: int = 2) -> tuple[list[float], object]:
    result = None
    for _ in range(warmup):
        result = function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


# --- Loading -----------------------------------------------------------------------------------

def load(rng: random.Random, scale: float, today: date, url: str) -> dict:
    from django.db import connection

    sizes = {"clicks": round(CLICKS * scale), "leads": round(LEADS * scale), "sales": round(SALES * scale),
             "shares": round(SHARES * scale)}
    started = time.perf_counter()
    seed = data.seed_organization(rng, max(50, round(AMBASSADORS * min(1.0, scale * 3))), CAMPAIGNS, today)
    print(f"organisation (ORM): {len(seed['ambassadors']):,} ambassadors in {seed['groups']} groups, "
          f"{len(seed['campaigns'])} campaigns, {seed['costs']:,} cost rows, {len(seed['links']):,} links "
          f"in {time.perf_counter() - started:.1f} s", flush=True)
    calendar = data.Calendar(today, ZoneInfo(data.TIME_ZONE))
    traffic = data.Traffic(rng, seed)
    org_id = seed["org_id"]

    def report(label, facts):
        rate = facts["rows"] / facts["copy_s"] if facts["copy_s"] else 0
        print(f"{label}: {facts['rows']:,} rows COPY'd in {facts['copy_s']:.1f} s ({rate:,.0f} rows/s), "
              f"indexes and constraints rebuilt in {facts['index_s']:.1f} s", flush=True)

    report("share events", data.copy_in("campaigns_shareevent", data.SHARE_COLUMNS,
                                        data.share_lines(rng, org_id, calendar, traffic, sizes["shares"]),
                                        drop_constraints=True))
    started = time.perf_counter()
    days, slots = data.click_plan(rng, calendar, traffic, sizes["clicks"])
    data.scratch("bench_day", days)
    data.scratch("bench_slot", slots)
    print(f"click plan (clicks per day, {len(slots):,} weighted link slots) in {time.perf_counter() - started:.1f} s",
          flush=True)
    report("clicks (generated by PostgreSQL, COPY TO → COPY FROM)",
           data.copy_in("tracking_click", data.CLICK_COLUMNS, select=data.click_select(org_id), producer_url=url,
                        drop_constraints=True))
    started = time.perf_counter()
    customers, sales, touches, paying = data.conversions(rng, org_id, calendar, traffic, sizes["leads"],
                                                         sizes["sales"])
    print(f"conversions generated in {time.perf_counter() - started:.1f} s ({paying:,} paying customers, "
          f"{len(touches):,} touches)", flush=True)
    report("customers (leads)", data.copy_in("tracking_customer", data.CUSTOMER_COLUMNS, _chunks(customers),
                                             drop_constraints=True))
    report("sales", data.copy_in("tracking_sale", data.SALE_COLUMNS, _chunks(sales), drop_constraints=True))
    del customers, sales
    data.scratch("bench_touch", touches)
    data.scratch("bench_weight", data.weight_rows())
    del touches
    report("credits (5 models; generated by PostgreSQL, COPY TO → COPY FROM)",
           data.copy_in("tracking_credit", data.CREDIT_COLUMNS, select=data.credit_select(org_id), producer_url=url,
                        drop_constraints=True))
    data.drop_scratch()
    bad_leads, bad_sales = data.check_credits()
    print(f"credits: leads not adding up to 1.0000 per model: {bad_leads}; paid sales not adding up to their "
          f"amount per model: {bad_sales} → {'OK' if not bad_leads and not bad_sales else 'WRONG'}", flush=True)
    started = time.perf_counter()
    rollups = data.roll_up()
    print("rollups: " + ", ".join(f"{table} {rows:,} rows in {seconds:.1f} s" for table, (rows, seconds)
                                  in rollups.items())
          + f"; VACUUM ANALYZE; {time.perf_counter() - started:.1f} s in all", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"database size {cursor.fetchone()[0]}")
    return seed


def _chunks(lines: list[str], size: int = 50_000):
    for start in range(0, len(lines), size):
        part = lines[start:start + size]
        yield "".join(part), len(part)


# --- The naive baseline: the same answers from the raw tables ------------------------------------

def _raw_figures(cursor, f, model: str, version: int) -> dict[int, dict]:
    """Per ambassador: shares, creditable and unique clicks, leads, customers, revenue in f's
    period, aggregated from Click, Credit and ShareEvent rows."""
    org, start, end = f.organization_id, f.period.start_at, f.period.end_at
    figures: dict[int, dict] = {}

    def row(ambassador_id):
        return figures.setdefault(ambassador_id, {"shares": 0, "clicks": 0, "unique_clicks": 0,
                                                  "leads": Decimal("0.0000"), "customers": Decimal("0.0000"),
                                                  "revenue": Decimal("0.00")})

    cursor.execute("SELECT ambassador_id, count(*), count(*) FILTER (WHERE is_unique) FROM tracking_click "
                   "WHERE organization_id = %s AND clicked_at >= %s AND clicked_at < %s AND NOT is_bot "
                   "AND NOT is_self GROUP BY ambassador_id", [org, start, end])
    for ambassador_id, clicks, unique in cursor.fetchall():
        row(ambassador_id).update(clicks=clicks, unique_clicks=unique)
    cursor.execute("SELECT ambassador_id, sum(lead_share) FILTER (WHERE kind = 'lead'), "
                   "sum(lead_share) FILTER (WHERE kind = 'customer'), sum(amount) FILTER (WHERE kind = 'sale') "
                   "FROM tracking_credit WHERE organization_id = %s AND version = %s AND model = %s "
                   "AND converted_at >= %s AND converted_at < %s GROUP BY ambassador_id",
                   [org, version, model, start, end])
    for ambassador_id, leads, customers, revenue in cursor.fetchall():
        row(ambassador_id).update(leads=leads or Decimal("0.0000"), customers=customers or Decimal("0.0000"),
                                  revenue=revenue or Decimal("0.00"))
    cursor.execute("SELECT ambassador_id, count(*) FROM campaigns_shareevent WHERE organization_id = %s "
                   "AND shared_at >= %s AND shared_at < %s GROUP BY ambassador_id", [org, start, end])
    for ambassador_id, shares in cursor.fetchall():
        row(ambassador_id)["shares"] = shares
    return figures


def _competition_ranks(values: dict[int, object], names: dict[int, str]) -> tuple[list[int], dict[int, int]]:
    order = sorted(values, key=lambda i: (-values[i], names[i].casefold(), i))
    ranks, last_value, last_rank = {}, object(), 0
    for position, i in enumerate(order, start=1):
        if values[i] != last_value:
            last_rank, last_value = position, values[i]
        ranks[i] = last_rank
    return order, ranks


def naive_leaderboard(f, metric: str) -> list[tuple]:
    """The leaderboard's rows as tuples (id, shares, clicks, unique clicks, leads, customers,
    revenue, points, rank, previous rank), from the raw tables."""
    from django.db import connection

    from reports.roi import money
    from tracking.models import AttributionSettings

    with connection.cursor() as cursor:
        settings = AttributionSettings.objects.get(organization_id=f.organization_id)
        cursor.execute("SELECT per_share, per_unique_click, per_lead, per_revenue_unit FROM reports_pointsrules "
                       "WHERE organization_id = %s", [f.organization_id])
        per_share, per_click, per_lead, per_revenue = cursor.fetchone()
        cursor.execute("SELECT id, display_name, status FROM ambassadors_ambassador WHERE organization_id = %s",
                       [f.organization_id])
        people = {i: (name, status) for i, name, status in cursor.fetchall()}
        model = f.model or settings.reporting_model
        now = _raw_figures(cursor, f, model, settings.version)
        before = _raw_figures(cursor, f.with_period(f.period.previous()), model, settings.version)
        if model != settings.reporting_model:
            raise NotImplementedError("the bench times the reporting model only")

    def points(fig):
        return money(fig["shares"] * per_share + fig["unique_clicks"] * per_click + fig["leads"] * per_lead
                     + fig["revenue"] * per_revenue)

    def active(fig):
        return bool(fig and (fig["shares"] or fig["clicks"] or fig["leads"] or fig["customers"] or fig["revenue"]))

    for table in (now, before):
        for fig in table.values():
            fig["points"] = points(fig)
    zero = {"shares": 0, "clicks": 0, "unique_clicks": 0, "leads": Decimal("0.0000"),
            "customers": Decimal("0.0000"), "revenue": Decimal("0.00"), "points": Decimal("0.00")}
    ids = [i for i, (_, status) in people.items() if status == "active" or active(now.get(i)) or active(before.get(i))]
    names = {i: people[i][0] for i in ids}
    order, ranks = _competition_ranks({i: now.get(i, zero)[metric] for i in ids}, names)
    _, previous = _competition_ranks({i: before[i][metric] for i in ids if active(before.get(i))}, names)
    return [(i, *(now.get(i, zero)[k] for k in ("shares", "clicks", "unique_clicks", "leads", "customers", "revenue",
                                                 "points")), ranks[i], previous.get(i)) for i in order]


def naive_roi_list(f) -> list[tuple]:
    """The ROI list's rows as tuples (campaign id or None, revenue, spend, time cost, cost, ROI,
    leads, customers, shares), from the raw tables."""
    from django.db import connection

    from reports.roi import roi_figures, time_cost
    from tracking.models import AttributionSettings

    org, start, end = f.organization_id, f.period.start_at, f.period.end_at
    settings = AttributionSettings.objects.get(organization_id=org)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, name, minutes_per_share FROM campaigns_campaign WHERE organization_id = %s", [org])
        campaigns = {i: (name, minutes) for i, name, minutes in cursor.fetchall()}
        cursor.execute("SELECT id, hourly_rate FROM ambassadors_ambassador WHERE organization_id = %s", [org])
        rates = dict(cursor.fetchall())
        cursor.execute("SELECT campaign_id, sum(lead_share) FILTER (WHERE kind = 'lead'), "
                       "sum(lead_share) FILTER (WHERE kind = 'customer'), sum(amount) FILTER (WHERE kind = 'sale') "
                       "FROM tracking_credit WHERE organization_id = %s AND version = %s AND model = %s "
                       "AND converted_at >= %s AND converted_at < %s GROUP BY campaign_id",
                       [org, settings.version, f.model or settings.reporting_model, start, end])
        credits = {c: (leads or Decimal("0.0000"), customers or Decimal("0.0000"), revenue or Decimal("0.00"))
                   for c, leads, customers, revenue in cursor.fetchall()}
        cursor.execute("SELECT campaign_id, ambassador_id, count(*) FROM campaigns_shareevent "
                       "WHERE organization_id = %s AND shared_at >= %s AND shared_at < %s "
                       "GROUP BY campaign_id, ambassador_id", [org, start, end])
        shares = cursor.fetchall()
        cursor.execute("SELECT campaign_id, sum(amount) FROM campaigns_campaigncost WHERE organization_id = %s "
                       "AND date >= %s AND date <= %s GROUP BY campaign_id", [org, f.period.start, f.period.end])
        spend = dict(cursor.fetchall())
    zero = Decimal("0")
    time_by, shares_by = {}, {}
    rated = {}  # Σ shares × rate per campaign, exact; × minutes / 60 once (no sum of cut quotients)
    for campaign_id, ambassador_id, count in shares:
        rated[campaign_id] = rated.get(campaign_id, zero) + count * rates[ambassador_id]
        shares_by[campaign_id] = shares_by.get(campaign_id, 0) + count
    for campaign_id, rate_sum in rated.items():
        time_by[campaign_id] = time_cost(1, campaigns[campaign_id][1], rate_sum)
    rows, totals = [], {"revenue": zero, "spend": zero, "time": zero, "leads": zero, "customers": zero, "shares": 0}
    for campaign_id, (name, _) in campaigns.items():
        leads, customers, revenue = credits.get(campaign_id, (zero, zero, zero))
        values = {"revenue": revenue, "spend": spend.get(campaign_id, zero), "time": time_by.get(campaign_id, zero),
                  "leads": leads, "customers": customers, "shares": shares_by.get(campaign_id, 0)}
        for key, value in values.items():
            totals[key] += value
        rows.append((campaign_id, name, roi_figures(**values)))
    rows.sort(key=lambda row: (-row[2].revenue, row[1].lower(), row[0]))
    rows.append((None, "", roi_figures(**totals)))
    return [_roi_tuple(campaign_id, figures) for campaign_id, _, figures in rows]


def _roi_tuple(campaign_id, r) -> tuple:
    return (campaign_id, r.revenue, r.spend, r.time_cost, r.cost, r.roi, r.leads, r.customers, r.shares)


def selector_leaderboard_rows(rows) -> list[tuple]:
    return [(r.ambassador_id, r.shares, r.clicks, r.unique_clicks, r.leads, r.customers, r.revenue, r.points, r.rank,
             r.previous_rank) for r in rows]


def selector_roi_rows(rows) -> list[tuple]:
    return [_roi_tuple(None if r.campaign is None else r.campaign.pk, r.figures) for r in rows]


def compare(label: str, mine: list[tuple], theirs: list[tuple]) -> bool:
    if mine == theirs:
        print(f"check {label}: selector == naive aggregate over the raw tables ({len(mine)} rows, every figure, "
              f"rank and order) → OK")
        return True
    print(f"!!! check {label}: MISMATCH between the selector ({len(theirs)} rows) and the naive aggregate over the "
          f"raw tables ({len(mine)} rows) !!!")
    shown = 0
    for position, (a, b) in enumerate(zip(theirs, mine, strict=False)):
        if a != b and shown < 5:
            print(f"    row {position}: selector {a}\n    row {position}: naive    {b}")
            shown += 1
    return False


# --- Profiling ----------------------------------------------------------------------------------

def queries_of(function) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        function()
    return [{"sql": q["sql"], "ms": float(q["time"]) * 1000} for q in captured.captured_queries]


def show_queries(label: str, queries: list[dict], explain: int) -> None:
    from django.db import connection

    total = sum(q["ms"] for q in queries)
    print(f"  {label}: {len(queries)} queries, {total:.1f} ms in the database; slowest:")
    for q in sorted(queries, key=lambda q: -q["ms"])[:4]:
        print(f"    {q['ms']:7.1f} ms  {q['sql'][:260]}{'…' if len(q['sql']) > 260 else ''}")
    for q in sorted(queries, key=lambda q: -q["ms"])[:explain]:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
            plan = "\n".join("      " + line for (line,) in cursor.fetchall())
        print(f"    EXPLAIN (ANALYZE, BUFFERS) of the {q['ms']:.1f} ms query:\n{plan}")


# --- Main -----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")),
                        help="fraction of the full data (default 1, or BENCH_SCALE)")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per selector (default 30)")
    parser.add_argument("--naive-repeat", type=int, default=5, help="timed calls of each naive baseline (default 5)")
    parser.add_argument("--seed", type=int, default=20260401)
    parser.add_argument("--profile", action="store_true", help="EXPLAIN ANALYZE the slowest queries even if fast")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="time against the database a --keep run left (loading it only if missing); implies --keep")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    name = db_name(url)

    args.keep = args.keep or args.reuse
    if not (args.reuse and database_exists(url)):
        args.reuse = False
        admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin(url, f'CREATE DATABASE "{name}"')
    try:
        return run(args, url)
    finally:
        if args.keep:
            print(f"kept database {name}")
        else:
            if "django" in sys.modules:
                from django.db import connections

                connections.close_all()
            admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"dropped database {name}")


def run(args, url: str) -> int:
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    tz = ZoneInfo(data.TIME_ZONE)
    today = datetime.now(tz).date()
    from tenancy.models import Organization

    existing = Organization.objects.filter(slug=data.ORG_SLUG).first() if args.reuse else None
    if existing is not None:
        print(f"database {url.rsplit('@', 1)[-1]} reused as a --keep run left it (its scale and day, not this "
              f"run's); {data.TIME_ZONE}, today {today}", flush=True)
        seed = {"org_id": existing.pk}
    else:
        print(f"database {url.rsplit('@', 1)[-1]} (dropped, created, migrated); scale {args.scale:g}; "
              f"{data.TIME_ZONE}, today {today}", flush=True)
        started = time.perf_counter()
        seed = load(random.Random(args.seed), args.scale, today, url)
        print(f"data loaded in {time.perf_counter() - started:.1f} s", flush=True)

    from reports.filters import ReportFilter
    from reports.periods import period_for
    from reports.selectors import leaderboard as leaderboard_module
    from reports.selectors import roi as roi_module
    from tenancy.scoping import tenant_scope

    org_id = seed["org_id"]
    ok = True
    results = {}
    profiles = {}
    with tenant_scope(org_id):
        for key in ("30d", "90d"):
            f = ReportFilter(organization_id=org_id, period=period_for(key, tz))
            jobs = {
                "leaderboard": (lambda f=f: leaderboard_module.leaderboard(f, metric="revenue"),
                                lambda f=f: naive_leaderboard(f, "revenue"), selector_leaderboard_rows),
                "roi_list": (lambda f=f: roi_module.roi_list(f), lambda f=f: naive_roi_list(f), selector_roi_rows),
            }
            for label, (selector, naive, shape) in jobs.items():
                times, answer = timed(selector, args.repeat)
                naive_times, naive_answer = timed(naive, args.naive_repeat, warmup=1)
                ok &= compare(f"{label} {key}", naive_answer, shape(answer))
                results[(label, key)] = (times, naive_times)
                profiles[(label, key)] = queries_of(selector)
                p50, p95, n50 = (statistics.median(times), percentile(times, 0.95), statistics.median(naive_times))
                print(f"{label} {key} (metric revenue)" if label == "leaderboard" else f"{label} {key}",
                      f": p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(times)} calls; naive over raw tables: "
                      f"p50 {n50:.1f} ms over {len(naive_times)} calls; speedup ×{n50 / p50:.1f}", sep="", flush=True)
            if key == "30d":
                top = roi_module.roi_list(f)[0].campaign.pk
                times, _ = timed(lambda f=f, top=top: roi_module.campaign_roi(f, top), args.repeat)
                profiles[("campaign_roi", key)] = queries_of(lambda f=f, top=top: roi_module.campaign_roi(f, top))
                print(f"campaign_roi {key} (campaign {top}, for information): p50 {statistics.median(times):.1f} ms, "
                      f"p95 {percentile(times, 0.95):.1f} ms over {len(times)} calls", flush=True)

        print("queries per selector call (CaptureQueriesContext):")
        for (label, key), queries in profiles.items():
            slow = label in ("leaderboard", "roi_list") and statistics.median(results[(label, key)][0]) >= TARGET_MS
            show_queries(f"{label} {key}", queries, 2 if (slow or args.profile) else 0)

    (lb, lb_naive), (roi, roi_naive) = results[("leaderboard", "30d")], results[("roi_list", "30d")]
    slower, naive_times = (lb, lb_naive) if statistics.median(lb) >= statistics.median(roi) else (roi, roi_naive)
    p50, p95, naive_p50 = statistics.median(slower), percentile(slower, 0.95), statistics.median(naive_times)
    met = ok and p50 < TARGET_MS
    print(f"slower selector over 30 days: {'leaderboard' if slower is lb else 'roi_list'}; target p50 < "
          f"{TARGET_MS:.0f} ms; checks {'OK' if ok else 'FAILED'}")
    print(f"RESULT reports p50_ms={p50:.1f} p95_ms={p95:.1f} naive_p50_ms={naive_p50:.1f} "
          f"speedup={naive_p50 / p50:.1f} target={'met' if met else 'missed'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
