"""bench/click_processing: raw clicks on PostgreSQL processed into Click rows and daily rollups
by one process calling the service the Celery task calls (tracking.services.click_processing).

Generates the raw clicks with COPY (a few organisations in different time zones, ~200 links,
~100 user agents of which ~10 % of the clicks are bots, HEAD probes, repeat visitors, self-clicks,
several referrers and channel suffixes, 90 days, arrival slightly out of order with a few late
spool drains and replayed click ids), then times processing them all. Checks at the end that the
queue is empty, that the rollups add up to the clicks processed and that they equal a recount
from the Click rows. Rerunnable: it empties its database's tables first."""

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 20_000  # clicks/s
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ambassadors_bench"

ORGS = [("bench-paris", "Europe/Paris", 0.45), ("bench-newyork", "America/New_York", 0.30),
        ("bench-tokyo", "Asia/Tokyo", 0.15), ("bench-utc", "UTC", 0.10)]
CAMPAIGNS_PER_ORG = 5
AMBASSADORS_PER_ORG = 10  # → 4 × 5 × 10 = 200 links
DAYS = 90
REFERRERS = [("", 30), ("lnkd.in", 20), ("www.linkedin.com", 10), ("t.co", 10), ("m.facebook.com", 6),
             ("l.facebook.com", 4), ("wa.me", 5), ("com.google.android.gm", 5), ("news.ycombinator.com", 2),
             ("www.google.com", 8)]
HINTS = [("", 70), ("linkedin", 12), ("x", 5), ("facebook", 4), ("email", 5), ("whatsapp", 4)]


def user_agents() -> tuple[list[str], list[str]]:
    """~90 browser user agents and 10 bots, all real-looking."""
    browsers = []
    for version in range(112, 127):
        browsers += [
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{version}.0.0.0 Safari/537.36",
            f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{version}.0.0.0 Safari/537.36",
            f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{version}.0.0.0 Mobile Safari/537.36",
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{version}.0.0.0 Safari/537.36 Edg/{version}.0.0.0",
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{version}.0) Gecko/20100101 Firefox/{version}.0",
        ]
    for ios in ("16_6", "17_0", "17_1", "17_2", "17_3", "17_4", "17_5", "18_0", "18_1", "18_2"):
        browsers += [
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Version/{ios.split('_')[0]}.0 Mobile/15E148 Safari/604.1",
            f"Mozilla/5.0 (iPad; CPU OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
        ]
    browsers += [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 [LinkedInApp]/9.29.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/21E236 [FBAN/FBIOS;FBAV/460.0.0.38.108;FBBV/590000000;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS]",
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Safari/605.1.15",
    ]
    bots = [
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Twitterbot/1.0",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "WhatsApp/2.23.20.0",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 "
        "Safari/537.36",
        "python-requests/2.32.3",
        "curl/8.5.0",
    ]
    return browsers, bots


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ["DEBUG"] = "0"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def reset_and_seed() -> dict:
    """Empty the bench database and create organisations, campaigns, ambassadors (with users and
    portal visitors for self-clicks) and links. Returns what the generator needs."""
    from django.db import connection

    from accounts.models import User
    from ambassadors.models import Ambassador
    from campaigns.models import Campaign, TrackedLink
    from tenancy.models import Organization
    from tenancy.scoping import tenant_scope
    from tracking.models import PortalVisitor

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tracking_rawclick, tracking_click, tracking_dailyclickrollup, "
                       "tenancy_organization, accounts_user RESTART IDENTITY CASCADE")
    orgs = []
    for slug, tz, share in ORGS:
        org = Organization.objects.create(name=slug.title(), slug=slug, time_zone=tz)
        links = []
        with tenant_scope(org):
            campaigns = [Campaign.objects.create(organization=org, name=f"Campaign {i}", slug=f"c{i}",
                                                 status="active", destination_url="https://www.example.com/")
                         for i in range(CAMPAIGNS_PER_ORG)]
            for a in range(AMBASSADORS_PER_ORG):
                user = User.objects.create(email=f"amb{a}@{slug}.example")
                ambassador = Ambassador.objects.create(organization=org, user=user, email=user.email,
                                                       display_name=f"Ambassador {a}", status="active")
                own_visitor = f"self{slug[-6:]}{a:04d}".ljust(22, "x")[:22]
                PortalVisitor.objects.create(user=user, visitor_id=own_visitor)
                for campaign in campaigns:
                    link = TrackedLink.objects.create(organization=org, campaign=campaign, ambassador=ambassador,
                                                      code=f"{slug[6:9]}{a:02d}{campaign.pk:04d}")
                    links.append((link.pk, own_visitor))
        orgs.append((org.pk, share, links))
    return {"orgs": orgs}


def b62(number: int, length: int = 22) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    chars = []
    for _ in range(length):
        number, rem = divmod(number, 62)
        chars.append(alphabet[rem])
    return "".join(reversed(chars))


def generate(total: int, seed_data: dict, rng: random.Random):
    """Raw click rows in arrival order: (click_id, organization_id, link_id, clicked_at, visitor_id,
    ip_hash, user_agent, referrer_host, channel_hint, is_head)."""
    browsers, bots = user_agents()
    browser_weights = [rng.paretovariate(1.2) for _ in browsers]  # a few UAs are most of the traffic
    referrers, referrer_weights = zip(*REFERRERS, strict=True)
    hints, hint_weights = zip(*HINTS, strict=True)
    org_choices = [(org_id, links) for org_id, _, links in seed_data["orgs"]]
    org_weights = [share for _, share, _ in seed_data["orgs"]]
    link_weights = {org_id: [rng.paretovariate(1.5) for _ in links] for org_id, links in org_choices}
    repeaters = [b62(rng.getrandbits(128)) for _ in range(max(1000, total // 20))]
    start = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
    span = DAYS * 86400

    def click(at, org_id, link_id, visitor, ua):
        millis = int(at * 1000)
        return [at, b62((millis << 80) | rng.getrandbits(80)), org_id, link_id, datetime.fromtimestamp(at, UTC),
                visitor, f"{rng.getrandbits(128):032x}", ua, rng.choices(referrers, referrer_weights)[0],
                rng.choices(hints, hint_weights)[0], rng.random() < 0.02]

    rows = []
    people = []
    for _ in range(total * 85 // 100):
        at = start + rng.random() * span
        org_id, links = org_choices[rng.choices(range(len(org_choices)), org_weights)[0]]
        link_id, own_visitor = rng.choices(links, link_weights[org_id])[0]
        roll = rng.random()
        if roll < 0.115:
            ua, visitor = rng.choice(bots), b62(rng.getrandbits(128))
        elif roll < 0.125:
            ua, visitor = rng.choices(browsers, browser_weights)[0], own_visitor  # the ambassador's own click
        elif roll < 0.45:
            ua, visitor = rng.choices(browsers, browser_weights)[0], rng.choice(repeaters)
        else:
            ua, visitor = rng.choices(browsers, browser_weights)[0], b62(rng.getrandbits(128))
        rows.append(click(at, org_id, link_id, visitor, ua))
        if ua not in bots:
            people.append(rows[-1])
    # The same person on the same link again, minutes to a day or two later.
    for _ in range(total - len(rows)):
        first = rng.choice(people)
        at = min(first[0] + rng.expovariate(1 / (6 * 3600)), start + span)
        rows.append(click(at, first[2], first[3], first[5], first[7]))
    # Several web processes: arrival order is time plus up to 2 s of jitter; 0.5 % arrive up
    # to 12 hours late (a spool drained after an outage); 0.1 % are replayed (same click id).
    for row in rows:
        row[0] += rng.random() * 2.0
    for row in rng.sample(rows, total // 200):
        row[0] += rng.random() * 12 * 3600
    rows.sort(key=lambda row: row[0])
    replays = [list(row) for row in rng.sample(rows, total // 1000)]
    for row in replays:
        row[0] += rng.random() * 600
    rows = sorted(rows + replays, key=lambda row: row[0])[:total]
    return [tuple(row[1:]) for row in rows]


def copy_raw_clicks(rows) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY tracking_rawclick (click_id, organization_id, link_id, clicked_at, visitor_id, ip_hash, "
            "user_agent, referrer_host, channel_hint, is_head) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute("VACUUM ANALYZE tracking_rawclick")
        cursor.execute("ANALYZE tracking_click")
        cursor.execute("ANALYZE tracking_dailyclickrollup")


def process_everything(batch_size: int, parallel: int | None = None):
    from django_scopes import scopes_disabled

    from tenancy.scoping import tenant_scope
    from tracking.services import click_processing

    totals = click_processing.RunResult()
    while True:
        with scopes_disabled():
            organization_ids = click_processing.organizations_with_pending_clicks()
        if not organization_ids:
            return totals
        for organization_id in organization_ids:  # what the dispatcher and the task do, in turn
            with tenant_scope(organization_id):
                run = click_processing.process_pending(organization_id, batch_size=batch_size, parallel=parallel)
            totals.add(run)
            totals.batches += run.batches


def check() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tracking_rawclick")
        left = cursor.fetchone()[0]
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE is_bot), count(*) FILTER (WHERE is_self), "
                       "count(*) FILTER (WHERE is_unique) FROM tracking_click")
        clicks, bots, selfs, uniques = cursor.fetchone()
        cursor.execute("SELECT coalesce(sum(total), 0), coalesce(sum(clicks), 0), coalesce(sum(unique_clicks), 0), "
                       "coalesce(sum(bot_clicks), 0), coalesce(sum(self_clicks), 0), count(*) "
                       "FROM tracking_dailyclickrollup")
        total, credited, unique, bot, self_, rollup_rows = cursor.fetchone()
        # The rollups against a recount from the Click rows, key by key.
        cursor.execute("""
            WITH recount AS (
                SELECT organization_id, campaign_id, ambassador_id, channel, day, count(*) AS total,
                       count(*) FILTER (WHERE NOT is_bot AND NOT is_self) AS clicks,
                       count(*) FILTER (WHERE NOT is_bot AND NOT is_self AND is_unique) AS unique_clicks,
                       count(*) FILTER (WHERE is_bot) AS bot_clicks,
                       count(*) FILTER (WHERE is_self AND NOT is_bot) AS self_clicks
                FROM tracking_click GROUP BY 1, 2, 3, 4, 5)
            SELECT count(*) FROM recount r FULL JOIN tracking_dailyclickrollup d USING
                (organization_id, campaign_id, ambassador_id, channel, day)
            WHERE (r.total, r.clicks, r.unique_clicks, r.bot_clicks, r.self_clicks)
                  IS DISTINCT FROM (d.total, d.clicks, d.unique_clicks, d.bot_clicks, d.self_clicks)
        """)
        mismatches = cursor.fetchone()[0]
        # Uniqueness against its definition, over each (link, visitor)'s whole timeline.
        cursor.execute("""
            WITH credited AS (
                SELECT is_unique, clicked_at,
                       lag(clicked_at) OVER (PARTITION BY link_id, visitor_id ORDER BY clicked_at, click_id) AS previous
                FROM tracking_click WHERE NOT is_bot AND NOT is_self)
            SELECT count(*) FROM credited
            WHERE is_unique <> (previous IS NULL OR clicked_at - previous >= interval '24 hours')
        """)
        wrong_unique = cursor.fetchone()[0]
    return dict(left=left, clicks=clicks, bots=bots, selfs=selfs, uniques=uniques, total=total, credited=credited,
                unique=unique, bot=bot, self=self_, rollup_rows=rollup_rows, mismatches=mismatches,
                wrong_unique=wrong_unique)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the service's BATCH_SIZE")
    parser.add_argument("--parallel", type=int, default=None,
                        help="batches in flight at once (default: the service's PARALLEL_BATCHES)")
    parser.add_argument("--seed", type=int, default=20251123)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    ensure_database(url)
    setup_django(url)
    from django.core.management import call_command

    from tracking.services import click_processing

    call_command("migrate", verbosity=0, interactive=False)
    batch_size = args.batch_size or click_processing.BATCH_SIZE
    parallel = args.parallel or click_processing.PARALLEL_BATCHES
    print(f"database {url.rsplit('@', 1)[-1]}; batch size {batch_size}; {parallel} batch(es) in flight")

    started = time.perf_counter()
    seed_data = reset_and_seed()
    rows = generate(args.clicks, seed_data, random.Random(args.seed))
    copy_raw_clicks(rows)
    links = sum(len(links) for _, _, links in seed_data["orgs"])
    print(f"generated {len(rows):,} raw clicks ({len(seed_data['orgs'])} organisations, {links} links, "
          f"{len(set(row[6] for row in rows))} user agents) in {time.perf_counter() - started:.1f} s")
    del rows

    started = time.perf_counter()
    result = process_everything(batch_size, args.parallel)
    seconds = time.perf_counter() - started
    rate = result.claimed / seconds if seconds else 0.0

    facts = check()
    print(f"processed {result.claimed:,} raw clicks in {result.batches} batches: {result.inserted:,} clicks, "
          f"{result.duplicates:,} duplicates skipped, {result.orphans:,} orphans, "
          f"{result.reclassified:,} earlier clicks made non-unique by late arrivals")
    print(f"clicks: {facts['clicks']:,} (bots {facts['bots']:,}, self {facts['selfs']:,}, unique {facts['uniques']:,})")
    ok = (facts["left"] == 0 and facts["total"] == facts["clicks"] == result.inserted
          and facts["mismatches"] == 0 and facts["unique"] == facts["uniques"] and facts["wrong_unique"] == 0)
    print(f"rollups: {facts['rollup_rows']:,} rows, sum(total) = {facts['total']:,} "
          f"{'==' if facts['total'] == result.inserted else '!='} {result.inserted:,} clicks processed; "
          f"clicks {facts['credited']:,}, unique {facts['unique']:,}, bot {facts['bot']:,}, self {facts['self']:,}; "
          f"keys differing from a recount of the Click rows: {facts['mismatches']}; clicks whose uniqueness "
          f"differs from a recount over each visitor's timeline: {facts['wrong_unique']}; raw left: {facts['left']}"
          f" → {'OK' if ok else 'MISMATCH'}")
    print(f"{result.claimed:,} clicks in {seconds:.2f} s = {rate:,.0f} clicks/s (target {TARGET:,})")
    met = ok and rate >= TARGET
    print(f"RESULT click_processing clicks={result.claimed} seconds={seconds:.2f} clicks_per_s={rate:.0f} "
          f"target={'met' if met else 'missed'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
