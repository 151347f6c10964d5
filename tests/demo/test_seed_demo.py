"""The demo a newcomer sees after `make run`."""

from collections import Counter

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from accounts.models import User
from ambassadors.models import Ambassador, Kind
from campaigns.models import Campaign, CampaignCost, CampaignMessage, ShareEvent, TrackedLink
from tenancy.models import Membership, Organization, Role
from tracking.models import Click, DailyClickRollup, RawClick


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
