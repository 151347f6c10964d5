"""Data for bench/reports: one organisation (ORM), then shares, clicks, leads, sales and credits
with COPY, then the two daily rollups with INSERT … SELECT … GROUP BY.

Deterministic for a seed (and a "today"). The shape, at scale 1:

* One organisation in Europe/Berlin (EUR); ~1,000 ambassadors (60 % internal with an hourly
  rate, 40 % external, a few paused or removed), 5 groups; 20 campaigns over the last 365 days
  (some all year, some starting or ending during it) with minutes per share, monthly media
  costs and a production cost; a TrackedLink per (campaign, targeted ambassador).
* ~200,000 share events; 10,000,000 clicks in time order (ids grow with time, as in
  production), more on weekdays and growing over the year, a few ambassadors and campaigns
  getting most of them (Pareto weights): ~5 % bots, ~1 % self-clicks, ~70 % of the rest unique.
  `day` is the local date of clicked_at.
* 700,000 leads (customers) and 300,000 sales (8 % of them repeat purchases, 1 % refunded: no
  credits). Each lead has 1-3 touches (links); credits of version 1 under all five models:
  first/last touch give the whole to one touch, linear / time decay / position based split it.
  A lead's shares add up to exactly 1.0000 per model, a paid sale's amounts to its amount, and
  a paying customer gets "customer" credits (the lead's split) dated by its first paid sale.
  Each touch has a channel (the clicks' mix), which its credits keep (Credit.channel).

Parameters for bigger programmes (bench/reports_enterprise): seed_organization's link_share
(not every ambassador has a link to every campaign) and click_plan / click_select's slot_count
(more weighted slots, so light links get clicks too). roll_up() also fills the channel rollups
(DailyChannelClicks, DailyChannelCredits).
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from _common import BROWSERS, REFERRER_OF  # the benches' shared visitor mix

ORG_SLUG = "bench-reports"
TIME_ZONE = "Europe/Berlin"
CURRENCY = "EUR"
DAYS = 365
MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
GROUPS = [("Sales team", "internal"), ("Engineering", "internal"), ("Partners", "external"),
          ("Customers EU", "external"), ("Creators", "external")]
CHANNELS = [("linkedin", 40), ("direct", 22), ("x", 10), ("email", 12), ("facebook", 8), ("whatsapp", 8)]
SHARE_CHANNELS = [("linkedin", 50), ("x", 15), ("email", 15), ("facebook", 10), ("whatsapp", 10)]
BOTS = [("LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", "ua:linkedinbot"),
        ("Twitterbot/1.0", "ua:twitterbot"),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "ua:facebookexternalhit"),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "ua:slackbot"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "ua:googlebot")]
BOT_SHARE = 0.05
SELF_SHARE = 0.01
UNIQUE_SHARE = 0.70
# Split weights of the models that share a conversion between its n touches (oldest first).
TIME_DECAY = {1: (1,), 2: (35, 65), 3: (20, 30, 50)}
POSITION = {1: (1,), 2: (50, 50), 3: (40, 20, 40)}
TOUCHES = [1, 2, 3]
TOUCH_WEIGHTS = [60, 28, 12]

CLICK_COLUMNS = ("click_id", "organization_id", "link_id", "campaign_id", "ambassador_id", "clicked_at", "day",
                 "visitor_id", "ip_hash", "user_agent", "referrer_host", "channel", "is_head", "is_bot",
                 "bot_reason", "is_self", "is_unique", "device", "browser", "os")
SHARE_COLUMNS = ("organization_id", "link_id", "campaign_id", "ambassador_id", "channel", "shared_at", "edited")
CUSTOMER_COLUMNS = ("id", "organization_id", "public_id", "external_id", "email_hash", "name", "visitor_id",
                    "first_click_id", "first_lead_at", "last_lead_at", "metadata", "created_at", "updated_at",
                    "attributed_at")
SALE_COLUMNS = ("id", "organization_id", "public_id", "invoice_id", "customer_id", "customer_external_id",
                "amount", "currency", "occurred_at", "status", "refunded_at", "created_at", "attributed_at")
CREDIT_COLUMNS = ("organization_id", "kind", "customer_id", "sale_id", "model", "ambassador_id", "link_id",
                  "campaign_id", "amount", "lead_share", "converted_at", "version", "channel")
NULL = "\\N"


def _cumulative(weights) -> list[float]:
    return list(itertools.accumulate(weights))


def _pick(rng: random.Random, items, cumulative):
    """rng.choices(items, cum_weights=cumulative)[0], without its per-call overhead."""
    return items[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(sep=" ")


def _spread(rng: random.Random, total: int, days: int) -> list[int]:
    """`total` split over the days: growing over the year, quieter at weekends, some noise;
    largest remainders so the counts add up exactly."""
    weights = [(1 + 0.8 * d / days) * rng.lognormvariate(0, 0.15) for d in range(days)]
    raw = [total * w / sum(weights) for w in weights]
    counts = [int(x) for x in raw]
    for d in sorted(range(days), key=lambda d: counts[d] - raw[d])[:total - sum(counts)]:
        counts[d] += 1
    return counts


class Calendar:
    """The DAYS local days ending today: each day's UTC bounds in the organisation's zone."""

    def __init__(self, today: date, tz: ZoneInfo):
        self.tz = tz
        self.days = [today - timedelta(days=DAYS - 1 - d) for d in range(DAYS)]
        self.starts = [datetime.combine(day, dtime.min, tz).timestamp() for day in self.days]
        self.starts.append(datetime.combine(today + timedelta(days=1), dtime.min, tz).timestamp())

    def weekday_factor(self, d: int) -> float:
        return 0.55 if self.days[d].weekday() >= 5 else 1.0

    def bounds(self, d: int) -> tuple[float, float]:
        return self.starts[d], self.starts[d + 1]


def seed_organization(rng: random.Random, ambassadors: int, campaigns: int, today: date, *,
                      link_share: float = 1.0) -> dict:
    """The organisation, groups, ambassadors, campaigns, links, costs and settings, via the ORM.
    `link_share`: the fraction of (campaign, targeted ambassador) pairs that have a link (an
    enterprise programme's ambassador takes up a few of its many campaigns); 1: every pair."""
    from decimal import Decimal

    from ambassadors.models import Ambassador, AmbassadorGroup, Kind, Status
    from campaigns.models import Campaign, CampaignCost, CostCategory, TrackedLink
    from reports.models import PointsRules
    from tenancy.models import Organization
    from tenancy.scoping import tenant_scope
    from tracking.models import AttributionSettings

    tz = ZoneInfo(TIME_ZONE)
    org = Organization.objects.create(name="Bench Reports", slug=ORG_SLUG, time_zone=TIME_ZONE, currency=CURRENCY)
    first_day = today - timedelta(days=DAYS - 1)
    with tenant_scope(org):
        PointsRules.objects.create(organization=org)
        AttributionSettings.objects.create(organization=org)
        groups = [AmbassadorGroup.objects.create(organization=org, name=name) for name, _ in GROUPS]
        people = []
        for i in range(ambassadors):
            internal = rng.random() < 0.6
            roll = rng.random()
            status = Status.REMOVED if roll < 0.02 else Status.PAUSED if roll < 0.05 else Status.ACTIVE
            rate = Decimal(rng.randrange(3000, 12001, 50)) / 100 if internal else \
                (Decimal(rng.randrange(0, 6001, 100)) / 100 if rng.random() < 0.3 else Decimal("0.00"))
            people.append(Ambassador(
                organization=org, public_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                email=f"ambassador{i:05d}@bench-reports.example", display_name=f"Ambassador {i:05d}",
                kind=Kind.INTERNAL if internal else Kind.EXTERNAL, status=status, hourly_rate=rate,
                joined_at=datetime.combine(first_day, dtime.min, tz) - timedelta(days=rng.randint(1, 400))))
        Ambassador.objects.bulk_create(people)
        people = list(Ambassador.objects.filter(organization=org).order_by("id"))
        membership = {}
        through = Ambassador.groups.through
        rows = []
        for person in people:
            kind_groups = [g for g, (_, kind) in zip(groups, GROUPS, strict=True) if kind == person.kind]
            mine = rng.sample(kind_groups, rng.choice([0, 1, 1, 1, 2]) if len(kind_groups) > 1 else 1)
            membership[person.pk] = {g.pk for g in mine}
            rows += [through(ambassador_id=person.pk, ambassadorgroup_id=g.pk) for g in mine]
        through.objects.bulk_create(rows)

        made = []
        for i in range(campaigns):
            if i < campaigns // 2:  # half run all year and still do
                start, end = 0, DAYS - 1
            else:
                start = rng.randint(0, DAYS - 90)
                end = DAYS - 1 if rng.random() < 0.5 else min(DAYS - 1, start + rng.randint(60, 200))
            campaign = Campaign.objects.create(
                organization=org, name=f"Campaign {i:02d}", slug=f"campaign-{i:02d}", status="active",
                destination_url=f"https://www.example.com/c{i}",
                minutes_per_share=Decimal(rng.choice([2, 3, 5, 5, 8, 10, 15])),
                starts_at=datetime.combine(first_day + timedelta(days=start), dtime.min, tz))
            targets = rng.sample(groups, rng.randint(1, 2)) if i % 5 == 4 else []
            if targets:
                campaign.target_groups.set(targets)
            made.append((campaign, start, end, {g.pk for g in targets}))

        costs = []
        for campaign, start, end, _ in made:
            costs.append(CampaignCost(organization=org, campaign=campaign, date=first_day + timedelta(days=start),
                                      category=CostCategory.PRODUCTION, public_id=uuid.UUID(int=rng.getrandbits(128),
                                                                                            version=4),
                                      amount=Decimal(rng.randrange(100000, 1500001)) / 100))
            for d in range(start, end + 1):
                day = first_day + timedelta(days=d)
                if day.day == 1 or d == start:
                    costs.append(CampaignCost(organization=org, campaign=campaign, date=day,
                                              category=CostCategory.MEDIA, note="Monthly promotion",
                                              public_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                                              amount=Decimal(rng.randrange(50000, 600001)) / 100))
        CampaignCost.objects.bulk_create(costs)

        links = []
        for campaign, _, _, targets in made:
            for person in people:
                if (not targets or membership[person.pk] & targets) and (link_share >= 1
                                                                        or rng.random() < link_share):
                    links.append(TrackedLink(organization=org, campaign=campaign, ambassador=person,
                                             code=f"br{len(links):07d}"))
        TrackedLink.objects.bulk_create(links, batch_size=2000)
        link_rows = list(TrackedLink.objects.filter(organization=org).order_by("id")
                         .values_list("id", "campaign_id", "ambassador_id"))
    return {"org_id": org.pk, "links": link_rows, "ambassadors": [p.pk for p in people],
            "campaigns": [(c.pk, start, end) for c, start, end, _ in made], "costs": len(costs),
            "groups": len(groups)}


class Traffic:
    """Which links are live on a day, and how likely each is to be shared, clicked, converted."""

    def __init__(self, rng: random.Random, seed: dict):
        ambassador_weight = {a: rng.paretovariate(1.2) for a in seed["ambassadors"]}
        campaign_weight = {c: rng.paretovariate(2.0) for c, _, _ in seed["campaigns"]}
        self.span = {c: (start, end) for c, start, end in seed["campaigns"]}
        self.links = seed["links"]
        self.weight = [ambassador_weight[a] * campaign_weight[c] for _, c, a in self.links]
        self._cache: dict[tuple, tuple[list, list]] = {}

    def live(self, d: int) -> tuple[list, list]:
        """(links, cumulative weights) of the campaigns running on day d."""
        key = tuple(sorted(c for c, (start, end) in self.span.items() if start <= d <= end))
        if key not in self._cache:
            running = set(key)
            chosen = [(link, w) for link, w in zip(self.links, self.weight, strict=True) if link[1] in running]
            self._cache[key] = ([link for link, _ in chosen], _cumulative(w for _, w in chosen))
        return self._cache[key]


def share_lines(rng: random.Random, org_id: int, calendar: Calendar, traffic: Traffic, total: int):
    """ShareEvent rows as COPY text, one day at a time."""
    channels = [c for c, _ in SHARE_CHANNELS]
    channel_weights = _cumulative(w for _, w in SHARE_CHANNELS)
    for d, count in enumerate(_spread(rng, total, DAYS)):
        links, weights = traffic.live(d)
        start, end = calendar.bounds(d)
        out = []
        for at in sorted(start + rng.random() * (end - start) for _ in range(count)):
            link_id, campaign_id, ambassador_id = _pick(rng, links, weights)
            out.append(f"{org_id}\t{link_id}\t{campaign_id}\t{ambassador_id}\t"
                       f"{_pick(rng, channels, channel_weights)}\t{_ts(at)}\tf\n")
        yield "".join(out)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _array(values) -> str:
    return "ARRAY[" + ", ".join(_lit(v) for v in values) + "]::text[]"


def _case(variable: str, choices: list[tuple[str, float]]) -> str:
    """SQL CASE picking a choice by a uniform [0, 1) variable, by weight."""
    total = sum(w for _, w in choices)
    parts, cumulative = [], 0.0
    for value, weight in choices[:-1]:
        cumulative += weight / total
        parts.append(f"WHEN {variable} < {cumulative!r} THEN {value}")
    return f"CASE {' '.join(parts)} ELSE {choices[-1][0]} END"


SLOTS = 32_768


def click_plan(rng: random.Random, calendar: Calendar, traffic: Traffic, total: int,
               slot_count: int = SLOTS) -> tuple[list[str], list[str]]:
    """COPY text of the two scratch tables the click generator reads: bench_day (clicks per
    local day, its UTC start, its length, its live links) and bench_slot (per set of live
    campaigns, `slot_count` slots shared out by the links' weights: a uniform slot is a weighted link;
    more slots let more of the light links get clicks; pass the same number to click_select)."""
    days, slots, sets = [], [], {}
    for d, count in enumerate(_spread(rng, total, DAYS)):
        links, weights = traffic.live(d)
        if id(links) not in sets:
            set_id = sets[id(links)] = len(sets) + 1
            for slot in range(slot_count):
                link_id, campaign_id, ambassador_id = links[bisect.bisect_right(weights, (slot + 0.5) / slot_count
                                                                                * weights[-1])]
                slots.append(f"{set_id}\t{slot}\t{link_id}\t{campaign_id}\t{ambassador_id}\n")
        set_id = sets[id(links)]
        start, end = calendar.bounds(d)
        days.append(f"{d}\t{calendar.days[d].isoformat()}\t{_ts(start)}\t{end - start}\t{count}\t{set_id}\n")
    return days, slots


def click_select(org_id: int, slot_count: int = SLOTS) -> str:
    """The SELECT generating every click from bench_day and bench_slot, in time order within
    each day (stratified: the i-th of n clicks of a day falls in the i-th n-th of it)."""
    channel = _case("r.ch", [(_lit(c), w) for c, w in CHANNELS])
    browser = _case("r.br", [(str(i + 1), b[4]) for i, b in enumerate(BROWSERS)])
    referrer = "CASE g.channel " + " ".join(
        f"WHEN {_lit(c)} THEN ({_array(hosts)})[1 + floor(g.rf * {len(hosts)})::int]"
        for c, hosts in REFERRER_OF.items()) + " END"
    uas, devices, names, systems = (_array(b[i] for b in BROWSERS) for i in range(4))
    bot_uas, bot_reasons = _array(b[0] for b in BOTS), _array(b[1] for b in BOTS)
    pool = 50_000
    return f"""
        SELECT lpad(to_hex((extract(epoch FROM g.at) * 1000)::bigint), 11, '0')
                 || lpad(to_hex(floor(random() * 17592186044416)::bigint), 11, '0') AS click_id,
               {org_id} AS organization_id, s.link_id, s.campaign_id, s.ambassador_id, g.at AS clicked_at, g.day,
               CASE WHEN g.bot OR g.fresh THEN left(md5(random()::text), 22)
                    WHEN g.self THEN 'self' || lpad(s.ambassador_id::text, 18, '0')
                    ELSE 'r' || lpad(floor(random() * {pool})::text, 21, '0') END AS visitor_id,
               md5(random()::text) AS ip_hash,
               CASE WHEN g.bot THEN ({bot_uas})[g.bi] ELSE ({uas})[g.b] END AS user_agent,
               CASE WHEN g.bot THEN '' ELSE {referrer} END AS referrer_host,
               CASE WHEN g.bot THEN 'direct' ELSE g.channel END AS channel,
               g.bot AND g.rf < 0.3 AS is_head, g.bot AS is_bot,
               CASE WHEN g.bot THEN ({bot_reasons})[g.bi] ELSE '' END AS bot_reason,
               g.self AND NOT g.bot AS is_self, g.fresh AND NOT g.bot AND NOT g.self AS is_unique,
               CASE WHEN g.bot THEN '' ELSE ({devices})[g.b] END AS device,
               CASE WHEN g.bot THEN '' ELSE ({names})[g.b] END AS browser,
               CASE WHEN g.bot THEN '' ELSE ({systems})[g.b] END AS os
        FROM (SELECT d.day, d.set_id, d.start_at + ((i - 1 + random()) / d.n * d.seconds) * interval '1 second' AS at,
                     r.roll < {BOT_SHARE!r} AS bot,
                     r.roll >= {BOT_SHARE!r} AND r.roll < {BOT_SHARE + SELF_SHARE!r} AS self,
                     random() < {UNIQUE_SHARE!r} AS fresh, floor(random() * {slot_count})::int AS slot,
                     1 + floor(random() * {len(BOTS)})::int AS bi, {browser} AS b, {channel} AS channel,
                     random() AS rf
              FROM bench_day d CROSS JOIN LATERAL generate_series(1, d.n) AS i
                   CROSS JOIN LATERAL (SELECT random() AS roll, random() AS ch, random() AS br, i AS k) r
              OFFSET 0) g
        JOIN bench_slot s ON s.set_id = g.set_id AND s.slot = g.slot
    """  # noqa: S608 - built from the module's constants


def weight_rows() -> list[str]:
    """bench_weight: (model, touches, position, weight, weights of positions 1 and 2, sum of the
    weights) for the credit generator; first/last touch give everything to one position."""
    rows = []
    for n in TOUCHES:
        for model in MODELS:
            weights = {"first_touch": [1] + [0] * (n - 1), "last_touch": [0] * (n - 1) + [1], "linear": [1] * n,
                       "time_decay": list(TIME_DECAY[n]), "position_based": list(POSITION[n])}[model]
            padded = weights + [0, 0]
            for pos, weight in enumerate(weights, start=1):
                rows.append(f"{model}\t{n}\t{pos}\t{weight}\t{padded[0]}\t{padded[1]}\t{sum(weights)}\n")
    return rows


def credit_select(org_id: int) -> str:
    """The SELECT generating every credit (version 1, all five models) from the customers, the
    paid sales and bench_touch / bench_weight. Each touch gets units × weight / sum, floored;
    the last touch gets the rest, so a lead's shares add up to exactly 1.0000 per model and a
    sale's amounts to its amount. Conversions in time order."""
    return f"""
        WITH events AS (
            SELECT 'lead'::text AS kind, c.id AS customer_id, NULL::bigint AS sale_id, 10000::bigint AS units,
                   c.first_lead_at AS at
            FROM tracking_customer c WHERE c.organization_id = {org_id}
            UNION ALL
            SELECT 'sale', s.customer_id, s.id, (s.amount * 100)::bigint, s.occurred_at
            FROM tracking_sale s WHERE s.organization_id = {org_id} AND s.status = 'paid'
            UNION ALL
            SELECT 'customer', f.customer_id, f.id, 10000, f.occurred_at
            FROM (SELECT DISTINCT ON (customer_id) customer_id, id, occurred_at FROM tracking_sale
                  WHERE organization_id = {org_id} AND status = 'paid' ORDER BY customer_id, occurred_at, id) f
        )
        SELECT {org_id} AS organization_id, x.kind, x.customer_id, x.sale_id, x.model, x.ambassador_id, x.link_id,
               x.campaign_id, x.channel,
               CASE WHEN x.kind = 'sale' THEN x.part / 100.0 ELSE 0 END AS amount,
               CASE WHEN x.kind = 'sale' THEN 0 ELSE x.part / 10000.0 END AS lead_share,
               x.at AS converted_at, 1 AS version
        FROM (SELECT e.kind, e.customer_id, e.sale_id, e.at, w.model, w.w, t.ambassador_id, t.link_id, t.campaign_id,
                     t.channel,
                     CASE WHEN t.pos < t.n THEN e.units * w.w / w.wsum
                          ELSE e.units - CASE WHEN t.n > 1 THEN e.units * w.w1 / w.wsum ELSE 0 END
                                       - CASE WHEN t.n > 2 THEN e.units * w.w2 / w.wsum ELSE 0 END END AS part
              FROM (SELECT * FROM events ORDER BY at) e
              JOIN bench_touch t ON t.customer_id = e.customer_id
              JOIN bench_weight w ON w.n = t.n AND w.pos = t.pos) x
        WHERE x.w > 0
    """  # noqa: S608 - built from the module's constants


SCRATCH = {
    "bench_day": "d int, day date, start_at timestamptz, seconds float8, n int, set_id int",
    "bench_slot": "set_id int, slot int, link_id bigint, campaign_id bigint, ambassador_id bigint, "
                  "PRIMARY KEY (set_id, slot)",
    "bench_touch": "customer_id bigint, n int, pos int, link_id bigint, campaign_id bigint, ambassador_id bigint, "
                   "channel text",
    "bench_weight": "model text, n int, pos int, w int, w1 int, w2 int, wsum int",
}


def scratch(table: str, lines: list[str]) -> None:
    """An unlogged scratch table the generators read, filled with COPY."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE UNLOGGED TABLE {table} ({SCRATCH[table]})")
        with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
            for start in range(0, len(lines), 50_000):
                copy.write("".join(lines[start:start + 50_000]))
        cursor.execute(f"ANALYZE {table}")


def drop_scratch() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in SCRATCH:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def conversions(rng: random.Random, org_id: int, calendar: Calendar, traffic: Traffic, leads: int, sales: int):
    """(customer rows, sale rows, touch rows, paying customers): COPY text. Customer and sale
    ids are explicit and grow with time; a touch row is (customer id, touches, position, link,
    campaign, ambassador), read by credit_select()."""
    end_all = calendar.starts[-1]
    customers = []  # (id, at, touches)
    for d, count in enumerate(_spread(rng, leads, DAYS)):
        links, weights = traffic.live(d)
        start, end = calendar.bounds(d)
        for at in sorted(start + rng.random() * (end - start) for _ in range(count)):
            n = _pick(rng, TOUCHES, _cumulative(TOUCH_WEIGHTS))
            touches = []
            while len(touches) < n:
                link = _pick(rng, links, weights)
                if link not in touches:
                    touches.append(link)
            customers.append((len(customers) + 1, at, tuple(touches)))

    repeat = round(sales * 0.08)
    buyers = rng.sample(range(len(customers)), sales - repeat)
    facts = []
    for index in buyers:
        at = customers[index][1]
        delay = rng.expovariate(1 / (20 * 86400)) + rng.uniform(3600, 86400)
        facts.append((at + delay if at + delay < end_all else at + rng.random() * (end_all - at), index))
    for first_at, index in rng.sample(facts, repeat):
        delay = rng.uniform(86400, 10 * 86400) + rng.expovariate(1 / (40 * 86400))
        at = first_at + delay if first_at + delay < end_all else first_at + rng.random() * (end_all - first_at)
        facts.append((at, index))
    facts.sort()
    refunded = set(rng.sample(range(len(facts)), round(sales * 0.01)))
    low, high = math.log(20.0), math.log(3000.0)
    sale_list = []  # (id, at, customer index, cents, paid)
    first_paid: dict[int, int] = {}  # customer index → position in sale_list
    for n, (at, index) in enumerate(facts):
        cents = round(min(3000.0, max(20.0, math.exp(rng.uniform(low, high)))) * 100)
        paid = n not in refunded
        sale_list.append((n + 1, at, index, cents, paid))
        if paid and index not in first_paid:
            first_paid[index] = n

    customer_rows = []
    for cid, at, _ in customers:
        when = _ts(at)
        email = hashlib.sha256(f"lead{cid:07d}@customer.example".encode()).hexdigest() if cid % 5 else NULL
        customer_rows.append(f"{cid}\t{org_id}\t{uuid.UUID(int=rng.getrandbits(128), version=4)}\tcus_{cid:07d}\t"
                             f"{email}\t\t{NULL}\t{NULL}\t{when}\t{when}\t{{}}\t{when}\t{when}\t{when}\n")
    sale_rows = []
    for sid, at, index, cents, paid in sale_list:
        when = _ts(at)
        refunded_at = NULL if paid else _ts(min(at + rng.uniform(86400, 20 * 86400), end_all - 1))
        sale_rows.append(f"{sid}\t{org_id}\t{uuid.UUID(int=rng.getrandbits(128), version=4)}\tinv_{sid:07d}\t"
                         f"{customers[index][0]}\tcus_{customers[index][0]:07d}\t{cents // 100}.{cents % 100:02d}\t"
                         f"{CURRENCY}\t{when}\t{'paid' if paid else 'refunded'}\t{refunded_at}\t{when}\t{when}\n")

    # Each touch's channel (Credit.channel) as the clicks' mix, from a generator of its own so
    # the rest of the data stays as it was before credits kept their channel.
    channel_rng, channels, channel_weights = random.Random(leads), [c for c, _ in CHANNELS], _cumulative(
        w for _, w in CHANNELS)
    touch_rows = [f"{cid}\t{len(touches)}\t{pos}\t{link_id}\t{campaign_id}\t{ambassador_id}\t"
                  f"{_pick(channel_rng, channels, channel_weights)}\n"
                  for cid, _, touches in customers
                  for pos, (link_id, campaign_id, ambassador_id) in enumerate(touches, start=1)]
    paying = len(first_paid)
    return customer_rows, sale_rows, touch_rows, paying


def _plain_indexes(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                   "AND tablename = %s AND indexname NOT IN (SELECT conname FROM pg_constraint "
                   "WHERE conrelid = %s::regclass) ORDER BY indexname", [table, table])
    return cursor.fetchall()


def copy_in(table: str, columns: tuple[str, ...], chunks=None, *, select: str | None = None,
            producer_url: str | None = None, drop_constraints: bool = False) -> dict:
    """COPY into `table` either text chunks (str or (str, rows)) or, with `select`, the rows of
    that query: COPY (select) TO STDOUT in binary on a second connection (producer_url),
    streamed into COPY … FROM STDIN, so PostgreSQL generates on one core while it loads on the
    other. The table's plain indexes (and, with drop_constraints, its unique constraints and
    foreign keys) are dropped first and built again afterwards, the usual bulk-load practice:
    the schema ends up exactly as migrated. (Dropped in their own transaction: dropping a
    foreign key locks the table it points to, which the producer may be reading.)
    Returns {"rows", "copy_s", "index_s"}."""
    from django.db import connection

    with connection.cursor() as cursor:
        indexes = _plain_indexes(cursor, table)
        constraints = []
        if drop_constraints:
            cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                           "AND contype IN ('u', 'f') ORDER BY contype DESC, conname", [table])
            constraints = cursor.fetchall()
        for name, _ in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        started = time.perf_counter()
        if select is None:
            rows = 0
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for chunk in chunks:
                    text, count = chunk if isinstance(chunk, tuple) else (chunk, chunk.count("\n"))
                    copy.write(text)
                    rows += count
        else:
            rows = _relay(cursor, table, columns, select, producer_url)
        copied = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("RESET maintenance_work_mem")
    return {"rows": rows, "copy_s": copied, "index_s": time.perf_counter() - started}


def _relay(cursor, table: str, columns: tuple[str, ...], select: str, producer_url: str) -> int:
    import psycopg

    cursor.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass "
                   "AND attnum > 0 AND NOT attisdropped", [table])
    types = dict(cursor.fetchall())
    typed = ", ".join(f"q.{column}::{types[column]}" for column in columns)
    with psycopg.connect(producer_url) as producer, producer.cursor() as source:
        source.execute("SET work_mem = '512MB'")
        produce = f"COPY (SELECT {typed} FROM ({select}) q) TO STDOUT (FORMAT binary)"  # noqa: S608 - ours
        consume = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT binary)"
        with source.copy(produce) as out, cursor.cursor.copy(consume) as into:
            for block in out:
                into.write(block)
        return cursor.cursor.rowcount


CLICK_ROLLUP_SQL = """
    INSERT INTO tracking_dailyclickrollup (organization_id, campaign_id, ambassador_id, channel, day, total, clicks,
                                           unique_clicks, bot_clicks, self_clicks)
    SELECT organization_id, campaign_id, ambassador_id, channel, day, count(*),
           count(*) FILTER (WHERE NOT is_bot AND NOT is_self),
           count(*) FILTER (WHERE NOT is_bot AND NOT is_self AND is_unique),
           count(*) FILTER (WHERE is_bot),
           count(*) FILTER (WHERE is_self AND NOT is_bot)
    FROM tracking_click GROUP BY organization_id, day, campaign_id, ambassador_id, channel
    ORDER BY day, campaign_id, ambassador_id, channel
"""

CREDIT_ROLLUP_SQL = """
    INSERT INTO tracking_dailycreditrollup (organization_id, version, model, campaign_id, ambassador_id, day, leads,
                                            customers, revenue_cents)
    SELECT c.organization_id, c.version, c.model, c.campaign_id, c.ambassador_id,
           (c.converted_at AT TIME ZONE o.time_zone)::date AS local_day,
           coalesce(sum(c.lead_share * 10000) FILTER (WHERE c.kind = 'lead'), 0)::bigint,
           coalesce(sum(c.lead_share * 10000) FILTER (WHERE c.kind = 'customer'), 0)::bigint,
           coalesce(sum(c.amount * 100) FILTER (WHERE c.kind = 'sale'), 0)::bigint
    FROM tracking_credit c JOIN tenancy_organization o ON o.id = c.organization_id
    GROUP BY c.organization_id, c.version, c.model, local_day, c.campaign_id, c.ambassador_id
    ORDER BY local_day, c.model, c.campaign_id, c.ambassador_id
"""

# The per-ambassador rollups, summed from the detailed ones (as tracking.services.rollups.rebuild).
AMBASSADOR_CLICKS_SQL = """
    INSERT INTO tracking_dailyambassadorclicks (organization_id, ambassador_id, day, total, clicks, unique_clicks,
                                                bot_clicks, self_clicks)
    SELECT organization_id, ambassador_id, day, sum(total), sum(clicks), sum(unique_clicks), sum(bot_clicks),
           sum(self_clicks)
    FROM tracking_dailyclickrollup GROUP BY organization_id, day, ambassador_id ORDER BY day, ambassador_id
"""
AMBASSADOR_CREDITS_SQL = """
    INSERT INTO tracking_dailyambassadorcredits (organization_id, version, model, ambassador_id, day, leads,
                                                 customers, revenue_cents)
    SELECT organization_id, version, model, ambassador_id, day, sum(leads), sum(customers), sum(revenue_cents)
    FROM tracking_dailycreditrollup GROUP BY organization_id, version, model, day, ambassador_id
    ORDER BY day, model, ambassador_id
"""

WEEKLY_CLICKS_SQL = """
    INSERT INTO tracking_weeklyambassadorclicks (organization_id, ambassador_id, week, total, clicks, unique_clicks,
                                                 bot_clicks, self_clicks)
    SELECT organization_id, ambassador_id, date_trunc('week', day)::date AS week, sum(total), sum(clicks),
           sum(unique_clicks), sum(bot_clicks), sum(self_clicks)
    FROM tracking_dailyambassadorclicks GROUP BY organization_id, week, ambassador_id ORDER BY week, ambassador_id
"""
WEEKLY_CREDITS_SQL = """
    INSERT INTO tracking_weeklyambassadorcredits (organization_id, version, model, ambassador_id, week, leads,
                                                  customers, revenue_cents)
    SELECT organization_id, version, model, ambassador_id, date_trunc('week', day)::date AS week, sum(leads),
           sum(customers), sum(revenue_cents)
    FROM tracking_dailyambassadorcredits GROUP BY organization_id, version, model, week, ambassador_id
    ORDER BY week, model, ambassador_id
"""
CAMPAIGN_CREDITS_SQL = """
    INSERT INTO tracking_dailycampaigncredits (organization_id, version, model, campaign_id, day, leads, customers,
                                               revenue_cents)
    SELECT organization_id, version, model, campaign_id, day, sum(leads), sum(customers), sum(revenue_cents)
    FROM tracking_dailycreditrollup GROUP BY organization_id, version, model, day, campaign_id
    ORDER BY day, model, campaign_id
"""

# Per campaign and channel (the channel split), for the organisations whose schema has them
# (tracking 0011): clicks summed from the detailed rollup, credits from Credit.channel.
CHANNEL_CLICKS_SQL = """
    INSERT INTO tracking_dailychannelclicks (organization_id, day, campaign_id, channel, total, clicks, unique_clicks,
                                             bot_clicks, self_clicks)
    SELECT organization_id, day, campaign_id, channel, sum(total), sum(clicks), sum(unique_clicks), sum(bot_clicks),
           sum(self_clicks)
    FROM tracking_dailyclickrollup GROUP BY organization_id, day, campaign_id, channel
    ORDER BY day, campaign_id, channel
"""
CHANNEL_CREDITS_SQL = """
    INSERT INTO tracking_dailychannelcredits (organization_id, version, model, day, campaign_id, channel, leads,
                                              customers, revenue_cents)
    SELECT c.organization_id, c.version, c.model, (c.converted_at AT TIME ZONE o.time_zone)::date AS local_day,
           c.campaign_id, c.channel,
           coalesce(sum(c.lead_share * 10000) FILTER (WHERE c.kind = 'lead'), 0)::bigint,
           coalesce(sum(c.lead_share * 10000) FILTER (WHERE c.kind = 'customer'), 0)::bigint,
           coalesce(sum(c.amount * 100) FILTER (WHERE c.kind = 'sale'), 0)::bigint
    FROM tracking_credit c JOIN tenancy_organization o ON o.id = c.organization_id
    GROUP BY c.organization_id, c.version, c.model, local_day, c.campaign_id, c.channel
    ORDER BY local_day, c.model, c.campaign_id, c.channel
"""


def check_credits() -> tuple[int, int]:
    """(leads whose shares don't add up to 1.0000 under some model, paid sales whose amounts
    don't add up to the sale's amount under some model)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM (SELECT customer_id FROM tracking_credit WHERE kind = 'lead' "
                       "GROUP BY customer_id, model HAVING sum(lead_share) <> 1) bad")
        leads = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM (SELECT c.sale_id FROM tracking_credit c JOIN tracking_sale s "
                       "ON s.id = c.sale_id WHERE c.kind = 'sale' GROUP BY c.sale_id, c.model, s.amount "
                       "HAVING sum(c.amount) <> s.amount) bad")
        return leads, cursor.fetchone()[0]


def roll_up() -> dict:
    """Both rollups with INSERT … SELECT … GROUP BY (their tables' indexes dropped and rebuilt
    around it), then VACUUM ANALYZE of everything the reports and the baseline read."""
    from django.db import connection, transaction

    facts = {}
    channel_sql = {"tracking_dailychannelclicks": CHANNEL_CLICKS_SQL,
                   "tracking_dailychannelcredits": CHANNEL_CREDITS_SQL}
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('tracking_dailychannelclicks') IS NOT NULL, "
                       "to_regclass('tracking_dailychannelcredits') IS NOT NULL")
        channel_tables = [table for table, exists in zip(channel_sql, cursor.fetchone(), strict=True) if exists]
    for table, sql in (("tracking_dailyclickrollup", CLICK_ROLLUP_SQL),
                       ("tracking_dailycreditrollup", CREDIT_ROLLUP_SQL),
                       ("tracking_dailyambassadorclicks", AMBASSADOR_CLICKS_SQL),
                       ("tracking_dailyambassadorcredits", AMBASSADOR_CREDITS_SQL),
                       ("tracking_weeklyambassadorclicks", WEEKLY_CLICKS_SQL),
                       ("tracking_weeklyambassadorcredits", WEEKLY_CREDITS_SQL),
                       ("tracking_dailycampaigncredits", CAMPAIGN_CREDITS_SQL),
                       *((table, channel_sql[table]) for table in channel_tables)):
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '512MB'")
            cursor.execute(sql)
            facts[table] = (cursor.rowcount, time.perf_counter() - started)
    with connection.cursor() as cursor:
        for table in ("tracking_click", "tracking_customer", "tracking_sale", "tracking_credit",
                      "campaigns_shareevent", "tracking_dailyclickrollup", "tracking_dailycreditrollup",
                      "tracking_dailyambassadorclicks", "tracking_dailyambassadorcredits",
                      "tracking_weeklyambassadorclicks", "tracking_weeklyambassadorcredits",
                      "tracking_dailycampaigncredits", *channel_tables,
                      "campaigns_trackedlink", "campaigns_campaigncost", "ambassadors_ambassador"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        for table in ("tracking_customer", "tracking_sale"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - constant
                           f"(SELECT coalesce(max(id), 1) FROM {table}))")
    return facts
