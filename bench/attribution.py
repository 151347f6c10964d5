"""bench/attribution: full attribution (all five models) of 100,000 leads and 30,000 sales over
1,000,000 clicks on PostgreSQL, the way the Celery workers do it: all customer ids in order, in
chunks of 1,000, each chunk one call of tracking.services.attribution.attribute_customers(),
chunks processed by a pool of os.cpu_count() processes. Target: < 60 s for everything.

The data (bench/_attribution_data.py: one organisation through the ORM, clicks, customers and
sales with COPY) is deterministic for a seed. The baseline, measured in the same run on the same
machine: 1,000 customers (a seeded sample) attributed one id per call in one process; the same
sample in one batched call (one process) is measured too. Credits and attributed_at are reset
after each sample, so the full run starts from nothing.

Checks afterwards, in SQL: every customer with lead credits has exactly 1.0000 per model; every
paid sale with credits adds up to its amount per model, refunded sales have none; the customers
with credits are exactly those with a creditable click in the 30 days before their first lead
(not self-referrals), and their first_touch / last_touch credit goes to the link of the
earliest / latest such click; re-attributing one chunk leaves its credits identical; verify_credits
(tracking.verification) finds no violation, and how long it takes is printed.

Its own database (BENCH_DATABASE_URL, default bench_attribution on 127.0.0.1), dropped and
migrated each run. --scale 0.1 (or BENCH_SCALE=0.1) for a quick run; --profile prints a cProfile
of one batched chunk."""

import argparse
import collections
import multiprocessing
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _attribution_data as data  # noqa: E402 - the bench's own helper, next to this file
from _common import recreate_database, setup_django  # noqa: E402

TARGET_S = 60.0
CHUNK = 1_000
SAMPLE = 1_000
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_attribution"


def attribution_service():
    from tracking.services.attribution import attribute_customers

    return attribute_customers


# --- The service -----------------------------------------------------------------------------------

def attribute(organization_id: int, customer_ids: list[int]) -> tuple[int, int, int]:
    from tenancy.scoping import tenant_scope

    function = attribution_service()
    with tenant_scope(organization_id):  # as the Celery task does
        run = function(organization_id, customer_ids)
    return run.customers, run.sales, run.deferred


def _worker_init(database_url: str) -> None:
    """Spawn: a fresh interpreter needs Django. Fork: the parent closed its connections before
    forking, so each worker opens its own."""
    import django.apps

    if not django.apps.apps.ready:
        setup_django(database_url)


def _worker(job: tuple[int, list[int]]) -> tuple[int, int, int, float]:
    organization_id, ids = job
    started = time.perf_counter()
    customers, sales, deferred = attribute(organization_id, ids)
    return customers, sales, deferred, time.perf_counter() - started


def _burn(_=None) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i
    return time.perf_counter() - started


def cpu_parallelism(workers: int, start_method: str) -> float:
    """How many processes' worth of CPU the machine really gives at once (vCPUs may be
    hyperthreads or throttled): a pure-Python loop alone, then in `workers` processes at once."""
    alone = min(_burn() for _ in range(3))
    with multiprocessing.get_context(start_method).Pool(workers) as pool:
        together = min(statistics.mean(pool.map(_burn, range(workers))) for _ in range(3))
    return workers * alone / together


# --- Phases ----------------------------------------------------------------------------------------

def reset_attribution() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tracking_credit")
        if "tracking_dailycreditrollup" in connection.introspection.table_names(cursor):
            cursor.execute("TRUNCATE tracking_dailycreditrollup")
        cursor.execute("UPDATE tracking_customer SET attributed_at = NULL WHERE attributed_at IS NOT NULL")
        cursor.execute("UPDATE tracking_sale SET attributed_at = NULL WHERE attributed_at IS NOT NULL")


def one_at_a_time(organization_id: int, ids: list[int]) -> tuple[int, float]:
    started = time.perf_counter()
    conversions = 0
    for customer_id in ids:
        customers, sales, _ = attribute(organization_id, [customer_id])
        conversions += customers + sales
    return conversions, time.perf_counter() - started


def batched(organization_id: int, ids: list[int]) -> tuple[int, float]:
    started = time.perf_counter()
    customers, sales, _ = attribute(organization_id, ids)
    return customers + sales, time.perf_counter() - started


class Sampler(threading.Thread):
    """What the database's backends are doing, sampled every 50 ms from pg_stat_activity:
    running, waiting on a lock or I/O, or idle in a transaction (waiting for Python)."""

    def __init__(self, database_url: str):
        super().__init__(daemon=True)
        self.url = database_url
        self.stop = threading.Event()
        self.tally: collections.Counter = collections.Counter()

    def run(self):
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(0.05):
                for state, kind, event in conn.execute(
                        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"):
                    if state == "active":
                        self.tally["running" if kind is None else f"waiting {kind}:{event}"] += 1
                    elif state and state.startswith("idle in transaction"):
                        self.tally["idle in transaction (Python working)"] += 1
                    else:
                        self.tally["idle (between chunks)"] += 1

    def summary(self) -> str:
        total = sum(self.tally.values()) or 1
        return ", ".join(f"{what} {count / total:.0%}" for what, count in self.tally.most_common(6))


def full_run(organization_id: int, ids: list[int], workers: int, database_url: str, start_method: str):
    from django.db import connections

    chunks = [(organization_id, ids[i:i + CHUNK]) for i in range(0, len(ids), CHUNK)]
    connections.close_all()
    sampler = Sampler(database_url)
    started = time.perf_counter()
    context = multiprocessing.get_context(start_method)
    with context.Pool(workers, initializer=_worker_init, initargs=(database_url,)) as pool:
        sampler.start()  # after the workers are forked
        results = list(pool.imap_unordered(_worker, chunks))
    seconds = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    return results, seconds, len(chunks), sampler.summary()


def fingerprint(ids: list[int]) -> tuple[int, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*), coalesce(md5(string_agg(concat_ws(',', kind, customer_id, sale_id, model, ambassador_id,
                link_id, campaign_id, amount, lead_share, converted_at, version), ';'
                ORDER BY kind, customer_id, sale_id, model, ambassador_id, link_id, version)), '')
            FROM tracking_credit WHERE customer_id = ANY(%s)""", [ids])
        return cursor.fetchone()


def check(organization_id: int, ambassador_hashes: list[str]) -> dict:
    from django.db import connection

    facts = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT version) FROM tracking_credit")
        facts["credits"], facts["versions"] = cursor.fetchone()
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE attributed_at IS NULL) FROM tracking_customer")
        facts["customers"], facts["customers_unattributed"] = cursor.fetchone()
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE attributed_at IS NULL) FROM tracking_sale "
                       "WHERE customer_id IS NOT NULL")
        facts["sales"], facts["sales_unattributed"] = cursor.fetchone()
        cursor.execute("SELECT kind, count(*) FROM tracking_credit GROUP BY kind ORDER BY kind")
        facts["kinds"] = cursor.fetchall()
        # Leads (and paying customers): per model, each credited customer's shares add up to exactly 1.0000.
        cursor.execute("""
            WITH per AS (SELECT kind, customer_id, version, model, sum(lead_share) AS total FROM tracking_credit
                         WHERE kind <> 'sale' GROUP BY 1, 2, 3, 4)
            SELECT kind, model, count(*), sum(total), count(*) FILTER (WHERE total <> 1) FROM per
            GROUP BY kind, model ORDER BY kind, model""")
        facts["share_models"] = cursor.fetchall()
        facts["lead_models"] = [row[1:] for row in facts["share_models"] if row[0] == "lead"]
        # Paying customers (kind "customer", when the service writes them): exactly the credited customers
        # with a paid sale, each on its earliest paid sale.
        cursor.execute("""
            WITH credited AS (SELECT DISTINCT customer_id FROM tracking_credit WHERE kind = 'lead'),
                 first_paid AS (SELECT DISTINCT ON (customer_id) customer_id, id FROM tracking_sale
                                WHERE status = 'paid' AND customer_id IS NOT NULL
                                ORDER BY customer_id, occurred_at, id),
                 expected AS (SELECT f.customer_id, f.id FROM first_paid f JOIN credited c USING (customer_id)),
                 got AS (SELECT DISTINCT customer_id, sale_id FROM tracking_credit WHERE kind = 'customer')
            SELECT count(e.customer_id), count(g.customer_id), count(*) FILTER (WHERE e.id IS DISTINCT FROM g.sale_id)
            FROM expected e FULL JOIN got g USING (customer_id)""")
        facts["paying_expected"], facts["paying_got"], facts["paying_wrong"] = cursor.fetchone()
        # The daily credit rollups (when the service keeps them) against a recount from the credits.
        facts["rollups"] = None
        if "tracking_dailycreditrollup" in connection.introspection.table_names(cursor):
            cursor.execute("""
                WITH recount AS (
                    SELECT organization_id, version, model, (converted_at AT TIME ZONE %(tz)s)::date AS day,
                           campaign_id, ambassador_id,
                           coalesce(sum(lead_share * 10000) FILTER (WHERE kind = 'lead'), 0) AS leads,
                           coalesce(sum(lead_share * 10000) FILTER (WHERE kind = 'customer'), 0) AS customers,
                           coalesce(sum(amount * 100) FILTER (WHERE kind = 'sale'), 0) AS revenue_cents
                    FROM tracking_credit GROUP BY 1, 2, 3, 4, 5, 6)
                SELECT (SELECT count(*) FROM tracking_dailycreditrollup), count(*) FROM recount r
                FULL JOIN tracking_dailycreditrollup d USING (organization_id, version, model, day, campaign_id,
                                                              ambassador_id)
                WHERE (coalesce(r.leads, 0), coalesce(r.customers, 0), coalesce(r.revenue_cents, 0))
                      IS DISTINCT FROM (coalesce(d.leads, 0), coalesce(d.customers, 0), coalesce(d.revenue_cents, 0))
                """, {"tz": data.TIME_ZONE})
            facts["rollups"] = cursor.fetchone()
        # Sales: per model, each credited sale's cents add up to its amount; refunded sales have none.
        cursor.execute("""
            WITH per AS (SELECT sale_id, version, model, sum(amount) AS total FROM tracking_credit
                         WHERE kind = 'sale' GROUP BY 1, 2, 3)
            SELECT per.model, count(*), count(*) FILTER (WHERE per.total <> s.amount),
                   count(*) FILTER (WHERE s.status <> 'paid')
            FROM per JOIN tracking_sale s ON s.id = per.sale_id GROUP BY per.model ORDER BY per.model""")
        facts["sale_models"] = cursor.fetchall()
        # Paid sales of credited customers without credits, and credited sales of uncredited customers.
        cursor.execute("""
            WITH credited AS (SELECT DISTINCT customer_id FROM tracking_credit WHERE kind = 'lead'),
                 sold AS (SELECT DISTINCT sale_id FROM tracking_credit WHERE kind = 'sale')
            SELECT count(*) FILTER (WHERE s.status = 'paid' AND c.customer_id IS NOT NULL AND d.sale_id IS NULL),
                   count(*) FILTER (WHERE c.customer_id IS NULL AND d.sale_id IS NOT NULL)
            FROM tracking_sale s LEFT JOIN credited c ON c.customer_id = s.customer_id
                 LEFT JOIN sold d ON d.sale_id = s.id""")
        facts["paid_sales_missing_credits"], facts["sales_credited_without_lead"] = cursor.fetchone()
        # A recount of the touches, independent of the service: the customers that should have credits,
        # and the link of their earliest / latest touch.
        cursor.execute("""
            WITH leads AS (
                SELECT c.id, c.first_lead_at,
                       coalesce(c.visitor_id, (SELECT k.visitor_id FROM tracking_click k
                                               WHERE k.click_id = c.first_click_id)) AS visitor_id
                FROM tracking_customer c
                WHERE c.organization_id = %(org)s AND NOT (coalesce(c.email_hash, '') = ANY(%(hashes)s))),
            touches AS (
                SELECT l.id, k.link_id,
                       row_number() OVER (PARTITION BY l.id ORDER BY k.clicked_at, k.id) AS from_first,
                       row_number() OVER (PARTITION BY l.id ORDER BY k.clicked_at DESC, k.id DESC) AS from_last
                FROM leads l JOIN tracking_click k
                  ON k.organization_id = %(org)s AND k.visitor_id = l.visitor_id AND NOT k.is_bot AND NOT k.is_self
                 AND k.clicked_at BETWEEN l.first_lead_at - interval '30 days' AND l.first_lead_at),
            expected AS (SELECT id, max(link_id) FILTER (WHERE from_first = 1) AS first_link,
                                max(link_id) FILTER (WHERE from_last = 1) AS last_link
                         FROM touches GROUP BY id),
            got AS (SELECT customer_id AS id,
                           max(link_id) FILTER (WHERE model = 'first_touch' AND lead_share = 1) AS first_link,
                           max(link_id) FILTER (WHERE model = 'last_touch' AND lead_share = 1) AS last_link
                    FROM tracking_credit WHERE kind = 'lead' GROUP BY customer_id)
            SELECT count(e.id), count(g.id),
                   count(*) FILTER (WHERE e.id IS NULL OR g.id IS NULL),
                   count(*) FILTER (WHERE e.id IS NOT NULL AND g.id IS NOT NULL AND e.first_link IS DISTINCT FROM
                                    g.first_link),
                   count(*) FILTER (WHERE e.id IS NOT NULL AND g.id IS NOT NULL AND e.last_link IS DISTINCT FROM
                                    g.last_link)
            FROM expected e FULL JOIN got g ON g.id = e.id""", {"org": organization_id, "hashes": ambassador_hashes})
        (facts["expected_credited"], facts["credited"], facts["credited_mismatch"], facts["first_touch_wrong"],
         facts["last_touch_wrong"]) = cursor.fetchone()
    return facts


def profile_chunk(organization_id: int, ids: list[int]) -> None:
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    batched(organization_id, ids)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)
    print(out.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")),
                        help="multiplies clicks, leads and sales (default 1, or BENCH_SCALE)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--ambassadors", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20251124)
    parser.add_argument("--start-method", choices=("fork", "spawn", "forkserver"), default="fork")
    parser.add_argument("--profile", action="store_true", help="cProfile one batched chunk and print the top")
    args = parser.parse_args()
    n_clicks, n_leads, n_sales = (round(n * args.scale) for n in (1_000_000, 100_000, 30_000))
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    started = time.perf_counter()
    recreate_database(url)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    function = attribution_service()
    print(f"database {url.rsplit('@', 1)[-1]} created and migrated in {time.perf_counter() - started:.1f} s; "
          f"service: {function.__module__}.{function.__qualname__}")

    rng = random.Random(args.seed)
    started = time.perf_counter()
    seed = data.seed_organization(rng, args.ambassadors)
    organization_id = seed["org_id"]
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    clicks, customers, sales, visitors = data.generate(rng, seed, n_clicks, n_leads, n_sales)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    indexing = data.copy_rows("tracking_click", data.CLICK_COLUMNS, clicks)
    copied_clicks = time.perf_counter() - started
    indexing += data.copy_rows("tracking_customer", data.CUSTOMER_COLUMNS, customers)
    indexing += data.copy_rows("tracking_sale", data.SALE_COLUMNS, sales)
    copied = time.perf_counter() - started
    started = time.perf_counter()
    data.finish_load()
    analyzed = time.perf_counter() - started
    bots = sum(1 for row in clicks if row[13])
    print(f"organisation {organization_id}: {len(seed['ambassador_emails'])} ambassadors, {len(seed['links'])} links "
          f"(ORM, {seeded:.1f} s)")
    print(f"generated {len(clicks):,} clicks ({visitors:,} visitors, {bots:,} bots), {len(customers):,} leads "
          f"({sum(1 for c in customers if c[6] or c[7]):,} with a visitor or click id), {len(sales):,} sales "
          f"({sum(1 for s in sales if s[9] == 'refunded'):,} refunded, "
          f"{len(sales) - len({s[4] for s in sales}):,} second sales) in {generated:.1f} s")
    print(f"COPY: clicks {copied_clicks:.1f} s ({len(clicks) / copied_clicks:,.0f} rows/s), all {copied:.1f} s "
          f"(of which {indexing:.1f} s rebuilding the plain indexes dropped for the load); VACUUM ANALYZE "
          f"{analyzed:.1f} s")
    ids = [row[0] for row in customers]
    ambassador_hashes = [data.email_hash(e) for e in seed["ambassador_emails"]]
    del clicks, customers, sales

    # Baseline and batched, one process, on the same seeded sample; a warm-up first.
    sample = sorted(random.Random(args.seed + 1).sample(ids, min(SAMPLE, len(ids))))
    batched(organization_id, sample)
    reset_attribution()
    base_conversions, base_s = one_at_a_time(organization_id, sample)
    reset_attribution()
    batch_conversions, batch_s = batched(organization_id, sample)
    if args.profile:
        reset_attribution()
        profile_chunk(organization_id, sample)
    reset_attribution()
    base_rate = base_conversions / base_s
    batch_rate = batch_conversions / batch_s
    print(f"baseline, one id per call, 1 process: {len(sample):,} customers → {base_conversions:,} conversions in "
          f"{base_s:.2f} s = {base_rate:,.0f} conversions/s")
    print(f"batched, one call of {len(sample):,} ids, 1 process: {batch_conversions:,} conversions in "
          f"{batch_s:.2f} s = {batch_rate:,.0f} conversions/s ({batch_rate / base_rate:.1f}× the baseline)")

    # The full run.
    parallelism = cpu_parallelism(args.workers, args.start_method)
    print(f"CPU: {args.workers} worker process(es) on {os.cpu_count()} CPU(s) run like {parallelism:.1f} "
          f"at once (a pure-Python loop alone vs {args.workers} at once)")
    results, total_s, n_chunks, activity = full_run(organization_id, ids, args.workers, url, args.start_method)
    attributed_customers = sum(r[0] for r in results)
    attributed_sales = sum(r[1] for r in results)
    deferred = sum(r[2] for r in results)
    conversions = attributed_customers + attributed_sales
    rate = conversions / total_s
    chunk_s = sorted(r[3] for r in results)
    print(f"full run: {n_chunks} chunks of {CHUNK:,} over {args.workers} worker process(es) ({args.start_method}): "
          f"{attributed_customers:,} customers + {attributed_sales:,} sales = {conversions:,} conversions "
          f"({deferred:,} deferred) in {total_s:.2f} s = {rate:,.0f} conversions/s")
    print(f"chunk seconds: min {chunk_s[0]:.2f}, median {statistics.median(chunk_s):.2f}, "
          f"p90 {chunk_s[int(0.9 * (len(chunk_s) - 1))]:.2f}, max {chunk_s[-1]:.2f}; sum {sum(chunk_s):.1f} s of "
          f"worker time (workers busy {sum(chunk_s) / total_s / args.workers:.0%} of the run)")
    print(f"database backends during the run (pg_stat_activity every 50 ms): {activity}")

    started = time.perf_counter()
    facts = check(organization_id, ambassador_hashes)
    checked = time.perf_counter() - started
    kinds = ", ".join(f"{count:,} {kind}" for kind, count in facts["kinds"])
    print(f"credits: {facts['credits']:,} rows ({kinds}; {facts['versions']} version(s)); unattributed left: "
          f"{facts['customers_unattributed']:,} customers, "
          f"{facts['sales_unattributed']:,} sales with a customer")
    ok = (facts["customers_unattributed"] == deferred and facts["sales_unattributed"] == 0
          and attributed_customers + deferred == len(ids) and attributed_sales == facts["sales"])
    lead_counts = {count for _, count, _, _ in facts["lead_models"]}
    for kind, model, count, total, wrong in facts["share_models"]:
        good = wrong == 0 and total == count
        ok &= good
        print(f"  {kind:8} {model:15} {count:,} customers, sum(lead_share) = {total} "
              f"{'==' if total == count else '!='} {count:,}; customers whose shares ≠ 1.0000: {wrong}")
    for model, count, wrong, unpaid in facts["sale_models"]:
        ok &= wrong == 0 and unpaid == 0
        print(f"  {'sale':8} {model:15} {count:,} sales credited; amounts ≠ the sale's: {wrong}; "
              f"refunded with credits: {unpaid}")
    ok &= (len(facts["lead_models"]) == 5 and len(lead_counts) == 1 and len(facts["sale_models"]) == 5
           and facts["paid_sales_missing_credits"] == 0 and facts["sales_credited_without_lead"] == 0
           and facts["credited_mismatch"] == 0 and facts["first_touch_wrong"] == 0 and facts["last_touch_wrong"] == 0)
    print(f"recount: {facts['expected_credited']:,} customers have a creditable touch in the window, "
          f"{facts['credited']:,} have credits, differing: {facts['credited_mismatch']}; first_touch to the wrong "
          f"link: {facts['first_touch_wrong']}, last_touch: {facts['last_touch_wrong']}; paid sales of credited "
          f"customers without credits: {facts['paid_sales_missing_credits']}, credited sales of uncredited "
          f"customers: {facts['sales_credited_without_lead']} ({checked:.1f} s)")

    if facts["paying_got"]:
        ok &= facts["paying_wrong"] == 0
        print(f"paying customers: {facts['paying_expected']:,} credited customers with a paid sale, "
              f"{facts['paying_got']:,} with customer credits, wrong or missing: {facts['paying_wrong']}")
    if facts["rollups"] is not None:
        ok &= facts["rollups"][1] == 0
        print(f"daily credit rollups: {facts['rollups'][0]:,} rows; keys differing from a recount of the credits: "
              f"{facts['rollups'][1]}")

    # Idempotency: one chunk again changes nothing.
    chunk = ids[len(ids) // 2 // CHUNK * CHUNK:][:CHUNK]
    before = fingerprint(chunk)
    again = attribute(organization_id, chunk)
    after = fingerprint(chunk)
    same = before == after
    ok &= same
    print(f"idempotency: chunk {chunk[0]}..{chunk[-1]} re-attributed ({again[0]:,} customers, {again[1]:,} sales): "
          f"{before[0]:,} credit rows before, {after[0]:,} after, contents {'identical' if same else 'DIFFERENT'}")

    # verify_credits over everything (issue 11): the invariants, read in bounded batches.
    from tracking.verification import verify_organization

    started = time.perf_counter()
    report = verify_organization(organization_id)
    verify_s = time.perf_counter() - started
    ok &= not report.violations
    print(f"verify_credits: {report.customers:,} customers, {report.credits:,} credits, {report.waiting:,} waiting, "
          f"{len(report.violations)} violations in {verify_s:.1f} s "
          f"({(report.customers + attributed_sales) / verify_s:,.0f} conversions/s)")
    for violation in report.violations[:20]:
        print(f"  {violation.line()}")
    print(f"→ {'OK' if ok else 'MISMATCH'}")

    speedup = rate / base_rate
    met = ok and total_s < TARGET_S
    print(f"{conversions:,} conversions in {total_s:.2f} s = {rate:,.0f} conversions/s (target < {TARGET_S:.0f} s); "
          f"{speedup:.1f}× the one-at-a-time baseline ({args.workers} processes vs 1)")
    print(f"RESULT attribution conversions={conversions} total_s={total_s:.2f} conversions_per_s={rate:.0f} "
          f"speedup_vs_one_at_a_time={speedup:.1f} batch_speedup_1proc={batch_rate / base_rate:.1f} "
          f"scale={args.scale:g} workers={args.workers} cpu_parallelism={parallelism:.1f} verify_s={verify_s:.1f} "
          f"violations={len(report.violations)}"
          f" target={'met' if met else 'missed'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
