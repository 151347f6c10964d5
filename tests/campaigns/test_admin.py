"""Django admin for platform staff: every campaigns model, organisation shown and filterable."""

import pytest
from django.urls import reverse

from accounts.models import User
from campaigns.models import CampaignMessage, Domain
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory, CostFactory, DomainFactory, GroupFactory, LinkFactory, MessageFactory

pytestmark = pytest.mark.django_db

MODELS = ["campaign", "campaignmessage", "campaigncost", "trackedlink", "shareevent", "domain"]


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser(email="root@platform.test", password="x-pass-123456")
    client.force_login(user)
    return client


def test_every_model_is_registered_and_lists_all_organisations(staff, org, other_org):
    for o in (org, other_org):
        campaign = CampaignFactory(organization=o, name=f"Campaign of {o.name}")
        MessageFactory(campaign=campaign)
        CostFactory(campaign=campaign)
        LinkFactory(campaign=campaign)
        DomainFactory(organization=o)
    for model in MODELS:
        listing = staff.get(reverse(f"admin:campaigns_{model}_changelist"))
        assert listing.status_code == 200, model
        html = listing.content.decode()
        assert "Acme" in html and "Rival" in html, model
        filtered = staff.get(reverse(f"admin:campaigns_{model}_changelist") + f"?organization__id__exact={org.pk}")
        assert filtered.status_code == 200 and "Campaign of Rival" not in filtered.content.decode()
    campaign = CampaignFactory(organization=org)
    assert staff.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).status_code == 200
    assert staff.get(reverse("admin:campaigns_campaign_add")).status_code == 200


def test_staff_verify_domains(staff, org):
    domain = DomainFactory(organization=org, host="go.acme.example")
    response = staff.post(reverse("admin:campaigns_domain_change", args=[domain.pk]),
                          {"organization": org.pk, "host": "go.acme.example", "verified": "on"})
    assert response.status_code == 302
    with tenant_scope(org):
        assert Domain.objects.get().verified is True


def test_admin_refuses_foreign_target_groups_and_sets_inline_organisations(staff, org, other_org):
    campaign = CampaignFactory(organization=org)
    foreign = GroupFactory(organization=other_org, name="Rival group")
    data = {
        "organization": org.pk, "name": campaign.name, "slug": campaign.slug, "description": "",
        "destination_url": campaign.destination_url, "fallback_url": "", "utm_source": "{channel}",
        "utm_medium": "ambassador", "utm_campaign": "{campaign}", "utm_content": "{ambassador}", "utm_term": "",
        "status": "active", "minutes_per_share": "5.00", "target_groups": [foreign.pk],
        "messages-TOTAL_FORMS": "1", "messages-INITIAL_FORMS": "0",
        "messages-0-channel": "x", "messages-0-subject": "", "messages-0-text": "Hello {link}",
        "costs-TOTAL_FORMS": "0", "costs-INITIAL_FORMS": "0",
    }
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    refused = staff.post(url, data)
    assert refused.status_code == 200 and "belong to another organisation" in refused.content.decode()
    data["target_groups"] = []
    assert staff.post(url, data).status_code == 302
    with tenant_scope(org):
        assert CampaignMessage.objects.get().organization_id == org.pk


def test_admin_checks_post_lengths_too(staff, org):
    campaign = CampaignFactory(organization=org)
    response = staff.post(reverse("admin:campaigns_campaignmessage_add"),
                          {"campaign": campaign.pk, "channel": "x", "subject": "", "text": "a" * 300})
    assert response.status_code == 200 and "X allows 280 characters" in response.content.decode()
    ok = staff.post(reverse("admin:campaigns_campaignmessage_add"),
                    {"campaign": campaign.pk, "channel": "x", "subject": "", "text": "Short {link}"})
    assert ok.status_code == 302
    with tenant_scope(org):
        assert CampaignMessage.objects.get().organization_id == org.pk
