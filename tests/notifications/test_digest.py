"""The weekly ambassador digest, end to end: a programme built with the scenario builder, the
producer on Monday morning in the organisation's time zone, the delivery engine, and what a real
SMTP server on loopback received — exact figures (clicks, leads, points, rank and its change),
the week's new campaigns with one-click share links, who is skipped, and once only under re-runs
and overlapping producers."""

from datetime import datetime, timedelta
from email.header import decode_header, make_header
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.urls import resolve

from ambassadors.models import Status
from campaigns.models import TrackedLink
from campaigns.share import share_action_url
from notifications import digest
from notifications.delivery import send_due
from notifications.models import Delivery, DeliveryStatus, Frequency, Kind
from notifications.preferences import set_frequency
from tenancy.scoping import tenant_scope
from tests.factories import GroupFactory, OrganizationFactory
from tests.support.concurrency import at_once
from tests.support.scenario import Scenario

UTC = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")
# The week that just ended: Monday 9 – Sunday 15 March 2026 (ISO week 11); the one before it: 2–8 March.
WEEK = "2026-W11"
MONDAY_0830 = datetime(2026, 3, 16, 8, 30, tzinfo=PARIS)


def programme(org):
    """Ada (group Sales), Ben, Cy (group Marketing), Dee, Eve (digest off), Fay (paused), Gus
    (joined on Monday after 08:00). Points: 1 per share, 1 per unique click, 25 per lead.

    The week before: Ben 5 shares (5 points, 1st), Ada 1 share (1 point, 2nd).
    The week: Ada 2 shares + 3 unique clicks + 1 lead = 30 points; Eve 2 shares; Ben 1 share.
    Campaigns announced in the week and still running: "Sales push" (Sales), "Summer" (Marketing);
    "Old news" was announced the week before, "Flash" in the week but has ended."""
    s = Scenario(org)
    sales, marketing = GroupFactory(organization=org, name="Sales"), GroupFactory(organization=org, name="Marketing")
    people = {name: s.ambassador(name, email=f"{name.lower()}@acme.test", joined_at=s.at(2026, 1, 5, 9))
              for name in ("Ada", "Ben", "Cy", "Dee", "Eve", "Fay", "Gus")}
    people["Ada"].groups.add(sales)
    people["Cy"].groups.add(marketing)
    with tenant_scope(org):
        set_frequency(people["Eve"], Kind.DIGEST, Frequency.OFF)
        people["Fay"].status = Status.PAUSED
        people["Fay"].save()
        people["Gus"].joined_at = datetime(2026, 3, 16, 8, 15, tzinfo=PARIS)
        people["Gus"].save()

    evergreen = s.campaign("Evergreen")
    links = {name: s.link(evergreen, person) for name, person in people.items()}
    s.shares(links["Ben"], s.at(2026, 3, 4, 10), times=5)
    s.shares(links["Ada"], s.at(2026, 3, 5, 10))
    s.shares(links["Ada"], s.at(2026, 3, 10, 9), times=2)
    s.shares(links["Eve"], s.at(2026, 3, 10, 9), times=2)
    s.shares(links["Ben"], s.at(2026, 3, 15, 23, 30))  # Sunday night, local: still in the week
    buyer = s.visitor().clicks(links["Ada"], s.at(2026, 3, 11, 10))
    s.visitor().clicks(links["Ada"], s.at(2026, 3, 11, 11))
    s.visitor().clicks(links["Ada"], s.at(2026, 3, 12, 12))
    s.visitor().clicks(links["Ben"], s.at(2026, 3, 16, 0, 30))  # Monday: the next week
    s.process()
    buyer.lead("cus_ada_1", at=s.at(2026, 3, 12, 15))
    s.attribute()

    campaigns = {
        "Sales push": s.campaign("Sales push", description="Our spring offer for sales teams.",
                                 announced_at=s.at(2026, 3, 10, 9)),
        "Summer": s.campaign("Summer", description="Summer is coming.", announced_at=s.at(2026, 3, 11, 9)),
        "Old news": s.campaign("Old news", announced_at=s.at(2026, 3, 6, 9)),
        "Flash": s.campaign("Flash", announced_at=s.at(2026, 3, 10, 9), ends_at=s.at(2026, 3, 14, 0)),
    }
    campaigns["Sales push"].target_groups.add(sales)
    campaigns["Summer"].target_groups.add(marketing)
    return s, people, campaigns


def text_of(arrival) -> str:
    return arrival.body("plain")


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def subject_of(arrival) -> str:
    """The Subject as a reader sees it (decoded from RFC 2047, unfolded)."""
    return " ".join(str(make_header(decode_header(arrival.message["Subject"]))).split())


@pytest.fixture
def acme(db):
    return OrganizationFactory(name="Acme", slug="acme", time_zone="Europe/Paris")


# --- Weeks ---------------------------------------------------------------------------------------------

def test_the_due_week_is_the_one_that_ended_from_monday_0800_local_until_a_day_later():
    period, send_at = digest.due_week(PARIS, MONDAY_0830)
    assert (str(period.start), str(period.end), digest.week_key(period)) == ("2026-03-09", "2026-03-15", WEEK)
    assert send_at == datetime(2026, 3, 16, 8, 0, tzinfo=PARIS)
    assert digest.due_week(PARIS, datetime(2026, 3, 16, 7, 59, tzinfo=PARIS)) is None  # too early; W10 closed
    assert digest.due_week(PARIS, datetime(2026, 3, 17, 7, 59, tzinfo=PARIS))[0].start == period.start  # late beat
    assert digest.due_week(PARIS, datetime(2026, 3, 17, 8, 0, tzinfo=PARIS)) is None  # old news
    # 07:30 UTC on Monday is 08:30 in Paris and 03:30 in New York.
    assert digest.due_week(PARIS, datetime(2026, 3, 16, 7, 30, tzinfo=UTC)) is not None
    assert digest.due_week(ZoneInfo("America/New_York"), datetime(2026, 3, 16, 7, 30, tzinfo=UTC)) is None
    assert digest.week_period(WEEK, PARIS) == period
    # ISO weeks across a year end: Monday 29 Dec 2025 – Sunday 4 Jan 2026 is 2026-W01.
    first, _ = digest.due_week(UTC, datetime(2026, 1, 5, 9, tzinfo=UTC))
    assert digest.week_key(first) == "2026-W01"


# --- The e-mails ---------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_each_ambassador_with_news_gets_one_digest_with_exact_figures(acme, smtp_server):
    s, people, campaigns = programme(acme)
    cy_link = s.link(campaigns["Summer"], people["Cy"])  # Cy opened it already: the e-mail uses that link

    assert digest.produce_digests(now=MONDAY_0830) == 3
    with tenant_scope(acme):
        rows = {d.ambassador.display_name: d for d in Delivery.objects.filter(kind=Kind.DIGEST)}
    assert set(rows) == {"Ada", "Ben", "Cy"}  # Dee: nothing to say; Eve: off; Fay: paused; Gus: joined later
    assert {d.key for d in rows.values()} == {f"digest:email:{people[n].pk}:{WEEK}" for n in ("Ada", "Ben", "Cy")}
    assert {(d.period, d.channel, d.campaign_id) for d in rows.values()} == {(WEEK, "email", None)}

    run = send_due(now=MONDAY_0830)
    assert (run.sent, run.failed) == (3, 0)
    arrivals = smtp_server.wait_for(3)
    assert sorted(smtp_server.recipients()) == ["ada@acme.test", "ben@acme.test", "cy@acme.test"]

    [ada] = smtp_server.to("ada@acme.test")
    assert subject_of(ada) == "Your week at Acme: 1 new campaign to share"
    assert ada.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = text_of(ada)
    assert "Your week at Acme, 9 Mar – 15 Mar 2026:" in text
    assert {"Clicks on your links: 3", "Leads: 1", "Points: 30",
            "Rank: 1 of 6 (up 1 place on the week before)"} <= set(lines(text))
    assert "Sales push" in text and "Our spring offer for sales teams." in text
    for other in ("Summer", "Old news", "Flash"):
        assert other not in text
    with tenant_scope(acme):
        link = TrackedLink.objects.get(ambassador=people["Ada"], campaign=campaigns["Sales push"])
    for channel, label in (("linkedin", "Share on LinkedIn"), ("x", "Share on X"), ("email", "Send by e-mail")):
        url = share_action_url(link, channel, org_slug="acme")
        assert f"{label}: {url}" in text
        assert f'href="{url.replace("&", "&amp;")}"' in ada.body("html")
        assert resolve(urlsplit(url).path).url_name == "share_open"
    html = ada.body("html")
    assert '<td align="right" style="font-weight:700;font-size:16px;" data-figure="points">30</td>' in html

    ben = text_of(smtp_server.to("ben@acme.test")[0])
    assert {"Clicks on your links: 0", "Leads: 0", "Points: 1",
            "Rank: 3 of 6 (down 2 places on the week before)"} <= set(lines(ben))
    assert "New this week" not in ben
    assert subject_of(smtp_server.to("ben@acme.test")[0]) == "Your week at Acme, 9 Mar – 15 Mar 2026"

    cy = text_of(smtp_server.to("cy@acme.test")[0])
    assert {"Clicks on your links: 0", "Leads: 0", "Points: 0"} <= set(lines(cy))
    assert not [line for line in lines(cy) if line.startswith("Rank")]  # no activity: not "Rank 4 of 6" (tied last)
    assert "Summer" in cy and "Summer is coming." in cy and "Sales push" not in cy
    assert f"Share on LinkedIn: {share_action_url(cy_link, 'linkedin', org_slug='acme')}" in cy
    assert "Unsubscribe from these e-mails: http" in cy
    assert len(arrivals) == 3


@pytest.mark.django_db
def test_re_running_the_producer_and_the_sender_sends_nothing_more(acme, smtp_server):
    programme(acme)
    assert digest.produce_digests(now=MONDAY_0830) == 3
    send_due(now=MONDAY_0830)
    smtp_server.wait_for(3)
    for moment in (MONDAY_0830, MONDAY_0830 + timedelta(minutes=15), MONDAY_0830 + timedelta(hours=23)):
        assert digest.produce_digests(now=moment) == 0
    cache.clear()  # the "already produced" shortcut gone: the unique key alone keeps it once
    assert digest.produce_digests(now=MONDAY_0830 + timedelta(hours=1)) == 0
    assert send_due(now=MONDAY_0830 + timedelta(hours=1)).claimed == 0
    assert len(smtp_server.settle()) == 3
    with tenant_scope(acme):
        assert Delivery.objects.filter(kind=Kind.DIGEST, status=DeliveryStatus.SENT).count() == 3


@pytest.mark.django_db
def test_an_ambassador_who_turned_the_digest_off_meanwhile_is_not_sent_it(acme, smtp_server):
    _, people, _ = programme(acme)
    digest.produce_digests(now=MONDAY_0830)
    with tenant_scope(acme):
        set_frequency(people["Ben"], Kind.DIGEST, Frequency.OFF)
    send_due(now=MONDAY_0830)
    assert sorted(smtp_server.recipients()) == ["ada@acme.test", "cy@acme.test"]
    with tenant_scope(acme):
        assert Delivery.objects.get(ambassador=people["Ben"]).status == DeliveryStatus.SKIPPED


@pytest.mark.django_db
def test_nothing_is_produced_outside_the_monday_window(acme):
    programme(acme)
    for moment in (datetime(2026, 3, 16, 7, 59, tzinfo=PARIS), datetime(2026, 3, 17, 8, 0, tzinfo=PARIS),
                   datetime(2026, 3, 13, 12, 0, tzinfo=PARIS)):
        assert digest.produce_digests(now=moment) == 0
    with tenant_scope(acme):
        assert not Delivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_overlapping_producers_write_each_digest_once(acme):
    programme(acme)
    at_once(lambda i: digest.produce_digests(now=MONDAY_0830), 3)
    with tenant_scope(acme):
        keys = list(Delivery.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == 3


def test_the_beat_produces_digests_and_reminders_every_15_minutes(settings):
    from config.celery import app

    app.loader.import_default_modules()
    for entry, task in (("produce-ambassador-digests", "notifications.tasks.produce_digests"),
                        ("produce-share-reminders", "notifications.tasks.produce_reminders")):
        beat = settings.CELERY_BEAT_SCHEDULE[entry]
        assert (beat["task"], beat["schedule"]) == (task, timedelta(minutes=15))
        assert task in app.tasks
