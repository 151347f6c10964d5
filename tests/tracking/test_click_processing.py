"""Click processing: raw clicks → classified Click rows → daily rollups, idempotent and exact."""

import random
import threading
import uuid
import zoneinfo
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction

from campaigns.models import Campaign, CampaignStatus, TrackedLink
from tenancy.scoping import scopes_disabled, tenant_scope
from tests.factories import AmbassadorFactory, OrganizationFactory, UserFactory
from tracking import tasks
from tracking.models import Click, DailyAmbassadorClicks, DailyClickRollup, PortalVisitor, RawClick
from tracking.processing import classify
from tracking.services import click_processing
from tracking.services.click_processing import process_batch, process_pending

pytestmark = pytest.mark.django_db

# Real user agents.
CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.4 Mobile/15E148 Safari/604.1")
FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0"
CHROME_IPAD = ("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
               "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1")
SAFARI_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.4 Safari/605.1.15")
LINKEDIN_BOT = "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"
TWITTER_BOT = "Twitterbot/1.0"
FACEBOOK_BOT = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
SLACK_BOT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
HEADLESS_CHROME = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "HeadlessChrome/124.0.0.0 Safari/537.36")
PYTHON_REQUESTS = "python-requests/2.32.3"
CURL = "curl/8.5.0"

BROWSERS = [CHROME_WINDOWS, SAFARI_IPHONE, FIREFOX_ANDROID, CHROME_IPAD, SAFARI_MAC]
BOTS = [LINKEDIN_BOT, TWITTER_BOT, FACEBOOK_BOT, SLACK_BOT, HEADLESS_CHROME, PYTHON_REQUESTS, CURL, ""]

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


# --- helpers ----------------------------------------------------------------------------------

_ids = iter(range(10**6))


def new_click_id(prefix: str = "c") -> str:
    return f"{prefix}{next(_ids):0{21}d}"


def add_raw(link, *, at=T0, visitor="visitor-1", ua=CHROME_WINDOWS, referrer="", hint="", head=False,
            click_id=None) -> dict:
    """A raw click as the redirect writes it; returns its values so a test can replay it."""
    values = dict(click_id=click_id or new_click_id(), organization_id=link.organization_id, link_id=link.pk,
                  clicked_at=at, visitor_id=visitor, ip_hash="0" * 32, user_agent=ua, referrer_host=referrer,
                  channel_hint=hint, is_head=head)
    insert_raws([values])
    return values


def insert_raws(values: list[dict]) -> None:
    by_org = defaultdict(list)
    for value in values:
        by_org[value["organization_id"]].append(RawClick(**value))
    for organization_id, rows in by_org.items():
        with tenant_scope(organization_id):
            RawClick.objects.bulk_create(rows)


def run(org, **kwargs):
    with tenant_scope(org):
        return process_pending(org.pk, **kwargs)


def clicks(org) -> dict[str, Click]:
    with tenant_scope(org):
        return {click.click_id: click for click in Click.objects.all()}


def raw_count(org) -> int:
    with tenant_scope(org):
        return RawClick.objects.count()


COUNTS = ("total", "clicks", "unique_clicks", "bot_clicks", "self_clicks")


def rollups(org) -> dict[tuple, tuple]:
    """(campaign id, ambassador id, channel, day) → (total, clicks, unique, bot, self), zero rows left out.
    Checks on the way that the per-ambassador rollup is exactly these summed per (ambassador, day)."""
    with tenant_scope(org):
        rows = DailyClickRollup.objects.values_list("campaign_id", "ambassador_id", "channel", "day", *COUNTS)
        detailed = {tuple(row[:4]): tuple(row[4:]) for row in rows if any(row[4:])}
        per_ambassador = defaultdict(lambda: [0] * len(COUNTS))
        for (_, ambassador_id, _, day), counts in detailed.items():
            for index, count in enumerate(counts):
                per_ambassador[(ambassador_id, day)][index] += count
        stored = {(r[0], r[1]): list(r[2:]) for r in DailyAmbassadorClicks.objects.values_list(
            "ambassador_id", "day", *COUNTS) if any(r[2:])}
        assert stored == {key: counts for key, counts in per_ambassador.items() if any(counts)}
        return detailed


def recount_from_clicks(org) -> dict[tuple, tuple]:
    """An independent recount of the rollups from the stored Click rows."""
    counts = defaultdict(lambda: [0, 0, 0, 0, 0])
    for click in clicks(org).values():
        row = counts[(click.campaign_id, click.ambassador_id, click.channel, click.day)]
        row[0] += 1
        row[1] += click.credited
        row[2] += click.credited and click.is_unique
        row[3] += click.is_bot
        row[4] += click.is_self and not click.is_bot
    return {key: tuple(value) for key, value in counts.items()}


@pytest.fixture
def campaign(org):
    with tenant_scope(org):
        return Campaign.objects.create(organization=org, name="Launch", slug="launch", status=CampaignStatus.ACTIVE,
                                       destination_url="https://shop.example.com/")


def make_link(org, campaign, ambassador=None, code=None) -> TrackedLink:
    ambassador = ambassador or AmbassadorFactory(organization=org, user=UserFactory())
    with tenant_scope(org):
        return TrackedLink.objects.create(organization=org, campaign=campaign, ambassador=ambassador,
                                          code=code or new_click_id("L")[-10:])


@pytest.fixture
def link(org, campaign):
    return make_link(org, campaign)


@pytest.fixture(autouse=True)
def click_capture(settings):
    """Processing doesn't care how a raw click was captured: one capture mode is enough here
    (overrides the package's fixture that runs every redirect test with both)."""
    settings.CLICK_CAPTURE = "db"
    return "db"


@pytest.fixture(autouse=True)
def _own_dispatch_keys(monkeypatch):
    # On Redis the dispatcher's keys outlive a test and organisation ids repeat between runs
    # (and test runs): each test gets keys of its own.
    monkeypatch.setattr(tasks, "QUEUED_KEY", f"test-{uuid.uuid4().hex}:" + tasks.QUEUED_KEY)


# --- classification (pure) --------------------------------------------------------------------


@pytest.mark.parametrize(("ua", "device", "browser", "os"), [
    (CHROME_WINDOWS, "desktop", "Chrome", "Windows"),
    (SAFARI_IPHONE, "mobile", "Mobile Safari", "iOS"),
    (FIREFOX_ANDROID, "mobile", "Firefox Mobile", "Android"),
    (CHROME_IPAD, "tablet", "Chrome Mobile iOS", "iOS"),
    (SAFARI_MAC, "desktop", "Safari", "Mac OS X"),
])
def test_browsers_are_people_with_device_browser_and_os(ua, device, browser, os):
    info = classify(ua, False)
    assert (info.is_bot, info.bot_reason, info.device, info.browser, info.os) == (False, "", device, browser, os)


@pytest.mark.parametrize(("ua", "reason"), [
    (LINKEDIN_BOT, "crawler:LinkedInBot"),
    (TWITTER_BOT, "crawler:Twitterbot"),
    (FACEBOOK_BOT, "crawler:facebookexternalhit"),
    (SLACK_BOT, "crawler:Slackbot"),
    (HEADLESS_CHROME, "headless:HeadlessChrome"),
    ("Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
     "headless:PhantomJS"),
    ("Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse", "headless:Lighthouse"),
    (PYTHON_REQUESTS, "crawler:python-requests"),
    (CURL, "crawler:curl"),
    ("Wget/1.21.4", "crawler:Wget"),
    ("", "empty-ua"),
    ("   ", "empty-ua"),
])
def test_bots_are_flagged_with_a_reason(ua, reason):
    info = classify(ua, False)
    assert (info.is_bot, info.bot_reason, info.device) == (True, reason, "bot")


def test_head_request_is_a_bot_whatever_its_user_agent():
    info = classify(CHROME_WINDOWS, True)
    assert (info.is_bot, info.bot_reason, info.device, info.browser) == (True, "head", "bot", "Chrome")


# --- classification through the processor -----------------------------------------------------


def test_processing_moves_raw_clicks_into_classified_clicks_and_rollups(org, link):
    expected = {}
    for i, ua in enumerate(BROWSERS + BOTS):
        expected[add_raw(link, ua=ua, visitor=f"v{i}", at=T0 + timedelta(minutes=i))["click_id"]] = ua
    head = add_raw(link, ua=SAFARI_IPHONE, visitor="v-head", head=True)["click_id"]

    result = run(org)

    assert (result.claimed, result.inserted, result.batches, result.more) == (len(expected) + 1, len(expected) + 1,
                                                                              1, False)
    assert raw_count(org) == 0
    stored = clicks(org)
    for click_id, ua in expected.items():
        click = stored[click_id]
        info = classify(ua, False)
        assert (click.is_bot, click.bot_reason, click.device, click.browser, click.os) == tuple(info)
        assert (click.link_id, click.campaign_id, click.ambassador_id) == (link.pk, link.campaign_id,
                                                                           link.ambassador_id)
        assert click.is_unique is (not click.is_bot)  # a different visitor each
        assert not click.is_self and click.channel == "direct" and click.day == date(2025, 3, 10)
    assert stored[head].is_head and stored[head].bot_reason == "head" and not stored[head].is_unique
    assert rollups(org) == {(link.campaign_id, link.ambassador_id, "direct", date(2025, 3, 10)):
                            (14, 5, 5, 9, 0)}


@pytest.mark.parametrize(("referrer", "hint", "channel"), [
    ("lnkd.in", "", "linkedin"),
    ("www.linkedin.com", "", "linkedin"),
    ("t.co", "", "x"),
    ("x.com", "", "x"),
    ("m.facebook.com", "", "facebook"),
    ("wa.me", "", "whatsapp"),
    ("", "", "direct"),
    ("news.ycombinator.com", "", "direct"),
    ("t.co", "linkedin", "linkedin"),  # the link's channel suffix wins over the referrer
    ("", "email", "email"),
    ("lnkd.in", "bogus", "linkedin"),  # not a channel: ignored
])
def test_channel_from_hint_else_referrer(org, link, referrer, hint, channel):
    click_id = add_raw(link, referrer=referrer, hint=hint)["click_id"]
    run(org)
    assert clicks(org)[click_id].channel == channel
    assert set(rollups(org)) == {(link.campaign_id, link.ambassador_id, channel, date(2025, 3, 10))}


def test_self_clicks_are_flagged_and_counted_apart(org, campaign, link):
    owner = link.ambassador.user
    PortalVisitor.objects.create(user=owner, visitor_id="own-browser")
    other_link = make_link(org, campaign)
    own = add_raw(link, visitor="own-browser")["click_id"]
    own_bot = add_raw(link, visitor="own-browser", ua=LINKEDIN_BOT)["click_id"]
    on_colleague = add_raw(other_link, visitor="own-browser")["click_id"]
    stranger = add_raw(link, visitor="stranger", at=T0 + timedelta(hours=1))["click_id"]

    run(org)

    stored = clicks(org)
    assert stored[own].is_self and not stored[own].is_unique and not stored[own].credited
    assert stored[own_bot].is_bot and not stored[own_bot].is_self  # a bot is a bot, not self
    assert not stored[on_colleague].is_self and stored[on_colleague].is_unique
    assert stored[stranger].credited and stored[stranger].is_unique
    day = date(2025, 3, 10)
    assert rollups(org) == {
        (campaign.pk, link.ambassador_id, "direct", day): (3, 1, 1, 1, 1),
        (campaign.pk, other_link.ambassador_id, "direct", day): (1, 1, 1, 0, 0),
    }


def test_self_click_only_for_the_links_own_ambassador(org, campaign, link):
    colleague_link = make_link(org, campaign)
    PortalVisitor.objects.create(user=colleague_link.ambassador.user, visitor_id="colleague")
    click_id = add_raw(link, visitor="colleague")["click_id"]
    run(org)
    assert clicks(org)[click_id].credited


# --- uniqueness -------------------------------------------------------------------------------


def test_repeat_click_within_24_hours_is_not_unique_after_24_hours_it_is(org, campaign, link):
    other_link = make_link(org, campaign)
    times = {
        "first": T0,
        "again-1h": T0 + timedelta(hours=1),
        "again-23h59": T0 + timedelta(hours=24, minutes=59),  # 23 h 59 after the previous one
        "after-24h": T0 + timedelta(hours=49),  # 24 h 01 after the previous one
        "exactly-24h-later": T0 + timedelta(hours=73),  # 24 h after the previous one: unique again
    }
    ids = {name: add_raw(link, at=at, visitor="v")["click_id"] for name, at in times.items()}
    ids["bot-before"] = add_raw(link, at=T0 - timedelta(hours=1), visitor="v", ua=TWITTER_BOT)["click_id"]
    ids["other-visitor"] = add_raw(link, at=T0 + timedelta(hours=1), visitor="w")["click_id"]
    ids["other-link"] = add_raw(other_link, at=T0 + timedelta(hours=1), visitor="v")["click_id"]

    run(org)

    unique = {name: clicks(org)[click_id].is_unique for name, click_id in ids.items()}
    assert unique == {"first": True, "again-1h": False, "again-23h59": False, "after-24h": True,
                      "exactly-24h-later": True, "bot-before": False, "other-visitor": True, "other-link": True}


def test_clicks_at_the_same_instant_are_ordered_by_click_id(org, link):
    late_id, early_id = "b" + "0" * 21, "a" + "0" * 21
    add_raw(link, visitor="v", click_id=late_id)
    add_raw(link, visitor="v", click_id=early_id)
    run(org, batch_size=1)  # the later id arrives and is processed first
    stored = clicks(org)
    assert stored[early_id].is_unique and not stored[late_id].is_unique


def test_late_click_makes_an_already_processed_click_non_unique(org, link):
    """Out of order across batches, and across a day boundary: the rollup of the later day
    loses its unique click to the earlier day."""
    later = add_raw(link, visitor="v", at=datetime(2025, 3, 11, 7, 0, tzinfo=UTC))["click_id"]
    run(org)
    assert clicks(org)[later].is_unique
    earlier = add_raw(link, visitor="v", at=datetime(2025, 3, 10, 20, 0, tzinfo=UTC))["click_id"]

    result = run(org)

    assert result.reclassified == 1
    stored = clicks(org)
    assert stored[earlier].is_unique and not stored[later].is_unique
    key = (link.campaign_id, link.ambassador_id, "direct")
    assert rollups(org) == {(*key, date(2025, 3, 10)): (1, 1, 1, 0, 0), (*key, date(2025, 3, 11)): (1, 1, 0, 0, 0)}
    assert rollups(org) == recount_from_clicks(org)


def test_out_of_order_arrival_gives_the_same_result_as_in_order(org, campaign, link):
    other_link = make_link(org, campaign)
    rng = random.Random(7)
    values = []
    for _ in range(120):
        values.append(dict(
            click_id=new_click_id(), organization_id=org.pk, link_id=rng.choice([link, other_link]).pk,
            clicked_at=T0 + timedelta(minutes=rng.randrange(0, 4 * 24 * 60)), visitor_id=rng.choice("abcde"),
            ip_hash="0" * 32, user_agent=rng.choice([CHROME_WINDOWS, SAFARI_IPHONE, TWITTER_BOT]),
            referrer_host=rng.choice(["", "t.co"]), channel_hint="", is_head=False))

    insert_raws(sorted(values, key=lambda v: (v["clicked_at"], v["click_id"])))
    run(org)
    in_order = rollups(org), {cid: c.is_unique for cid, c in clicks(org).items()}
    with tenant_scope(org):
        Click.objects.all().delete()
        DailyClickRollup.objects.all().delete()
        DailyAmbassadorClicks.objects.all().delete()

    rng.shuffle(values)
    insert_raws(values)
    result = run(org, batch_size=9)

    assert result.batches > 10 and result.reclassified > 0  # late arrivals did fix earlier clicks
    assert (rollups(org), {cid: c.is_unique for cid, c in clicks(org).items()}) == in_order
    assert rollups(org) == recount_from_clicks(org)


# --- idempotency and failure ------------------------------------------------------------------


def test_the_same_raw_clicks_processed_twice_count_once(org, link):
    replayed = [add_raw(link, visitor=f"v{i % 3}", at=T0 + timedelta(hours=i)) for i in range(6)]
    run(org)
    before, stored_before = rollups(org), clicks(org)

    insert_raws(replayed)  # a spool drained twice, a capture replayed
    insert_raws(replayed[:2])  # and a duplicate inside the same batch
    result = run(org)

    assert (result.claimed, result.inserted, result.duplicates) == (8, 0, 8)
    assert raw_count(org) == 0
    assert rollups(org) == before and clicks(org).keys() == stored_before.keys()


def test_duplicate_inside_one_batch_counts_once(org, link):
    values = add_raw(link)
    insert_raws([values, values])
    result = run(org)
    assert (result.claimed, result.inserted, result.duplicates) == (3, 1, 2)
    assert list(rollups(org).values()) == [(1, 1, 1, 0, 0)]


def test_a_batch_rolled_back_and_retried_counts_once(org, link):
    for i in range(5):
        add_raw(link, visitor=f"v{i}")

    class WorkerDied(Exception):
        pass

    with pytest.raises(WorkerDied), transaction.atomic():
        with tenant_scope(org):
            assert process_batch(org.pk).inserted == 5
        raise WorkerDied  # killed before the commit

    assert raw_count(org) == 5 and not clicks(org) and not rollups(org)
    with tenant_scope(org):
        process_batch(org.pk)
        assert process_batch(org.pk).claimed == 0  # the retry of a committed batch finds nothing
    assert list(rollups(org).values()) == [(5, 5, 5, 0, 0)]


def test_a_batch_failing_midway_leaves_the_raw_clicks_and_no_clicks(org, link, monkeypatch):
    for i in range(4):
        add_raw(link, visitor=f"v{i}")

    def broken_upsert(self, deltas):
        raise RuntimeError("database went away")

    monkeypatch.setattr(click_processing._Batch, "upsert_rollups", broken_upsert)
    with pytest.raises(RuntimeError):
        run(org)
    assert raw_count(org) == 4 and not clicks(org) and not rollups(org)

    monkeypatch.undo()
    assert run(org).inserted == 4
    assert list(rollups(org).values()) == [(4, 4, 4, 0, 0)]


# --- the rollups equal a recount ----------------------------------------------------------------


def test_rollups_equal_an_independent_recount_of_the_raw_clicks(org, campaign):
    """Many clicks, shuffled, replayed in part, in small batches; then a plain-Python recount of
    what the rules say, from the raw clicks alone."""
    ambassadors = [AmbassadorFactory(organization=org, user=UserFactory()) for _ in range(3)]
    with tenant_scope(org):
        second = Campaign.objects.create(organization=org, name="Second", slug="second",
                                         destination_url="https://shop.example.com/2")
    links = [make_link(org, c, a) for c in (campaign, second) for a in ambassadors]
    own_visitor = {ambassadors[0].user_id: "self-a", ambassadors[1].user_id: "self-b"}
    for user_id, visitor in own_visitor.items():
        PortalVisitor.objects.create(user_id=user_id, visitor_id=visitor)
    user_agents = {CHROME_WINDOWS: False, SAFARI_IPHONE: False, FIREFOX_ANDROID: False, CHROME_IPAD: False,
                   LINKEDIN_BOT: True, FACEBOOK_BOT: True, HEADLESS_CHROME: True, "": True}
    referrers = {"": "direct", "lnkd.in": "linkedin", "t.co": "x", "m.facebook.com": "facebook", "wa.me": "whatsapp"}
    visitors = ["self-a", "self-b"] + [f"visitor-{i}" for i in range(12)]

    rng = random.Random(2025)
    originals = []
    for _ in range(600):
        originals.append(dict(
            click_id=new_click_id(), organization_id=org.pk, link_id=rng.choice(links).pk,
            # Around the clock for 5 days, some at the very same instant.
            clicked_at=T0 + timedelta(minutes=rng.randrange(0, 5 * 24 * 60, 7)),
            visitor_id=rng.choice(visitors), ip_hash="0" * 32, user_agent=rng.choice(list(user_agents)),
            referrer_host=rng.choice(list(referrers)), channel_hint=rng.choice(["", "", "", "email"]),
            is_head=rng.random() < 0.05))
    arrivals = originals + rng.sample(originals, 40)  # replays
    rng.shuffle(arrivals)
    insert_raws(arrivals[:350])
    run(org, batch_size=23)
    insert_raws(arrivals[350:])
    run(org, batch_size=31)

    # The recount.
    link_by_id = {link.pk: link for link in links}
    ambassador_user = {a.pk: a.user_id for a in ambassadors}
    expected = defaultdict(lambda: [0, 0, 0, 0, 0])
    last_credited = {}
    for raw in sorted(originals, key=lambda r: (r["clicked_at"], r["click_id"])):
        link = link_by_id[raw["link_id"]]
        channel = raw["channel_hint"] or referrers[raw["referrer_host"]]
        day = raw["clicked_at"].astimezone(PARIS).date()
        row = expected[(link.campaign_id, link.ambassador_id, channel, day)]
        row[0] += 1
        if raw["is_head"] or user_agents[raw["user_agent"]]:
            row[3] += 1
        elif own_visitor.get(ambassador_user[link.ambassador_id]) == raw["visitor_id"]:
            row[4] += 1
        else:
            row[1] += 1
            pair = (raw["link_id"], raw["visitor_id"])
            if pair not in last_credited or raw["clicked_at"] - last_credited[pair] >= timedelta(hours=24):
                row[2] += 1
            last_credited[pair] = raw["clicked_at"]
    expected = {key: tuple(value) for key, value in expected.items()}

    assert raw_count(org) == 0
    assert len(clicks(org)) == len(originals)
    assert rollups(org) == expected
    assert rollups(org) == recount_from_clicks(org)
    assert {cid: c.is_unique for cid, c in clicks(org).items()} == expected_uniqueness(org)
    totals = Counter()
    for counts in expected.values():
        totals.update(dict(zip(COUNTS, counts, strict=True)))
    assert totals["bot_clicks"] and totals["self_clicks"] and totals["unique_clicks"] < totals["clicks"]


def expected_uniqueness(org) -> dict[str, bool]:
    """Uniqueness by its definition, recomputed over each (link, visitor)'s whole timeline."""
    last, expected = {}, {}
    for click in sorted(clicks(org).values(), key=lambda c: (c.clicked_at, c.click_id)):
        if click.credited:
            pair = (click.link_id, click.visitor_id)
            expected[click.click_id] = pair not in last or click.clicked_at - last[pair] >= timedelta(hours=24)
            last[pair] = click.clicked_at
        else:
            expected[click.click_id] = False
    return expected


@pytest.mark.django_db(transaction=True)
def test_batches_in_flight_at_once_count_exactly(org, campaign, monkeypatch):
    """Several batches of one organisation at once, each in its own thread and connection
    (committed data, hence a transactional test): claims are disjoint, uniqueness and the
    duplicate check are ordered by the organisation's lock."""
    links = [make_link(org, campaign) for _ in range(3)]
    rng = random.Random(11)
    values = [dict(click_id=new_click_id(), organization_id=org.pk, link_id=rng.choice(links).pk,
                   clicked_at=T0 + timedelta(minutes=rng.randrange(0, 3 * 24 * 60)), visitor_id=rng.choice("abcdefg"),
                   ip_hash="0" * 32, user_agent=rng.choice([CHROME_WINDOWS, SAFARI_IPHONE, SLACK_BOT]),
                   referrer_host=rng.choice(["", "lnkd.in"]), channel_hint="", is_head=False) for _ in range(400)]
    arrivals = values + rng.sample(values, 30)  # replays, some landing in another batch
    rng.shuffle(arrivals)
    insert_raws(arrivals)

    threads = set()
    real_process_batch = click_processing.process_batch

    def process_batch_noting_thread(*args, **kwargs):
        threads.add(threading.current_thread().name)
        return real_process_batch(*args, **kwargs)

    monkeypatch.setattr(click_processing, "process_batch", process_batch_noting_thread)
    result = run(org, batch_size=13, parallel=3, max_batches=1000)

    assert len(threads) == 3 and threading.current_thread().name not in threads
    assert result.claimed == 430 and result.inserted == 400 and result.duplicates == 30
    assert raw_count(org) == 0
    assert {cid: c.is_unique for cid, c in clicks(org).items()} == expected_uniqueness(org)
    assert rollups(org) == recount_from_clicks(org)
    assert sum(total for total, *_ in rollups(org).values()) == 400


def test_day_follows_the_organisations_time_zone(db):
    paris = OrganizationFactory(time_zone="Europe/Paris")
    new_york = OrganizationFactory(time_zone="America/New_York")
    results = {}
    for org in (paris, new_york):
        with tenant_scope(org):
            campaign = Campaign.objects.create(organization=org, name="C", slug="c",
                                               destination_url="https://shop.example.com/")
        link = make_link(org, campaign)
        local = org.tzinfo
        at_2330 = datetime(2025, 6, 1, 23, 30, tzinfo=local)  # 23:30 local on 1 June
        at_0030 = datetime(2025, 6, 2, 0, 30, tzinfo=local)  # 00:30 local on 2 June
        ids = [add_raw(link, at=at.astimezone(UTC), visitor=f"v{i}")["click_id"]
               for i, at in enumerate((at_2330, at_0030))]
        run(org)
        results[org.time_zone] = [clicks(org)[click_id].day for click_id in ids]
        assert sorted(day for _, _, _, day in rollups(org)) == [date(2025, 6, 1), date(2025, 6, 2)]
    assert results == {"Europe/Paris": [date(2025, 6, 1), date(2025, 6, 2)],
                       "America/New_York": [date(2025, 6, 1), date(2025, 6, 2)]}


# --- tenancy ----------------------------------------------------------------------------------


def test_processing_one_organisation_leaves_the_others_alone(org, other_org, link):
    with tenant_scope(other_org):
        campaign = Campaign.objects.create(organization=other_org, name="R", slug="r",
                                           destination_url="https://rival.example.com/")
    rival_link = make_link(other_org, campaign)
    add_raw(link)
    add_raw(rival_link)
    # A raw click naming another organisation's link is dropped, not credited across tenants.
    insert_raws([dict(click_id=new_click_id(), organization_id=org.pk, link_id=rival_link.pk, clicked_at=T0,
                      visitor_id="x", ip_hash="0" * 32, user_agent=CHROME_WINDOWS, referrer_host="",
                      channel_hint="", is_head=False)])

    result = run(org)

    assert (result.claimed, result.inserted, result.orphans) == (2, 1, 1)
    assert raw_count(other_org) == 1 and not clicks(other_org) and not rollups(other_org)
    assert {c.link_id for c in clicks(org).values()} == {link.pk}


# --- end to end -------------------------------------------------------------------------------


def test_a_click_through_the_redirect_appears_in_the_ambassadors_rollups(client, org, link):
    response = client.get(f"/l/{link.code}/li", HTTP_USER_AGENT=SAFARI_IPHONE, HTTP_REFERER="https://t.co/abc")
    assert response.status_code == 302
    client.get(f"/l/{link.code}", HTTP_USER_AGENT=LINKEDIN_BOT)
    client.head(f"/l/{link.code}", HTTP_USER_AGENT=CHROME_WINDOWS)

    assert tasks.process_clicks.apply(args=[org.pk]).get() == 3

    click_id = response["Location"].split("amb_cid=")[1].split("&")[0]
    click = clicks(org)[click_id]
    assert (click.channel, click.device, click.os, click.is_unique, click.credited) == (
        "linkedin", "mobile", "iOS", True, True)
    by_channel = defaultdict(Counter)
    for (campaign_id, ambassador_id, channel, _day), counts in rollups(org).items():
        assert (campaign_id, ambassador_id) == (link.campaign_id, link.ambassador_id)
        by_channel[channel].update(dict(zip(COUNTS, counts, strict=True)))
    assert by_channel == {"linkedin": Counter(total=1, clicks=1, unique_clicks=1),
                          "direct": Counter(total=2, bot_clicks=2)}
    assert rollups(org) == recount_from_clicks(org)


# --- the Celery tasks -------------------------------------------------------------------------


def test_process_clicks_task_runs_in_the_organisations_scope(org, link):
    for i in range(3):
        add_raw(link, visitor=f"v{i}")
    result = tasks.process_clicks.apply(args=[org.pk])
    assert result.successful(), result.traceback
    assert result.get() == 3
    assert raw_count(org) == 0 and list(rollups(org).values()) == [(3, 3, 3, 0, 0)]
    with pytest.raises(TypeError):
        tasks.process_clicks.run(str(org.pk))


def test_process_clicks_requeues_itself_when_clicks_remain(org, link, monkeypatch):
    for i in range(5):
        add_raw(link, visitor=f"v{i}")
    queued = []
    monkeypatch.setattr(click_processing, "BATCH_SIZE", 2)
    monkeypatch.setattr(click_processing, "MAX_BATCHES_PER_RUN", 2)
    monkeypatch.setattr(tasks.process_clicks, "delay", lambda organization_id: queued.append(organization_id))

    assert tasks.process_clicks.run(org.pk) == 4
    assert queued == [org.pk] and raw_count(org) == 1
    assert tasks.process_clicks.run(org.pk) == 1
    assert queued == [org.pk] and raw_count(org) == 0


def test_dispatch_queues_each_organisation_with_raw_clicks_once(org, other_org, link, monkeypatch):
    OrganizationFactory()  # an organisation without raw clicks: not queued
    with tenant_scope(other_org):
        campaign = Campaign.objects.create(organization=other_org, name="R", slug="r",
                                           destination_url="https://rival.example.com/")
    add_raw(link)
    add_raw(link)
    add_raw(make_link(other_org, campaign))
    queued = []
    monkeypatch.setattr(tasks.process_clicks, "delay", lambda organization_id: queued.append(organization_id))

    assert tasks.dispatch_click_processing.apply().get() == 2
    assert sorted(queued) == sorted([org.pk, other_org.pk])
    assert tasks.dispatch_click_processing.apply().get() == 0  # already queued: no flood

    # Once the organisation's run is over, the next beat may queue it again.
    tasks.process_clicks.run(org.pk)
    add_raw(link)
    assert tasks.dispatch_click_processing.apply().get() == 1
    assert queued[-1] == org.pk
    with scopes_disabled():
        assert set(click_processing.organizations_with_pending_clicks()) == {org.pk, other_org.pk}
