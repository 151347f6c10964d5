"""Data for bench/attribution: one organisation (ORM), then clicks, leads and sales with COPY.

Deterministic for a seed. The shape, at scale 1:

* ~500 active ambassadors (an Ambassador row with an e-mail, no user) over 4 campaigns; each
  ambassador has links for 2-4 of them (~1,500 TrackedLinks). A few ambassadors get most of
  the traffic (Pareto weights).
* 1,000,000 Click rows over the last 120 days, in time order (ids grow with time, as in
  production): ~344,000 human visitors clicking 1-8 times each (skewed towards 1), mostly on
  the same ambassador's links, sometimes on other ambassadors'; ~1 % of the human clicks are
  self-clicks; ~5 % of all clicks are bots (link previews, fresh visitor each, some HEADs).
* 100,000 customers (leads), ids in first_lead_at order: 75 % with a visitor who clicked in
  the 30 days before the lead (the lead lands 0-29 days after one of the visitor's clicks, so
  some of the visitor's clicks come after it and must not count), 5 % whose visitor's clicks
  are all older than the window, 20 % direct (no visitor, no click id). Of the visitor leads,
  7 % carry only the click id (visitor_id null: the service resolves it). 60 % have an e-mail
  hash; ~0.2 % are an ambassador's own e-mail (self-referral: no credit).
* 30,000 sales, 8 % of them a customer's second sale, amounts 10.00-5,000.00 (log-uniform),
  days to months after the lead; 1 % refunded.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import itertools
import math
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from _common import BROWSERS, REFERRER_OF  # the benches' shared visitor mix

ORG_SLUG = "bench-attribution"
TIME_ZONE = "Europe/Paris"
CURRENCY = "EUR"
END = datetime(2025, 6, 1, tzinfo=UTC)  # fixed: the data (and every click id's time) is in the past
DAYS = 120
CAMPAIGNS = ["Spring launch", "Customer stories", "Hiring 2025", "Webinar series"]
CLICKS_PER_VISITOR = [0.34, 0.20, 0.14, 0.10, 0.08, 0.06, 0.05, 0.03]  # 1..8 clicks, mean ≈ 2.91
BOT_SHARE = 0.05
SELF_SHARE = 0.01
WINDOW = timedelta(days=30)
HOUR = 3600.0
DAY = 86400.0

CHANNELS = [("linkedin", 40), ("direct", 25), ("x", 10), ("email", 10), ("facebook", 8), ("whatsapp", 7)]
BOTS = [  # (user agent, bot_reason)
    ("LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", "ua:linkedinbot"),
    ("Twitterbot/1.0", "ua:twitterbot"),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "ua:facebookexternalhit"),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "ua:slackbot"),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "ua:googlebot"),
    ("python-requests/2.32.3", "ua:python-requests"),
]

CLICK_COLUMNS = ("click_id", "organization_id", "link_id", "campaign_id", "ambassador_id", "clicked_at", "day",
                 "visitor_id", "ip_hash", "user_agent", "referrer_host", "channel", "is_head", "is_bot",
                 "bot_reason", "is_self", "is_unique", "device", "browser", "os")
CUSTOMER_COLUMNS = ("id", "organization_id", "public_id", "external_id", "email_hash", "name", "visitor_id",
                    "first_click_id", "first_lead_at", "last_lead_at", "metadata", "created_at", "updated_at",
                    "attributed_at")
SALE_COLUMNS = ("id", "organization_id", "public_id", "invoice_id", "customer_id", "customer_external_id",
                "amount", "currency", "occurred_at", "status", "refunded_at", "created_at", "attributed_at")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw)[:22].decode()


def click_id(rng: random.Random, at: float) -> str:
    """As tracking.ids.new_click_id: 48 bits of milliseconds, then 80 random bits."""
    return _b64(int(at * 1000).to_bytes(6, "big") + rng.randbytes(10))


def _pick(rng: random.Random, items, cumulative):
    """rng.choices(items, cum_weights=cumulative)[0], without its per-call overhead."""
    return items[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


def email_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def seed_organization(rng: random.Random, ambassadors: int) -> dict:
    """The organisation, its campaigns, ambassadors and links, through the ORM."""
    from ambassadors.models import Ambassador, Kind, Status
    from campaigns.models import Campaign, TrackedLink
    from tenancy.models import Organization
    from tenancy.scoping import tenant_scope

    org = Organization.objects.create(name="Bench Attribution", slug=ORG_SLUG, time_zone=TIME_ZONE, currency=CURRENCY)
    with tenant_scope(org):
        campaigns = [Campaign.objects.create(organization=org, name=name, slug=f"c{i}", status="active",
                                             destination_url="https://www.example.com/")
                     for i, name in enumerate(CAMPAIGNS)]
        Ambassador.objects.bulk_create(
            Ambassador(organization=org, email=f"ambassador{i:04d}@bench-attribution.example",
                       display_name=f"Ambassador {i:04d}", kind=Kind.INTERNAL if i % 3 else Kind.EXTERNAL,
                       status=Status.ACTIVE, joined_at=END - timedelta(days=200))
            for i in range(ambassadors))
        people = list(Ambassador.objects.filter(organization=org).order_by("id"))
        links = []
        for person in people:
            for campaign in rng.sample(campaigns, rng.randint(2, len(campaigns))):
                links.append(TrackedLink(organization=org, campaign=campaign, ambassador=person,
                                         code=f"ba{len(links):06d}"))
        TrackedLink.objects.bulk_create(links)
        rows = list(TrackedLink.objects.filter(organization=org).order_by("id")
                    .values_list("id", "campaign_id", "ambassador_id"))
    return {"org_id": org.pk, "links": rows, "ambassador_emails": [p.email for p in people]}


def generate(rng: random.Random, seed: dict, clicks: int, leads: int, sales: int):
    """(click rows in time order, customer rows, sale rows), ready for COPY."""
    org_id = seed["org_id"]
    tz = ZoneInfo(TIME_ZONE)
    links = seed["links"]
    link_weights = list(itertools.accumulate(rng.paretovariate(1.3) for _ in links))
    by_ambassador: dict[int, list[tuple[int, int, int]]] = {}
    for link in links:
        by_ambassador.setdefault(link[2], []).append(link)
    browsers = [b[:4] for b in BROWSERS]
    browser_weights = list(itertools.accumulate(b[4] for b in BROWSERS))
    channels = [c[0] for c in CHANNELS]
    channel_weights = list(itertools.accumulate(c[1] for c in CHANNELS))
    end = END.timestamp()
    start = end - DAYS * DAY

    # Humans: visitor by visitor, a sequence of clicks days apart.
    human_target = round(clicks * (1 - BOT_SHARE))
    raw = []  # (at, click_id, link, visitor_id, ip_hash, browser, channel, is_self, is_unique)
    visitors = []  # per visitor: [(at, click_id, is_self), ...] oldest first
    counts = range(1, len(CLICKS_PER_VISITOR) + 1)
    count_weights = list(itertools.accumulate(CLICKS_PER_VISITOR))
    while len(raw) < human_target:
        n = min(_pick(rng, counts, count_weights), human_target - len(raw))
        gaps = [rng.expovariate(1 / (4 * DAY)) if rng.random() < 0.7 else rng.expovariate(1 / (2 * HOUR))
                for _ in range(n - 1)]
        span = sum(gaps)
        if span > 0.9 * DAYS * DAY:
            gaps = [g * 0.9 * DAYS * DAY / span for g in gaps]
            span = 0.9 * DAYS * DAY
        at = start + rng.random() * (DAYS * DAY - span)
        visitor = _b64(rng.randbytes(16))
        ip = rng.randbytes(16).hex()
        browser = _pick(rng, browsers, browser_weights)
        link = _pick(rng, links, link_weights)
        last_on_link: dict[int, float] = {}
        timeline = []
        for i in range(n):
            if i:
                at += gaps[i - 1]
                roll = rng.random()
                if roll < 0.25:  # the same ambassador, another campaign
                    link = rng.choice(by_ambassador[link[2]])
                elif roll < 0.55:  # another ambassador's post
                    link = _pick(rng, links, link_weights)
            cid = click_id(rng, at)
            is_self = rng.random() < SELF_SHARE
            unique = False
            if not is_self:
                previous = last_on_link.get(link[0])
                unique = previous is None or at - previous >= DAY
                last_on_link[link[0]] = at
            raw.append((at, cid, link, visitor, ip, browser, _pick(rng, channels, channel_weights), is_self,
                        unique))
            timeline.append((at, cid, is_self))
        visitors.append((visitor, timeline))

    # Bots: link previews and probes, a fresh visitor each (no cookie), never unique.
    bot_rows = []
    for _ in range(clicks - len(raw)):
        at = start + rng.random() * DAYS * DAY
        ua, reason = rng.choice(BOTS)
        bot_rows.append((at, click_id(rng, at), _pick(rng, links, link_weights), _b64(rng.randbytes(16)),
                         rng.randbytes(16).hex(), ua, reason, rng.random() < 0.3))

    click_rows = []
    for at, cid, link, visitor, ip, (ua, device, browser, os_), channel, is_self, unique in raw:
        when = datetime.fromtimestamp(at, UTC)
        click_rows.append((at, (cid, org_id, link[0], link[1], link[2], when, when.astimezone(tz).date(), visitor,
                                ip, ua, rng.choice(REFERRER_OF[channel]), channel, False, False, "", is_self,
                                unique, device, browser, os_)))
    for at, cid, link, visitor, ip, ua, reason, head in bot_rows:
        when = datetime.fromtimestamp(at, UTC)
        click_rows.append((at, (cid, org_id, link[0], link[1], link[2], when, when.astimezone(tz).date(), visitor,
                                ip, ua, "", "direct", head, True, reason, False, False, "", "", "")))
    click_rows.sort(key=lambda row: row[0])
    click_rows = [row for _, row in click_rows]
    del raw, bot_rows

    # Leads.
    ambassador_hashes = [email_hash(e) for e in seed["ambassador_emails"]]
    n_visitor = round(leads * 0.80)
    n_old = round(leads * 0.05)
    chosen = rng.sample(range(len(visitors)), n_visitor)
    people = []  # (first_lead_at, visitor_id, first_click_id)
    for k, index in enumerate(chosen):
        visitor, timeline = visitors[index]
        if k < n_old:  # every click older than the window
            lead_at = timeline[-1][0] + WINDOW.total_seconds() + rng.uniform(1 * HOUR, 60 * DAY)
            people.append((lead_at, visitor, None))
            continue
        at, cid, _ = rng.choice(timeline)
        lead_at = at + min(rng.expovariate(1 / (2 * DAY)), 29 * DAY) + rng.uniform(5, 600)
        people.append((lead_at, None if rng.random() < 0.07 else visitor, cid))
    for _ in range(leads - n_visitor):
        people.append((start + rng.random() * (DAYS + 20) * DAY, None, None))
    people.sort(key=lambda person: person[0])
    customer_rows = []
    for n, (lead_at, visitor, cid) in enumerate(people, start=1):
        when = datetime.fromtimestamp(lead_at, UTC)
        roll = rng.random()
        if roll < 0.002:
            hashed = rng.choice(ambassador_hashes)  # an ambassador signing up through their own link
        elif roll < 0.60:
            hashed = email_hash(f"lead{n:07d}@customer.example")
        else:
            hashed = None
        customer_rows.append((n, org_id, uuid.UUID(int=rng.getrandbits(128), version=4), f"cus_{n:07d}", hashed,
                              f"Lead {n}" if rng.random() < 0.5 else "", visitor, cid, when, when, "{}", when,
                              when, None))

    # Sales.
    repeat = round(sales * 0.08)
    buyers = rng.sample(range(len(customer_rows)), sales - repeat)
    sale_facts = []  # (occurred_at, customer index)
    for index in buyers:
        sale_facts.append((people[index][0] + rng.uniform(HOUR, 3 * DAY) + rng.expovariate(1 / (25 * DAY)), index))
    for occurred, index in rng.sample(sale_facts, repeat):
        sale_facts.append((occurred + rng.uniform(DAY, 10 * DAY) + rng.expovariate(1 / (40 * DAY)), index))
    sale_facts.sort()
    refunded = set(rng.sample(range(len(sale_facts)), round(sales * 0.01)))
    sale_rows = []
    low, high = math.log(10.0), math.log(5000.0)
    for n, (occurred, index) in enumerate(sale_facts, start=1):
        when = datetime.fromtimestamp(occurred, UTC)
        amount = Decimal(f"{min(5000.0, max(10.0, math.exp(rng.uniform(low, high)))):.2f}")
        customer = customer_rows[index]
        status, refunded_at = "paid", None
        if n - 1 in refunded:
            status, refunded_at = "refunded", when + timedelta(days=rng.uniform(1, 30))
        sale_rows.append((n, org_id, uuid.UUID(int=rng.getrandbits(128), version=4), f"inv_{n:07d}", customer[0],
                          customer[3], amount, CURRENCY, when, status, refunded_at, when, None))
    return click_rows, customer_rows, sale_rows, len(visitors)


def copy_rows(table: str, columns: tuple[str, ...], rows) -> float:
    """COPY the rows in. The table's plain indexes (not those backing a constraint) are dropped
    first and built again afterwards, the usual bulk-load practice (one sort per index instead
    of a million random inserts into each): the schema ends up exactly as migrated. Returns the
    seconds spent rebuilding indexes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                       "AND tablename = %s AND indexname NOT IN (SELECT conname FROM pg_constraint "
                       "WHERE conrelid = %s::regclass) ORDER BY indexname", [table, table])
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        started = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("RESET maintenance_work_mem")
        return time.perf_counter() - started


def finish_load() -> None:
    """Identity sequences past the explicit ids, then VACUUM ANALYZE (as autovacuum would)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("tracking_customer", "tracking_sale"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - constant
                           f"(SELECT coalesce(max(id), 1) FROM {table}))")
        for table in ("tracking_click", "tracking_customer", "tracking_sale", "tracking_credit"):
            cursor.execute(f"VACUUM ANALYZE {table}")
