"""The demo a newcomer sees after `make run`: two organisations, campaigns worth showing, 90
days of processed clicks, and a demo ambassador who stands in the middle of the leaderboard."""

from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import User
from ambassadors.models import Ambassador, Kind
from campaigns.channels import SHARE_CHANNELS
from campaigns.models import (
    MAX_VARIANTS_PER_CHANNEL,
    Campaign,
    CampaignCost,
    CampaignImage,
    CampaignMessage,
    CampaignStatus,
    ShareEvent,
    TrackedLink,
)
from common.events import EVENT_TOPIC
from common.models import OutboxEvent
from portal import selectors as portal
from reports.filters import ReportFilter
from tenancy.models import Membership, Organization, Role
from tenancy.scoping import tenant_scope
from tracking.models import Click, Credit, CreditKind, DailyClickRollup, RawClick

PASSWORD = "demo-pass-2026"


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.CLICK_SPOOL_DIR = tmp_path
    call_command("seed_demo")
    return {org.slug: org for org in Organization.objects.all()}


def test_two_organisations_with_people_in_groups(demo):
    assert set(demo) == {"northwind", "globex"}
    with scopes_disabled():
        for org in demo.values():
            ambassadors = Ambassador.objects.filter(organization=org)
            kinds = Counter(ambassadors.values_list("kind", flat=True))
            assert kinds[Kind.INTERNAL] >= 10 and kinds[Kind.EXTERNAL] >= 10
            assert ambassadors.count() >= 20
            assert not ambassadors.filter(groups=None, status="active", user__isnull=False).exclude(
                email="consultant@example.com").exists()
            roles = Counter(Membership.objects.filter(organization=org).values_list("role", flat=True))
            assert roles[Role.OWNER] == 1 and roles[Role.MANAGER] >= 1
        consultant = User.objects.get(email="consultant@example.com")
        assert Membership.objects.filter(user=consultant).count() == 2


def test_demo_logins_work(demo, client):
    for email in ["manager@northwind.example", "ambassador@globex.example", "consultant@example.com"]:
        assert client.login(email=email, password="demo-pass-2026"), email
        client.logout()


def test_campaigns_links_shares_and_processed_clicks(demo):
    with scopes_disabled():
        for org in demo.values():
            campaigns = Campaign.objects.filter(organization=org)
            assert set(campaigns.values_list("status", flat=True)) == {"active", "ended", "draft"}
            assert CampaignMessage.objects.filter(organization=org).count() >= 15
            assert CampaignCost.objects.filter(organization=org).exists()
            assert TrackedLink.objects.filter(organization=org).count() >= 20
            assert ShareEvent.objects.filter(organization=org).count() >= 50
            clicks = Click.objects.filter(organization=org)
            assert clicks.count() >= 500
            assert clicks.filter(is_bot=True).exists() and clicks.filter(is_head=True).exists()
            assert clicks.filter(is_self=True).exists()
            assert clicks.filter(is_unique=False, is_bot=False, is_self=False).exists()  # repeat visitors
            assert len(set(clicks.values_list("channel", flat=True))) >= 4
            days = clicks.dates("clicked_at", "day")
            assert (days.last() - days.first()).days >= 60
        assert not RawClick.objects.exists()  # all processed


def test_rollups_equal_a_recount_of_the_demo_clicks(demo):
    with scopes_disabled():
        recount = Counter()
        for c in Click.objects.all():
            key = (c.organization_id, c.campaign_id, c.ambassador_id, c.channel, c.day)
            recount[key + ("total",)] += 1
            recount[key + ("bot",)] += c.is_bot
            recount[key + ("self",)] += c.is_self
            recount[key + ("clicks",)] += not c.is_bot and not c.is_self
            recount[key + ("unique",)] += c.is_unique
        rolled = Counter()
        for r in DailyClickRollup.objects.all():
            key = (r.organization_id, r.campaign_id, r.ambassador_id, r.channel, r.day)
            for name, value in [("total", r.total), ("bot", r.bot_clicks), ("self", r.self_clicks),
                                ("clicks", r.clicks), ("unique", r.unique_clicks)]:
                rolled[key + (name,)] += value
        assert +rolled == +recount


def test_seeding_twice_changes_nothing(demo):
    with scopes_disabled():
        before = Click.objects.count()
    call_command("seed_demo")
    with scopes_disabled():
        assert Click.objects.count() == before
    assert Organization.objects.count() == 2


def demo_ambassador_of(org) -> Ambassador:
    """The ambassador README and the start-up message give for the ambassador role."""
    return Ambassador.objects.get(organization=org, email=f"ambassador@{org.slug}.example")


def test_the_demo_ambassador_stands_in_the_middle_of_the_leaderboard(demo):
    for org in demo.values():
        with tenant_scope(org):
            me = demo_ambassador_of(org)
            f = ReportFilter(org.pk, portal.portal_period(None, org.tzinfo))  # the portal's default: 30 days
            figures = portal.standing(f, me.pk).figures
            daily = portal.daily_clicks(f, me.pk)
        assert figures.ranked == 25 and 8 <= figures.rank <= 17, (org.slug, figures)
        assert figures.clicks > 0 and figures.unique_clicks > 0 and figures.shares > 0, figures
        assert figures.leads > 0 and figures.points > 0, figures
        assert sum(clicks for _, clicks in daily) == figures.clicks
        assert sum(1 for _, clicks in daily if clicks) >= 5  # a chart with bars over weeks, not one spike


def test_the_demo_ambassador_portal_home_shows_their_standing_and_links(demo, client):
    for org in demo.values():
        assert client.login(email=f"ambassador@{org.slug}.example", password=PASSWORD)
        response = client.get(reverse("org_home", kwargs={"org_slug": org.slug}))
        assert response.status_code == 200
        figures = response.context["figures"]
        assert 8 <= figures.rank <= 17 and figures.clicks > 0 and figures.leads > 0
        chart = response.context["chart"]  # the daily clicks chart: bars on several days
        assert chart["total"] == figures.clicks and sum(bar["value"] > 0 for bar in chart["bars"]) >= 5
        assert response.context["entries"] and all(entry.short_url for entry in response.context["entries"])
        client.logout()


def test_the_demo_ambassador_history_spans_networks_campaigns_and_sales(demo):
    with scopes_disabled():
        for org in demo.values():
            me = demo_ambassador_of(org)
            shares = ShareEvent.objects.filter(ambassador=me)
            assert len(set(shares.values_list("channel", flat=True))) >= 3
            assert len(set(shares.values_list("campaign_id", flat=True))) >= 3
            assert shares.filter(shared_at__lt=timezone.now() - timedelta(days=45)).exists()  # weeks of history
            assert all(share.message_id for share in shares)  # each with the post variant they were given
            clicks = Click.objects.filter(ambassador_id=me.pk)
            assert clicks.filter(is_bot=True).exists() and clicks.filter(is_unique=False, is_bot=False).exists()
            sale_credits = Credit.objects.filter(ambassador_id=me.pk, kind=CreditKind.SALE)
            assert sale_credits.values("sale_id").distinct().count() >= 1


def test_campaigns_worth_showing(demo):
    now = timezone.now()
    with scopes_disabled():
        for org in demo.values():
            campaigns = Campaign.objects.filter(organization=org)
            featured = campaigns.filter(featured=True)
            assert featured.count() == 1
            main = featured.get()
            variants = Counter(CampaignMessage.objects.filter(campaign=main).values_list("channel", flat=True))
            assert set(variants) == set(SHARE_CHANNELS)
            assert all(2 <= n <= min(3, MAX_VARIANTS_PER_CHANNEL) for n in variants.values()), variants
            live = campaigns.filter(status=CampaignStatus.ACTIVE)
            assert live.filter(ends_at__gt=now, ends_at__lte=now + timedelta(days=7)).exists()  # ends this week
            assert live.filter(starts_at__gt=now - timedelta(days=3), starts_at__lte=now).exists()  # just started
            # Seeding tells no one: whatever has started counts as announced already.
            assert not campaigns.filter(starts_at__lte=now, announced_at__isnull=True).exclude(
                status=CampaignStatus.DRAFT).exists()


def test_the_featured_campaign_has_a_picture_the_demo_ambassador_can_download(demo, client):
    org = demo["northwind"]
    with scopes_disabled():
        (image,) = CampaignImage.objects.filter(campaign__organization=org, campaign__featured=True)
    assert (image.format, image.width, image.height) == ("PNG", 1200, 630) and image.alt_text
    assert client.login(email="ambassador@northwind.example", password=PASSWORD)
    for name in ("campaign_image_download", "campaign_image_thumbnail"):
        response = client.get(reverse(name, kwargs={"org_slug": org.slug, "image_id": image.public_id}))
        assert response.status_code == 200 and response["Content-Type"].startswith("image/")


def test_seeding_writes_no_notifications(demo):
    # Domain events (common.events: leads, sales, earnings…) are written as in production; with no
    # webhook endpoint in the demo they go nowhere. Nothing else waits in the outbox.
    assert not OutboxEvent.objects.exclude(topic=EVENT_TOPIC).exists()
    assert mail.outbox == []
