"""Post variants, managed by admins: 1 to 5 suggested posts per network. A 6th is refused with a
message by the service, the campaign page, the API and the Django admin, also when admins add at
the same moment (the campaign's row is locked while counting); the page groups the posts per
network as Variant 1, 2, …; the Featured switch is on the form and in the API."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from campaigns.models import MAX_VARIANTS_PER_CHANNEL, Campaign, CampaignMessage
from campaigns.services import CampaignError, content
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory, MessageFactory
from tests.support.concurrency import at_once

FULL = "LinkedIn already has 5 variants, the most a network can have: edit or delete one of them instead."


def variants(org, campaign, channel="linkedin") -> int:
    with tenant_scope(org):
        return CampaignMessage.objects.filter(campaign=campaign, channel=channel).count()


def fill(org, campaign, channel="linkedin", n=MAX_VARIANTS_PER_CHANNEL):
    for i in range(n):
        MessageFactory(campaign=campaign, organization=org, channel=channel, text=f"Variant {i + 1}: {{link}}")


def test_max_variants_is_five():
    assert MAX_VARIANTS_PER_CHANNEL == 5


def test_the_service_refuses_a_sixth_variant_of_a_network(org, campaign):
    with tenant_scope(org):
        for i in range(5):
            content.add_message(campaign, channel="linkedin", text=f"Take {i} {{link}}")
        with pytest.raises(CampaignError) as refused:
            content.add_message(campaign, channel="linkedin", text="One more {link}")
        assert (refused.value.field, refused.value.message) == ("channel", FULL)
        content.add_message(campaign, channel="x", text="Other networks have room {link}")
    assert variants(org, campaign) == 5 and variants(org, campaign, "x") == 1


def test_moving_a_variant_into_a_full_network_is_refused_but_editing_one_there_is_not(org, campaign):
    fill(org, campaign)
    with tenant_scope(org):
        on_x = content.add_message(campaign, channel="x", text="On X {link}")
        with pytest.raises(CampaignError, match="LinkedIn already has 5 variants"):
            content.update_message(on_x, channel="linkedin")
        first = CampaignMessage.objects.filter(campaign=campaign, channel="linkedin").first()
        content.update_message(first, text="Reworded {link}")
        assert CampaignMessage.objects.get(pk=on_x.pk).channel == "x"
    assert variants(org, campaign) == 5


@pytest.mark.django_db(transaction=True)
def test_admins_adding_at_the_same_moment_cannot_make_a_sixth(org, admin_user, campaign):
    """Six requests at once with three variants already there: two are added, four refused."""
    fill(org, campaign, n=3)
    url = f"/api/v1/o/{org.slug}/campaigns/{campaign.public_id}/messages/"
    clients = []
    for _ in range(6):
        client = Client()
        client.force_login(admin_user)
        clients.append(client)
    def add(i):
        response = clients[i].post(url, {"channel": "linkedin", "text": f"Racer {i} {{link}}"},
                                   content_type="application/json")
        return response.status_code, response.json()

    results = at_once(add, len(clients))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 201, 400, 400, 400, 400], results
    assert all(body == {"channel": [FULL]} for status, body in results if status == 400)
    assert variants(org, campaign) == 5


# --- the campaign page ------------------------------------------------------------------------------

def manage(org, campaign):
    return reverse("campaign_manage", args=[org.slug, campaign.public_id])


def test_the_page_groups_posts_per_network_as_variants(login, org, admin_user, campaign):
    fill(org, campaign, n=3)
    fill(org, campaign, channel="x", n=1)
    page = login(admin_user).get(manage(org, campaign)).content.decode()
    linkedin = page.index('id="variants-linkedin"')
    x = page.index('id="variants-x"')
    assert "LinkedIn <span class=\"muted\">· 3 of 5 variants</span>" in page
    assert "X <span class=\"muted\">· 1 of 5 variants</span>" in page
    assert re.findall(r">(Variant \d)</th>", page[linkedin:x]) == ["Variant 1", "Variant 2", "Variant 3"]
    assert re.findall(r">(Variant \d)</th>", page[x:]) == ["Variant 1"]
    assert "Delete LinkedIn variant 3" in page


def test_the_page_refuses_a_sixth_variant_with_its_message(login, org, admin_user, campaign):
    fill(org, campaign)
    client = login(admin_user)
    url = reverse("campaign_message_add", args=[org.slug, campaign.public_id])
    response = client.post(url, {"channel": "linkedin", "subject": "", "text": "Sixth {link}"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "LinkedIn already has 5 variants, the most a network can have" in page
    assert "LinkedIn has the most variants a network can have" in page
    assert variants(org, campaign) == 5
    ok = client.post(url, {"channel": "facebook", "subject": "", "text": "Facebook has room {link}"})
    assert ok.status_code == 302 and variants(org, campaign, "facebook") == 1


def test_the_edit_page_refuses_moving_a_post_to_a_full_network(login, org, admin_user, campaign):
    fill(org, campaign)
    on_x = MessageFactory(campaign=campaign, organization=org, channel="x", text="On X {link}")
    url = reverse("campaign_message_edit", args=[org.slug, campaign.public_id, on_x.public_id])
    client = login(admin_user)
    response = client.post(url, {"channel": "linkedin", "subject": "", "text": "On X {link}"})
    page = response.content.decode()
    assert response.status_code == 400 and "LinkedIn already has 5 variants" in page
    assert 'X post <span class="muted">· variant 1 of 1</span>' in page  # still the X post it is
    assert variants(org, campaign) == 5 and variants(org, campaign, "x") == 1
    with tenant_scope(org):
        third = CampaignMessage.objects.filter(campaign=campaign, channel="linkedin")[2]
    page = client.get(reverse("campaign_message_edit", args=[org.slug, campaign.public_id, third.public_id]))
    assert 'LinkedIn post <span class="muted">· variant 3 of 5</span>' in page.content.decode()


# --- the API ----------------------------------------------------------------------------------------

def test_the_api_refuses_a_sixth_variant_with_a_json_400(login, org, admin_user, campaign):
    fill(org, campaign)
    client = login(admin_user)
    url = f"/api/v1/o/{org.slug}/campaigns/{campaign.public_id}/messages/"
    response = client.post(url, {"channel": "linkedin", "text": "Sixth {link}"}, content_type="application/json")
    assert response.status_code == 400 and response.json() == {"channel": [FULL]}
    on_x = client.post(url, {"channel": "x", "text": "On X {link}"}, content_type="application/json").json()
    moved = client.patch(f"{url}{on_x['id']}/", {"channel": "linkedin"}, content_type="application/json")
    assert moved.status_code == 400 and moved.json() == {"channel": [FULL]}
    assert variants(org, campaign) == 5


# --- the Django admin (platform staff) -----------------------------------------------------------------

@pytest.fixture
def staff(db, client):
    client.force_login(User.objects.create_superuser(email="root@platform.test", password="x-pass-123456"))
    return client


def test_the_django_admin_refuses_a_sixth_variant(staff, org, campaign):
    fill(org, campaign)
    response = staff.post(reverse("admin:campaigns_campaignmessage_add"),
                          {"campaign": campaign.pk, "channel": "linkedin", "subject": "", "text": "Sixth {link}"})
    assert response.status_code == 200 and "LinkedIn already has 5 variants" in response.content.decode()
    assert variants(org, campaign) == 5


def test_the_django_admin_inline_refuses_six_variants_of_one_network(staff, org):
    campaign = CampaignFactory(organization=org)
    data = {
        "organization": org.pk, "name": campaign.name, "slug": campaign.slug, "description": "",
        "destination_url": campaign.destination_url, "fallback_url": "", "utm_source": "{channel}",
        "utm_medium": "ambassador", "utm_campaign": "{campaign}", "utm_content": "{ambassador}", "utm_term": "",
        "status": "active", "minutes_per_share": "5.00", "messages-TOTAL_FORMS": "6", "messages-INITIAL_FORMS": "0",
        "costs-TOTAL_FORMS": "0", "costs-INITIAL_FORMS": "0",
    }
    for i in range(6):
        data.update({f"messages-{i}-channel": "linkedin", f"messages-{i}-subject": "",
                     f"messages-{i}-text": f"Take {i} {{link}}"})
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    refused = staff.post(url, data)
    assert refused.status_code == 200 and "LinkedIn already has 5 variants" in refused.content.decode()
    data["messages-5-channel"] = "x"
    assert staff.post(url, data).status_code == 302
    assert variants(org, campaign) == 5 and variants(org, campaign, "x") == 1


# --- featured --------------------------------------------------------------------------------------

def test_featured_is_set_on_the_form_and_shown_on_the_manage_pages(login, org, admin_user, campaign):
    client = login(admin_user)
    page = client.get(manage(org, campaign)).content.decode()
    assert 'name="featured"' in page and 'class="badge featured"' not in page
    data = {"name": campaign.name, "slug": campaign.slug, "description": "", "status": "active", "featured": "on",
            "destination_url": campaign.destination_url, "fallback_url": "", "starts_at": "", "ends_at": "",
            "minutes_per_share": "5", "utm_source": "{channel}", "utm_medium": "ambassador",
            "utm_campaign": "{campaign}", "utm_content": "{ambassador}", "utm_term": ""}
    assert client.post(manage(org, campaign), data).status_code == 302
    with tenant_scope(org):
        assert Campaign.objects.get(pk=campaign.pk).featured is True
    assert '<span class="badge featured">Featured</span>' in client.get(manage(org, campaign)).content.decode()
    listing = client.get(reverse("campaign_manage_list", args=[org.slug])).content.decode()
    assert '<span class="badge featured">Featured</span>' in listing


def test_featured_through_the_api(login, org, admin_user):
    client = login(admin_user)
    url = f"/api/v1/o/{org.slug}/campaigns/"
    created = client.post(url, {"name": "Big one", "destination_url": "https://www.example.com/", "featured": True},
                          content_type="application/json")
    assert created.status_code == 201 and created.json()["featured"] is True
    changed = client.patch(f"{url}{created.json()['id']}/", {"featured": False}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["featured"] is False
    bad = client.patch(f"{url}{created.json()['id']}/", {"featured": "maybe"}, content_type="application/json")
    assert bad.status_code == 400 and "featured" in bad.json()
