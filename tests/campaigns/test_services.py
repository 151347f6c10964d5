"""The campaign writers (campaigns.services) called directly, and their refusals reaching the page
and the API through the one conversion each layer has (common.service_errors): same field, same
message, same status code."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Campaign, CampaignMessage, Domain
from campaigns.services import CampaignError, campaigns, content, costs, domains, links
from tenancy.scoping import tenant_scope

pytestmark = pytest.mark.django_db

NEW = {"name": "Spring webinar", "destination_url": "https://www.example.com/webinar", "status": "active"}


def new_campaign(org, **fields):
    with tenant_scope(org):
        return campaigns.create_campaign(organization=org, **{**NEW, **fields})


def form_data(**fields):
    return {"name": "Spring webinar", "slug": "", "status": "draft", "destination_url": "https://example.com/",
            "minutes_per_share": "5", **fields}


def api_url(org, *parts):
    return "/".join([f"/api/v1/o/{org.slug}", *[str(p) for p in parts]]) + "/"


# --- Slugs ---------------------------------------------------------------------------------------------

def test_the_service_makes_a_free_slug_from_the_name_and_refuses_a_taken_one(org, other_org):
    assert new_campaign(org).slug == "spring-webinar"
    assert new_campaign(org).slug == "spring-webinar-2"
    assert new_campaign(other_org).slug == "spring-webinar"  # unique per organisation only
    with pytest.raises(CampaignError) as refused:
        new_campaign(org, slug="spring-webinar")
    assert (refused.value.field, refused.value.message) == ("slug", "Another campaign already uses the slug "
                                                                    "“spring-webinar”.")
    with tenant_scope(org):
        campaign = Campaign.objects.get(slug="spring-webinar-2")
        campaigns.update_campaign(campaign, name="Autumn", slug="")  # empty: made from the name again
        assert campaign.slug == "autumn"
        campaigns.update_campaign(campaign, slug="autumn")  # its own slug is no clash
        with pytest.raises(CampaignError):
            campaigns.update_campaign(campaign, slug="spring-webinar")


def test_a_taken_slug_on_the_form_and_in_the_api(login, org, admin_user, api):
    new_campaign(org)
    client = login(admin_user)
    page = client.post(reverse("campaign_create", args=[org.slug]), form_data(slug="spring-webinar"))
    assert page.status_code == 400
    assert "Another campaign already uses the slug “spring-webinar”." in page.content.decode()
    answer = api.post(api_url(org, "campaigns"), {**NEW, "slug": "spring-webinar"})
    assert answer.status_code == 400
    assert answer.json() == {"slug": ["Another campaign already uses the slug “spring-webinar”."]}


def test_a_slug_taken_at_the_same_moment_is_the_slug_error_on_the_form_and_in_the_api(login, org, admin_user,
                                                                                      api, monkeypatch):
    """Two requests checked the slug before either stored it: the database's unique constraint
    decides, and the loser gets the slug error (not a 500) on the page and in the API."""
    existing = new_campaign(org)
    monkeypatch.setattr(campaigns, "campaign_slug_taken", lambda slug, exclude_pk=None: False)
    client = login(admin_user)
    page = client.post(reverse("campaign_create", args=[org.slug]), form_data(slug="spring-webinar"))
    assert page.status_code == 400 and "Another campaign already uses this slug." in page.content.decode()
    answer = api.post(api_url(org, "campaigns"), {**NEW, "slug": "spring-webinar"})
    assert (answer.status_code, answer.json()) == (400, {"slug": ["Another campaign already uses this slug."]})
    edit = client.post(reverse("campaign_manage", args=[org.slug, new_campaign(org, slug="other").public_id]),
                       form_data(slug="spring-webinar"))
    assert edit.status_code == 400 and "Another campaign already uses this slug." in edit.content.decode()
    with tenant_scope(org):
        assert list(Campaign.objects.values_list("slug", flat=True).order_by("pk")) == [existing.slug, "other"]


# --- Deleting --------------------------------------------------------------------------------------------

def test_a_campaign_with_links_is_not_deleted(org, campaign, ambassador):
    with tenant_scope(org):
        links.link_for(ambassador=ambassador, campaign=campaign)
        with pytest.raises(CampaignError) as refused:
            campaigns.delete_campaign(campaign)
        assert refused.value.code == "has_links" and "“Ended”" in refused.value.message
        assert Campaign.objects.filter(pk=campaign.pk).exists()
        draft = campaigns.create_campaign(organization=org, name="Draft", destination_url="https://example.com/")
        campaigns.delete_campaign(draft)
        assert not Campaign.objects.filter(pk=draft.pk).exists()


def test_the_refusal_to_delete_on_the_page_and_in_the_api(login, org, admin_user, api, campaign, ambassador):
    with tenant_scope(org):
        links.link_for(ambassador=ambassador, campaign=campaign)
    client = login(admin_user)
    page = client.post(reverse("campaign_delete", args=[org.slug, campaign.public_id]), follow=True)
    assert "set its status to “Ended” instead of deleting it." in page.content.decode()
    answer = api.delete(api_url(org, "campaigns", campaign.public_id))
    assert answer.status_code == 409
    assert answer.json() == {"detail": "This campaign has links, and so clicks and shares: set its status to "
                                       "“ended” instead of deleting it.", "code": "has_links"}


# --- Suggested posts and costs -------------------------------------------------------------------------

def test_posts_are_checked_by_the_service(org, campaign):
    with tenant_scope(org):
        with pytest.raises(CampaignError) as subject:
            content.add_message(campaign, channel="x", subject="Hi", text="Hello {link}")
        assert (subject.value.field, subject.value.message) == ("subject", "Only e-mail messages have a subject.")
        with pytest.raises(CampaignError) as length:
            content.add_message(campaign, channel="x", text="y" * 300)
        assert length.value.field == "text" and "X allows 280 characters" in length.value.message
        message = content.add_message(campaign, channel="email", subject="Hi", text="Hello {link}")
        assert (message.organization_id, message.campaign_id) == (org.pk, campaign.pk)
        with pytest.raises(CampaignError):
            content.update_message(message, channel="x")  # an X post can't keep the subject
        message.refresh_from_db()
        assert message.channel == "email"
        content.delete_message(message)
        assert not CampaignMessage.objects.exists()


def test_the_form_shows_every_problem_of_a_post_and_the_api_the_first(login, org, admin_user, api, campaign):
    client = login(admin_user)
    page = client.post(reverse("campaign_message_add", args=[org.slug, campaign.public_id]),
                       {"channel": "x", "subject": "Hi", "text": "y" * 300})
    html = page.content.decode()
    assert page.status_code == 400
    assert "Only e-mail messages have a subject." in html and "X allows 280 characters" in html
    answer = api.post(api_url(org, "campaigns", campaign.public_id, "messages"),
                      {"channel": "x", "subject": "Hi", "text": "y" * 300})
    assert (answer.status_code, answer.json()) == (400, {"subject": ["Only e-mail messages have a subject."]})


def test_costs_are_positive(org, campaign):
    with tenant_scope(org):
        with pytest.raises(CampaignError) as refused:
            costs.add_cost(campaign, date=date(2026, 3, 1), amount=Decimal("0"))
        assert (refused.value.field, refused.value.message) == ("amount", "Enter an amount greater than zero.")
        cost = costs.add_cost(campaign, date=date(2026, 3, 1), amount=Decimal("12.50"), category="media")
        with pytest.raises(CampaignError):
            costs.update_cost(cost, amount=Decimal("-1"))
        costs.update_cost(cost, amount=Decimal("13.00"), note="Ads")
        cost.refresh_from_db()
        assert (cost.amount, cost.note, cost.category) == (Decimal("13.00"), "Ads", "media")


# --- Domains -----------------------------------------------------------------------------------------------

def test_domains_through_the_service(org, other_org, settings):
    settings.SITE_URL = "http://app.example.com"
    with tenant_scope(other_org):
        domains.add_domain(other_org, "taken.example.com")
    with tenant_scope(org):
        for host, message in [("taken.example.com", "This host is already in use."),
                              ("app.example.com", "That is the platform's own address; use a host of your own."),
                              ("not a host", "“not a host” is not a valid host name; use something like "
                                             "links.example.com.")]:
            with pytest.raises(CampaignError) as refused:
                domains.add_domain(org, host)
            assert (refused.value.field, refused.value.message) == ("host", message)
        domain = domains.add_domain(org, "Links.Example.COM")
        assert (domain.host, domain.verified) == ("links.example.com", False)
        Domain.objects.filter(pk=domain.pk).update(verified=True)
        domain.refresh_from_db()
        domains.change_domain(domain, "links.example.com")  # the same host stays verified
        assert domain.verified
        domains.change_domain(domain, "go.example.com")  # another host must be verified again
        domain.refresh_from_db()
        assert (domain.host, domain.verified) == ("go.example.com", False)


def test_a_host_taken_at_the_same_moment_is_the_host_error_on_the_page_and_in_the_api(login, org, other_org,
                                                                                     admin_user, api, monkeypatch):
    with tenant_scope(other_org):
        domains.add_domain(other_org, "taken.example.com")
    real_clean = domains.clean_domain_host

    def clean_before_the_other_commits(value, *, instance=None):  # the twin isn't visible yet
        try:
            return real_clean(value, instance=instance)
        except CampaignError:
            return value

    monkeypatch.setattr(domains, "clean_domain_host", clean_before_the_other_commits)
    client = login(admin_user)
    page = client.post(reverse("campaign_domains", args=[org.slug]), {"host": "taken.example.com"})
    assert page.status_code == 400 and "This host is already in use." in page.content.decode()
    answer = api.post(api_url(org, "domains"), {"host": "taken.example.com"})
    assert (answer.status_code, answer.json()) == (409, {"detail": "This host is already in use.", "code": "taken"})
