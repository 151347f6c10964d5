"""The ambassador's feed on the portal home: "New" (live campaigns gone live in the last 7 days,
or since my previous visit when that is longer ago), "Not shared yet" (live campaigns of mine
without a share of mine), "Ends soon" (live, ending within 7 days, soonest first), featured
campaigns first in each; drafts, campaigns not started yet and campaigns for other groups are in
none. The campaigns page shows the Featured, New and Ends soon badges. The home's queries stay
bounded, feed included."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ambassadors.models import Ambassador
from campaigns import selectors as campaign_selectors
from campaigns.models import Campaign, CampaignStatus
from portal import selectors
from portal.views import PREVIOUS_VISIT_KEY
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory, GroupFactory, LinkFactory, MessageFactory, ShareEventFactory

DAY = timedelta(days=1)


class World:
    pass


@pytest.fixture
def world(org, ambassador_user):
    """My campaigns, each named after where it belongs (as of now)."""
    w = World()
    w.org, w.user, w.now = org, ambassador_user, timezone.now()
    with tenant_scope(org):
        w.me = Ambassador.objects.get(user=ambassador_user)

    def campaign(name, *, age_days=30, **fields):
        made = CampaignFactory(organization=org, name=name, **fields)
        with tenant_scope(org):  # created_at is set on insert: age it afterwards
            Campaign.objects.filter(pk=made.pk).update(created_at=w.now - age_days * DAY)
            made.refresh_from_db()
        return made

    w.campaign = campaign
    w.fresh = campaign("Fresh", age_days=0)
    w.announced = campaign("Announced yesterday", announced_at=w.now - DAY)
    w.started = campaign("Started 2 days ago", starts_at=w.now - 2 * DAY)
    w.shared = campaign("Old and shared")
    w.unshared = campaign("Old, not shared")
    w.ending = campaign("Ends in 2 days", ends_at=w.now + 2 * DAY)
    w.ending_later = campaign("Ends in 20 days", ends_at=w.now + 20 * DAY)
    w.featured = campaign("Featured, ends in 5 days", featured=True, ends_at=w.now + 5 * DAY)
    w.not_started = campaign("Starts in 2 days", age_days=0, starts_at=w.now + 2 * DAY)
    w.draft = campaign("Draft", age_days=0, status=CampaignStatus.DRAFT)
    w.paused = campaign("Paused", age_days=0, status=CampaignStatus.PAUSED)
    others = GroupFactory(organization=org, name="Others")
    w.for_others = campaign("For other groups", age_days=0)
    with tenant_scope(org):
        w.for_others.target_groups.set([others])
    ShareEventFactory(link=LinkFactory(campaign=w.shared, ambassador=w.me))
    return w


def names(campaigns) -> list[str]:
    return [campaign.name for campaign in campaigns]


def feed_of(w, **kwargs):
    with tenant_scope(w.org):
        campaigns = list(campaign_selectors.campaigns_for_ambassador(w.me, at=w.now))
        return selectors.feed(w.me, campaigns, at=w.now, limit=20, **kwargs)


def test_feed_sections(world):
    feed = feed_of(world)
    assert names(feed.new) == ["Fresh", "Announced yesterday", "Started 2 days ago"]  # the latest first
    assert names(feed.not_shared) == ["Featured, ends in 5 days", "Ends in 2 days", "Ends in 20 days",
                                      "Fresh", "Announced yesterday", "Started 2 days ago", "Old, not shared"]
    assert names(feed.ends_soon) == ["Featured, ends in 5 days", "Ends in 2 days"]  # featured, then soonest
    shown = {name for section in (feed.new, feed.not_shared, feed.ends_soon) for name in names(section)}
    assert not shown & {"Old and shared", "Starts in 2 days", "Draft", "Paused", "For other groups"}


def test_featured_campaigns_come_first_in_new(world):
    world.campaign("Featured and fresh", age_days=2, featured=True)
    assert names(feed_of(world).new)[0] == "Featured and fresh"


def test_new_reaches_back_to_my_previous_visit_when_it_is_older(world):
    world.campaign("Live for 15 days", age_days=15)
    assert "Live for 15 days" not in names(feed_of(world).new)
    assert "Live for 15 days" in names(feed_of(world, since=world.now - 20 * DAY).new)
    assert "Live for 15 days" not in names(feed_of(world, since=world.now - 2 * DAY).new)  # 7 days at least


def test_sections_are_capped_and_say_how_many_there_are(world):
    with tenant_scope(world.org):
        campaigns = list(campaign_selectors.campaigns_for_ambassador(world.me, at=world.now))
        feed = selectors.feed(world.me, campaigns, at=world.now, limit=2)
    assert len(feed.not_shared) == 2 and feed.not_shared_total == 7
    assert len(feed.new) == 2 and feed.new_total == 3


# --- the home page -------------------------------------------------------------------------------------

def home(org):
    return reverse("org_home", args=[org.slug])


def section(html: str, heading_id: str) -> list[str]:
    """The campaign names listed in a feed section of the page."""
    start = html.index(f'id="{heading_id}"')
    block = html[start:html.index("</section>", start)]
    return re.findall(r'<li><a href="[^"]+">([^<]+)</a>', block)


def test_home_shows_the_feed(world, login):
    html = login(world.user).get(home(world.org)).content.decode()
    assert section(html, "feed-new-h") == ["Fresh", "Announced yesterday", "Started 2 days ago"]
    assert section(html, "feed-unshared-h") == ["Featured, ends in 5 days", "Ends in 2 days", "Ends in 20 days",
                                                "Fresh", "Announced yesterday"]  # five, then a link to all
    assert "7 not shared yet in all" in html
    assert section(html, "feed-ending-h") == ["Featured, ends in 5 days", "Ends in 2 days"]
    assert html.index('id="feed-h"') < html.index('id="campaigns-h"')
    assert "Draft" not in html and "For other groups" not in html


def test_home_remembers_my_previous_visit(world, login):
    world.campaign("Live for 15 days", age_days=15)
    client = login(world.user)
    session = client.session
    key = f"{PREVIOUS_VISIT_KEY}:{world.org.pk}"
    session[key] = (world.now - 20 * DAY).isoformat()
    session.save()
    html = client.get(home(world.org)).content.decode()
    assert "Live for 15 days" in section(html, "feed-new-h")
    assert parse_datetime(client.session[key]) >= world.now  # this visit is the previous one next time
    html = client.get(home(world.org)).content.decode()
    assert "Live for 15 days" not in section(html, "feed-new-h")


def test_no_feed_without_live_campaigns(org, ambassador_user, login):
    CampaignFactory(organization=org, name="Later", starts_at=timezone.now() + DAY)
    html = login(ambassador_user).get(home(org)).content.decode()
    assert 'id="feed-h"' not in html and "Later" in html


def heading(html: str, name: str) -> str:
    """The campaign's heading (h2 or h3 with its badges) in the page's list of campaigns."""
    return re.search(rf'<h[23] id="c-[^"]+"><a href="[^"]+">{re.escape(name)}</a>(.*?)</h[23]>', html, re.S)[1]


def test_home_and_campaigns_page_show_badges(world, login):
    client = login(world.user)
    for url in (home(world.org), reverse("my_campaigns", args=[world.org.slug])):
        html = client.get(url).content.decode()
        assert '<span class="badge featured">Featured</span>' in heading(html, "Featured, ends in 5 days")
        assert '<span class="badge new">New</span>' in heading(html, "Fresh")
        assert '<span class="badge ends-soon">Ends' in heading(html, "Ends in 2 days")
        assert "badge" not in heading(html, "Ends in 20 days")


def test_campaigns_page_lists_featured_first(world, login):
    html = login(world.user).get(reverse("my_campaigns", args=[world.org.slug])).content.decode()
    headings = re.findall(r'<h2 id="c-[^"]+"><a href="[^"]+">([^<]+)</a>', html)
    assert headings[0] == "Featured, ends in 5 days" and headings[1] == "Ends in 2 days"


# --- speed --------------------------------------------------------------------------------------------

def test_home_with_its_feed_takes_a_bounded_number_of_queries(world, login, django_assert_max_num_queries):
    client = login(world.user)
    client.get(home(world.org))  # makes the links, marks the visit
    with CaptureQueriesContext(connection) as before:
        assert client.get(home(world.org)).status_code == 200
    for n in range(8):
        campaign = world.campaign(f"More {n}", age_days=n, featured=n % 2 == 0, ends_at=world.now + (n + 1) * DAY)
        MessageFactory(campaign=campaign, organization=world.org)
        if n % 3 == 0:
            ShareEventFactory(link=LinkFactory(campaign=campaign, ambassador=world.me))
    client.get(home(world.org))  # links for the new campaigns on the home
    with CaptureQueriesContext(connection) as after:
        html = client.get(home(world.org)).content.decode()
    assert "More 0" in section(html, "feed-new-h")
    assert len(after) == len(before)
    with django_assert_max_num_queries(30):
        client.get(home(world.org))
