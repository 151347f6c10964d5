"""A campaign is announced (one "campaign.live" outbox event, announced_at set) once ever: when it
is published live, from the pages and the API, or, with a start in the future, by the beat once
it starts; never again after a pause, an edit or a second writer."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus
from campaigns.services.announcements import announce_if_live, announce_started
from campaigns.services.campaigns import update_campaign
from common.models import OutboxEvent
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory
from tests.support.notify import publish

pytestmark = pytest.mark.django_db


def events() -> list[tuple[str, dict]]:
    """The announcements (the domain event campaign.published, also written, is tests/integrations')."""
    return list(OutboxEvent.objects.filter(topic="campaign.live").order_by("pk").values_list("key", "payload"))


def test_publishing_writes_one_announcement_and_a_draft_none(org):
    campaign = publish(org, name="Draft first", status=CampaignStatus.DRAFT)
    assert events() == [] and campaign.announced_at is None
    with tenant_scope(org):
        update_campaign(campaign, status=CampaignStatus.ACTIVE)
        campaign.refresh_from_db()
    assert events() == [(f"campaign.live:{campaign.pk}", {"campaign_id": campaign.pk})]
    assert campaign.announced_at is not None
    with tenant_scope(org):  # paused, edited, live again: still told once
        update_campaign(campaign, status=CampaignStatus.PAUSED)
        update_campaign(campaign, status=CampaignStatus.ACTIVE, name="Draft first, again")
    assert len(events()) == 1


def test_a_campaign_starting_later_is_announced_by_the_beat_once_it_starts(org):
    starts = timezone.now() + timedelta(days=2)
    campaign = publish(org, name="Next week", starts_at=starts)
    assert events() == []
    assert announce_started(now=starts - timedelta(minutes=1)) == 0
    assert announce_started(now=starts + timedelta(seconds=30)) == 1
    assert announce_started(now=starts + timedelta(minutes=1)) == 0
    assert events() == [(f"campaign.live:{campaign.pk}", {"campaign_id": campaign.pk})]


def test_the_beat_skips_campaigns_that_ended_or_are_not_active(org):
    now = timezone.now()
    CampaignFactory(organization=org, status=CampaignStatus.ACTIVE, starts_at=now - timedelta(days=5),
                    ends_at=now - timedelta(days=1))
    CampaignFactory(organization=org, status=CampaignStatus.PAUSED)
    CampaignFactory(organization=org, status=CampaignStatus.DRAFT)
    assert announce_started(now=now) == 0 and events() == []


def test_a_campaign_activated_without_the_service_is_caught_by_the_beat(org):
    """The Django admin, a shell, a data fix: anything that sets status active without save_campaign."""
    campaign = CampaignFactory(organization=org, status=CampaignStatus.ACTIVE)
    assert events() == []
    assert announce_started() == 1
    assert events()[0][0] == f"campaign.live:{campaign.pk}"


def test_two_writers_with_stale_copies_announce_once(org):
    campaign = CampaignFactory(organization=org, status=CampaignStatus.ACTIVE)
    with tenant_scope(org):
        first, second = Campaign.objects.get(pk=campaign.pk), Campaign.objects.get(pk=campaign.pk)
    assert announce_if_live(first) is True
    assert announce_if_live(second) is False  # its copy still says "never announced"
    assert len(events()) == 1


def test_publishing_through_the_api_and_the_page_announces(org, admin_user, client):
    client.force_login(admin_user)
    created = client.post(f"/api/v1/o/{org.slug}/campaigns/", {
        "name": "From the API", "destination_url": "https://shop.example.com/api", "status": "active",
    }, content_type="application/json")
    assert created.status_code == 201, created.content
    page = client.post(f"/o/{org.slug}/manage/campaigns/new/", {
        "name": "From the page", "destination_url": "https://shop.example.com/page", "status": "active",
        "utm_source": "{channel}", "utm_medium": "ambassador", "utm_campaign": "{campaign}",
        "utm_content": "{ambassador}", "minutes_per_share": "5",
    })
    assert page.status_code == 302, page.content.decode()[:2000]
    with tenant_scope(org):
        ids = {c.name: c.pk for c in Campaign.objects.all()}
    assert sorted(key for key, _ in events()) == sorted(f"campaign.live:{pk}" for pk in ids.values())
