"""The campaign pages: the ambassador's sharing kit and the managers' campaign settings."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign, CampaignCost, CampaignMessage, ShareEvent, TrackedLink
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory, CostFactory, GroupFactory, LinkFactory, MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://amb.example.com"


# --- Ambassadors ---------------------------------------------------------------------------------------

def test_ambassador_sees_campaigns_and_gets_a_link_with_the_button(login, org, ambassador_user, ambassador, campaign):
    client = login(ambassador_user)
    page = client.get(reverse("my_campaigns", args=[org.slug]))
    assert page.status_code == 200
    assert "Spring webinar" in page.content.decode() and "Get my link" in page.content.decode()
    response = client.post(reverse("my_campaign_link", args=[org.slug, campaign.public_id]))
    assert response.status_code == 302
    assert response["Location"] == reverse("my_campaign", args=[org.slug, campaign.public_id])
    with tenant_scope(org):
        link = TrackedLink.objects.get(ambassador=ambassador)
    page = client.get(reverse("my_campaigns", args=[org.slug])).content.decode()
    assert f"https://amb.example.com/l/{link.code}" in page and "Get my link" not in page


def test_the_campaign_page_makes_the_link_and_shows_the_kit(login, org, ambassador_user, ambassador, campaign):
    MessageFactory(campaign=campaign, channel="linkedin", text="Proud to share our webinar: {link}")
    client = login(ambassador_user)
    page = client.get(reverse("my_campaign", args=[org.slug, campaign.public_id]))
    assert page.status_code == 200
    with tenant_scope(org):
        link = TrackedLink.objects.get(ambassador=ambassador, campaign=campaign)
    html = page.content.decode()
    assert f'value="https://amb.example.com/l/{link.code}"' in html
    assert f"https://amb.example.com/l/{link.code}/li" in html
    assert f"Proud to share our webinar: https://amb.example.com/l/{link.code}/li" in html
    assert f'src="/api/v1/o/{org.slug}/links/{link.code}/qr.png?scale=5"' in html and 'alt="QR code' in html
    for channel in ("linkedin", "x", "facebook", "email", "whatsapp"):
        assert reverse("share_link", args=[org.slug, link.code, channel]) in html
    client.get(reverse("my_campaign", args=[org.slug, campaign.public_id]))
    with tenant_scope(org):
        assert TrackedLink.objects.count() == 1


def test_the_campaign_page_says_the_campaign_is_featured(login, org, ambassador_user, ambassador):
    featured = CampaignFactory(organization=org, featured=True)
    plain = CampaignFactory(organization=org)
    client = login(ambassador_user)
    heading = {c: client.get(reverse("my_campaign", args=[org.slug, c.public_id])).content.decode()
               .split("<h1>", 1)[1].split("</h1>", 1)[0] for c in (featured, plain)}
    assert "Featured" in heading[featured] and "Featured" not in heading[plain]


def test_share_buttons_are_links_to_the_share_action(login, org, ambassador_user, ambassador, campaign):
    """The share action and the record of an opened dialog: tests/campaigns/test_share_views.py."""
    link = LinkFactory(campaign=campaign, ambassador=ambassador)
    html = login(ambassador_user).get(reverse("my_campaign", args=[org.slug, campaign.public_id])).content.decode()
    assert f'href="{reverse("share_open", args=[org.slug, link.code, "facebook"])}?t=' in html
    with tenant_scope(org):
        assert not ShareEvent.objects.exists()


def test_campaigns_for_other_groups_are_not_shown(login, org, ambassador_user, campaign):
    other = CampaignFactory(organization=org, name="Support only")
    with tenant_scope(org):
        other.target_groups.set([GroupFactory(organization=org, name="Support")])
    client = login(ambassador_user)
    assert "Support only" not in client.get(reverse("my_campaigns", args=[org.slug])).content.decode()
    page = client.get(reverse("my_campaign", args=[org.slug, other.public_id]))
    assert page.status_code == 403 and "other groups" in page.content.decode()
    draft = CampaignFactory(organization=org, status="draft")
    assert client.get(reverse("my_campaign", args=[org.slug, draft.public_id])).status_code == 404
    with tenant_scope(org):
        assert not TrackedLink.objects.exists()


def test_a_paused_ambassador_is_told_so(login, org, ambassador_user, ambassador, campaign):
    with tenant_scope(org):
        ambassador.status = "paused"
        ambassador.save()
    client = login(ambassador_user)
    assert "paused" in client.get(reverse("my_campaigns", args=[org.slug])).content.decode()
    assert client.get(reverse("my_campaign", args=[org.slug, campaign.public_id])).status_code == 403


def test_an_ended_campaign_still_shows_my_link_without_share_buttons(login, org, ambassador_user, ambassador,
                                                                      campaign):
    link = LinkFactory(campaign=campaign, ambassador=ambassador)
    with tenant_scope(org):
        campaign.status = "ended"
        campaign.save()
    client = login(ambassador_user)
    page = client.get(reverse("my_campaign", args=[org.slug, campaign.public_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert link.code in html and "has ended" in html
    assert reverse("share_link", args=[org.slug, link.code, "x"]) not in html


def test_campaigns_link_is_in_the_nav_and_managers_without_profile_go_to_the_manage_list(login, org, manager):
    client = login(manager)
    home = client.get(reverse("org_home", args=[org.slug])).content.decode()
    assert reverse("my_campaigns", args=[org.slug]) in home
    response = client.get(reverse("my_campaigns", args=[org.slug]))
    assert response.status_code == 302 and response["Location"] == reverse("campaign_manage_list", args=[org.slug])


# --- Admins and managers -----------------------------------------------------------------------------------

def test_admin_creates_a_campaign_with_the_form(login, org, admin_user):
    sales = GroupFactory(organization=org, name="Sales")
    client = login(admin_user)
    assert client.get(reverse("campaign_create", args=[org.slug])).status_code == 200
    response = client.post(reverse("campaign_create", args=[org.slug]), {
        "name": "Autumn launch", "slug": "", "description": "", "status": "active",
        "destination_url": "https://www.example.com/launch", "fallback_url": "", "starts_at": "2026-10-01T09:00",
        "ends_at": "2026-10-31T18:00", "target_groups": [sales.pk], "minutes_per_share": "5",
        "utm_source": "{channel}", "utm_medium": "ambassador", "utm_campaign": "{campaign}",
        "utm_content": "{ambassador}", "utm_term": "",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant_scope(org):
        campaign = Campaign.objects.get()
        assert campaign.slug == "autumn-launch" and list(campaign.target_groups.all()) == [sales]
        # Entered in the organisation's time zone (Europe/Paris: UTC+2 in October).
        assert campaign.starts_at.isoformat() == "2026-10-01T07:00:00+00:00"
    assert response["Location"] == reverse("campaign_manage", args=[org.slug, campaign.public_id])


@pytest.mark.parametrize("url,message", [("javascript:alert(1)", "Only http:// and https://"),
                                         ("/pricing", "relative addresses"),
                                         ("data:text/html,hi", "Only http:// and https://"),
                                         ("https://", "needs a host name")])
def test_the_form_explains_bad_destinations(login, org, admin_user, url, message):
    client = login(admin_user)
    response = client.post(reverse("campaign_create", args=[org.slug]), {
        "name": "X", "status": "draft", "destination_url": url, "minutes_per_share": "5"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Enter a valid URL" not in response.content.decode()


def test_the_form_refuses_foreign_groups_and_backwards_dates(login, org, other_org, admin_user):
    foreign = GroupFactory(organization=other_org, name="Rival group")
    client = login(admin_user)
    form_page = client.get(reverse("campaign_create", args=[org.slug])).content.decode()
    assert "Rival group" not in form_page
    response = client.post(reverse("campaign_create", args=[org.slug]), {
        "name": "X", "status": "draft", "destination_url": "https://example.com/", "minutes_per_share": "5",
        "target_groups": [foreign.pk], "starts_at": "2026-05-02T10:00", "ends_at": "2026-05-01T10:00"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice" in html and "The end must come after the start." in html
    with tenant_scope(org):
        assert not Campaign.objects.exists()


def test_admin_edits_and_adds_posts_and_costs(login, org, admin_user, campaign):
    client = login(admin_user)
    manage = reverse("campaign_manage", args=[org.slug, campaign.public_id])
    assert client.get(manage).status_code == 200
    too_long = client.post(reverse("campaign_message_add", args=[org.slug, campaign.public_id]),
                           {"channel": "x", "text": "a" * 270})
    assert too_long.status_code == 400 and "X allows 280 characters" in too_long.content.decode()
    ok = client.post(reverse("campaign_message_add", args=[org.slug, campaign.public_id]),
                     {"channel": "x", "text": "Short and sweet {link}"})
    assert ok.status_code == 302
    bad_cost = client.post(reverse("campaign_cost_add", args=[org.slug, campaign.public_id]),
                           {"date": "2026-03-01", "category": "media", "amount": "0"})
    assert bad_cost.status_code == 400 and "greater than zero" in bad_cost.content.decode()
    for amount in ("0.10", "0.20"):
        assert client.post(reverse("campaign_cost_add", args=[org.slug, campaign.public_id]),
                           {"date": "2026-03-01", "category": "media", "amount": amount}).status_code == 302
    page = client.get(manage).content.decode()
    assert "Short and sweet" in page and "0.30" in page
    with tenant_scope(org):
        message = CampaignMessage.objects.get()
        cost = CampaignCost.objects.first()
    edit = reverse("campaign_message_edit", args=[org.slug, campaign.public_id, message.public_id])
    assert client.get(edit).status_code == 200
    assert client.post(edit, {"channel": "x", "text": "Changed {link}"}).status_code == 302
    assert client.post(reverse("campaign_message_delete",
                               args=[org.slug, campaign.public_id, message.public_id])).status_code == 302
    assert client.post(reverse("campaign_cost_delete", args=[org.slug, campaign.public_id, cost.public_id])
                       ).status_code == 302
    changed = client.post(manage, {
        "name": "Renamed", "slug": "spring-webinar", "status": "paused", "destination_url": "https://example.com/x",
        "minutes_per_share": "3", "utm_source": "{channel}"})
    assert changed.status_code == 302
    with tenant_scope(org):
        campaign.refresh_from_db()
        assert (campaign.name, campaign.status) == ("Renamed", "paused")
        assert not CampaignMessage.objects.exists() and CampaignCost.objects.count() == 1


def test_managers_read_campaigns_but_cannot_change_them(login, org, manager, campaign):
    CostFactory(campaign=campaign)
    client = login(manager)
    listing = client.get(reverse("campaign_manage_list", args=[org.slug]))
    assert listing.status_code == 200 and "Spring webinar" in listing.content.decode()
    assert reverse("campaign_create", args=[org.slug]) not in listing.content.decode()
    page = client.get(reverse("campaign_manage", args=[org.slug, campaign.public_id]))
    assert page.status_code == 200 and "100.00" in page.content.decode()
    assert "<form method=\"post\" action=\"" + reverse("campaign_manage", args=[org.slug, campaign.public_id]) \
        not in page.content.decode()
    assert client.get(reverse("campaign_create", args=[org.slug])).status_code == 403
    client.post(reverse("campaign_manage", args=[org.slug, campaign.public_id]), {"name": "Hacked"})
    for name in ("campaign_delete", "campaign_message_add", "campaign_cost_add"):
        assert client.post(reverse(name, args=[org.slug, campaign.public_id]), {}).status_code == 403
    with tenant_scope(org):
        campaign.refresh_from_db()
        assert campaign.name == "Spring webinar"


def test_ambassadors_cannot_open_the_manage_pages(login, org, ambassador_user, campaign):
    client = login(ambassador_user)
    assert client.get(reverse("campaign_manage_list", args=[org.slug])).status_code == 403
    assert client.get(reverse("campaign_manage", args=[org.slug, campaign.public_id])).status_code == 403
    assert client.post(reverse("campaign_create", args=[org.slug]), {}).status_code == 403


def test_delete_only_without_links(login, org, admin_user, campaign):
    LinkFactory(campaign=campaign)
    draft = CampaignFactory(organization=org, status="draft")
    client = login(admin_user)
    client.post(reverse("campaign_delete", args=[org.slug, campaign.public_id]))
    client.post(reverse("campaign_delete", args=[org.slug, draft.public_id]))
    with tenant_scope(org):
        assert list(Campaign.objects.all()) == [campaign]
