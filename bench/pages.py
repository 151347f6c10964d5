"""bench/pages: server time of the main pages on the demo data (`seed_demo --scale 10`), measured
with Django's test client in one process (issue 6: every page under 300 ms server time).

A fresh database (PostgreSQL `bench_pages` on 127.0.0.1, dropped and recreated; or --sqlite for the
embedded SQLite mode) is migrated and seeded with `manage.py seed_demo --scale N` (timed). Then,
with DEBUG off, each page is requested as the user who would open it (client.force_login), all
pages round-robin in the same loop so that machine noise hits them alike: --warmup rounds, then
--repeat timed rounds. The time is the whole request through the middleware stack (session, tenant
scope, role check, view, template rendering; a CSV's streamed body is consumed inside the timing).

Baseline, in the same loop: the login page for an anonymous visitor (a trivial template page);
every page's p50 is also printed as a ratio to it. One extra untimed request per page under
CaptureQueriesContext counts its queries and their database time (so a slow page shows whether the
time goes to SQL or to Python/templates).

Target: every page's p50 < 300 ms. The deciding metric is the slowest page's p50
(slowest_p50_ms in the RESULT line); p50_ms/p95_ms are over all timed page requests pooled.
Last line: RESULT pages p50_ms=… p95_ms=… slowest=<page> slowest_p50_ms=… baseline_p50_ms=… target=met|missed"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import recreate_database, setup_django  # noqa: E402 - the benches' shared helper

TARGET_MS = 300.0
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_pages"
SQLITE_PATH = Path(tempfile.gettempdir()) / "bench-pages.sqlite3"
VAR_DIR = Path(tempfile.gettempdir()) / "bench-pages-var"
ORG = "northwind"

AMBASSADOR = "ambassador@northwind.example"
MANAGER = "manager@northwind.example"
ADMIN = "admin@northwind.example"

# (label, user, url name, query string, what the kwargs need). Pages whose URL name does not exist
# (yet) are skipped and listed. "campaign" kwargs get the ambassador's first campaign's public_id.
PAGES = [
    ("amb home", AMBASSADOR, "org_home", "", None),
    ("amb my figures", AMBASSADOR, "my_portal", "", None),
    ("amb my campaigns", AMBASSADOR, "my_campaigns", "", None),
    ("amb campaign", AMBASSADOR, "my_campaign", "", "campaign"),
    ("amb profile", AMBASSADOR, "my_profile", "", None),
    ("mgr dashboard", MANAGER, "org_home", "", None),
    ("mgr reports", MANAGER, "reports_home", "", None),
    ("mgr reports 90d", MANAGER, "reports_home", "period=90d", None),
    ("mgr leaderboard", MANAGER, "report_leaderboard", "", None),
    ("mgr leaderboard 90d rev", MANAGER, "report_leaderboard", "period=90d&metric=revenue", None),
    ("mgr leaderboard fair", MANAGER, "report_leaderboard", "view=fair", None),
    ("mgr roi list", MANAGER, "report_roi", "", None),
    ("mgr roi detail", MANAGER, "report_roi_detail", "", "campaign"),
    ("mgr funnel", MANAGER, "report_funnel", "", None),
    ("mgr models by amb", MANAGER, "report_models", "by=ambassador", None),
    ("mgr ambassadors", MANAGER, "ambassador_list", "", None),
    ("mgr digest", MANAGER, "report_digest", "", None),
    ("adm manage home", ADMIN, "manage_home", "", None),
    ("adm campaigns", ADMIN, "campaign_manage_list", "", None),
    ("adm campaign", ADMIN, "campaign_manage", "", "campaign"),
    ("adm attribution", ADMIN, "attribution_settings", "", None),
    ("adm api keys", ADMIN, "org_api_keys", "", None),
    ("adm imports", ADMIN, "conversion_imports", "", None),
    ("adm members", ADMIN, "org_members", "", None),
    ("adm settings", ADMIN, "org_settings", "", None),
    ("adm groups", ADMIN, "ambassador_groups", "", None),
    ("adm points", ADMIN, "points_rules", "", None),
    ("csv leaderboard", MANAGER, "report_leaderboard_csv", "", None),
    ("csv leaderboard 90d", MANAGER, "report_leaderboard_csv", "period=90d&metric=revenue", None),
    ("csv roi", MANAGER, "report_roi_csv", "", None),
]
BASELINE = "baseline login"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def seed(scale: int) -> float:
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    call_command("seed_demo", scale=scale, stdout=sys.stdout)
    seconds = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return seconds


def data_sizes() -> str:
    from django_scopes import scopes_disabled

    from campaigns.models import Campaign, ShareEvent
    from tracking.models import Click, Credit, DailyClickRollup, DailyCreditRollup

    with scopes_disabled():
        return ", ".join(f"{model.__name__} {model.objects.count():,}"
                         for model in (Campaign, ShareEvent, Click, DailyClickRollup, Credit, DailyCreditRollup))


def resolve_pages(only: list[str] | None):
    """[(label, email, url)] for the pages that exist, and the labels of those that don't."""
    from django.urls import NoReverseMatch, reverse

    from accounts.models import User
    from ambassadors.models import Ambassador
    from campaigns.models import TrackedLink
    from tenancy.models import Organization
    from tenancy.scoping import tenant_scope

    org = Organization.objects.get(slug=ORG)
    with tenant_scope(org):
        me = Ambassador.objects.get(user=User.objects.get(email=AMBASSADOR))
        link = (TrackedLink.objects.filter(ambassador=me).select_related("campaign")
                .order_by("campaign__created_at", "pk").first())
        campaign_id = link.campaign.public_id
    pages, skipped = [], []
    for label, email, name, query, needs in PAGES:
        if only and not any(o in label for o in only):
            continue
        kwargs = {"org_slug": ORG}
        if needs == "campaign":
            kwargs["public_id"] = campaign_id
        try:
            url = reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            skipped.append(f"{label} ({name})")
            continue
        pages.append((label, email, url + (f"?{query}" if query else "")))
    return pages, skipped


def clients(emails):
    from django.test import Client

    from accounts.models import User

    result = {None: Client()}
    for email in emails:
        client = Client()
        client.force_login(User.objects.get(email=email))
        result[email] = client
    return result


def fetch(client, url: str) -> tuple[int, int]:
    response = client.get(url)
    if getattr(response, "streaming", False):
        size = sum(len(chunk) for chunk in response.streaming_content)
    else:
        size = len(response.content)
    response.close()
    return response.status_code, size


def count_queries(client, url: str) -> tuple[int, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fetch(client, url)
    return len(captured.captured_queries), sum(float(q["time"]) for q in captured.captured_queries) * 1000


def measure(pages, repeat: int, warmup: int) -> dict:
    from django.urls import reverse

    targets = [(BASELINE, None, reverse("account_login"))] + pages
    by_user = clients({email for _, email, _ in pages})
    times = {label: [] for label, _, _ in targets}
    cpu = {label: [] for label, _, _ in targets}
    info = {}
    for label, email, url in targets:  # status, size and queries: one untimed request each
        status, size = fetch(by_user[email], url)
        queries, db_ms = count_queries(by_user[email], url)
        info[label] = dict(status=status, size=size, queries=queries, db_ms=db_ms, url=url)
    for round_ in range(warmup + repeat):
        for label, email, url in targets:
            started, cpu_started = time.perf_counter(), time.process_time()
            status, _ = fetch(by_user[email], url)
            elapsed = (time.perf_counter() - started) * 1000
            cpu_ms = (time.process_time() - cpu_started) * 1000
            if status != info[label]["status"]:
                info[label]["status"] = f"{info[label]['status']}/{status}"
            if round_ >= warmup:
                times[label].append(elapsed)
                cpu[label].append(cpu_ms)
    return {label: dict(info[label], p50=statistics.median(values), p95=percentile(values, 0.95),
                        max=max(values), cpu=statistics.median(cpu[label]), times=values)
            for label, values in times.items()}


def profile(pages, labels: list[str], lines: int = 35) -> None:
    """cProfile of one request to each page whose label contains one of labels (after a warm-up),
    and its queries with their times."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    by_user = clients({email for _, email, _ in pages})
    for label, email, url in pages:
        if not any(wanted in label for wanted in labels):
            continue
        fetch(by_user[email], url)
        profiler = cProfile.Profile()
        profiler.enable()
        fetch(by_user[email], url)
        profiler.disable()
        print(f"\n=== {label}  {url}")
        # BENCH_PROFILE_SORT=tottime, BENCH_PROFILE_FILTER=. (default: the project's own functions)
        stats = pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative"))
        stats.print_stats(os.environ.get("BENCH_PROFILE_FILTER", r"^(?!.*site-packages)(?!.*bench/)"), lines)
        with CaptureQueriesContext(connection) as captured:
            fetch(by_user[email], url)
        for query in sorted(captured.captured_queries, key=lambda q: -float(q["time"])):
            print(f"{float(query['time']) * 1000:7.1f} ms  {query['sql'][:300]}")


def report(results: dict) -> tuple[str, float, bool]:
    base = results[BASELINE]["p50"]
    print(f"\n{'page':<26} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'×base':>7} "
          f"{'cpu ms':>7} {'queries':>7} {'db ms':>7} {'KiB':>6}  url")
    for label, r in results.items():
        flag = "" if label == BASELINE or (r["p50"] < TARGET_MS and r["status"] == 200) else "  ← MISSED"
        print(f"{label:<26} {r['status']!s:>6} {r['p50']:8.1f} {r['p95']:8.1f} {r['max']:8.1f} "
              f"{r['p50'] / base:7.1f} {r['cpu']:7.1f} {r['queries']:7d} {r['db_ms']:7.1f} {r['size'] / 1024:6.0f}"
              f"  {r['url']}{flag}")
    pages = {label: r for label, r in results.items() if label != BASELINE}
    slowest = max(pages, key=lambda label: pages[label]["p50"])
    ok = all(r["status"] == 200 for r in pages.values())
    if not ok:
        print("NOT 200: " + ", ".join(f"{label} → {r['status']}" for label, r in pages.items() if r["status"] != 200))
    met = ok and pages[slowest]["p50"] < TARGET_MS
    return slowest, pages[slowest]["p50"], met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=int(os.environ.get("BENCH_SCALE", "10")))
    parser.add_argument("--repeat", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first (default 2)")
    parser.add_argument("--sqlite", action="store_true", help=f"embedded SQLite ({SQLITE_PATH}) instead of PostgreSQL")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database of the previous run (no drop, migrate or seed)")
    parser.add_argument("--only", nargs="*", help="only pages whose label contains one of these")
    parser.add_argument("--profile", nargs="*", metavar="LABEL",
                        help="profile one request of each page whose label contains LABEL, then exit")
    args = parser.parse_args()

    if args.sqlite:
        url = f"sqlite:///{SQLITE_PATH}"
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
    else:
        url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
        if not args.reuse:
            recreate_database(url)
    # LOG_LEVEL: the 404s of skipped pages are not news.
    setup_django(url, VAR_DIR=str(VAR_DIR), ALLOWED_HOSTS="testserver,localhost,127.0.0.1", LOG_LEVEL="ERROR")
    from django.db import connection

    print(f"database {connection.vendor} {url.rsplit('@', 1)[-1]}; seed_demo --scale {args.scale}; "
          f"{args.warmup} warm-up + {args.repeat} timed rounds; DEBUG off", flush=True)
    if not args.reuse:
        seconds = seed(args.scale)
        slow = "  (SLOW: more than 5 minutes)" if seconds > 300 else ""
        print(f"seed_demo --scale {args.scale}: {seconds:.1f} s{slow}")
    print(f"data: {data_sizes()}", flush=True)

    pages, skipped = resolve_pages(args.only)
    if skipped:
        print("skipped (no such URL name yet): " + "; ".join(skipped))
    if args.profile is not None:
        profile(pages, args.profile)
        return 0
    results = measure(pages, args.repeat, args.warmup)
    slowest, slowest_p50, met = report(results)
    timed = [t for label, r in results.items() if label != BASELINE for t in r["times"]]
    base = results[BASELINE]["p50"]
    print(f"\ntarget: every page's p50 < {TARGET_MS:.0f} ms, decided by the slowest page's p50 "
          f"({slowest}: {slowest_p50:.1f} ms = {slowest_p50 / base:.1f}× the login page); "
          f"p50_ms/p95_ms below are over all {len(timed)} timed page requests")
    print(f"RESULT pages p50_ms={statistics.median(timed):.1f} p95_ms={percentile(timed, 0.95):.1f} "
          f"slowest={slowest.replace(' ', '_')} slowest_p50_ms={slowest_p50:.1f} baseline_p50_ms={base:.1f} "
          f"target={'met' if met else 'missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
