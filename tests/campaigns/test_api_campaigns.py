"""The campaigns API for admins and managers: CRUD, validation, roles, money as decimal strings."""

from decimal import Decimal

import pytest

from campaigns.models import Campaign, CampaignCost
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory, CostFactory, GroupFactory, LinkFactory, MessageFactory, member

pytestmark = pytest.mark.django_db


def url(org, *parts):
    return "/".join([f"/api/v1/o/{org.slug}", *[str(p) for p in parts]]) + "/"


NEW = {"name": "Spring webinar", "destination_url": "https://www.example.com/webinar", "status": "active"}


def test_admin_creates_reads_updates_a_campaign(login, org, admin_user, api):
    login(admin_user)
    sales = GroupFactory(organization=org, name="Sales")
    created = api.post(url(org, "campaigns"), {
        **NEW, "target_groups": ["sales"], "minutes_per_share": "7.50", "starts_at": "2026-03-01T09:00:00Z",
        "ends_at": "2026-04-01T09:00:00Z", "utm_source": "amb-{channel}",
    })
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["slug"] == "spring-webinar"  # made from the name
    assert body["target_groups"] == ["Sales"]
    assert body["minutes_per_share"] == "7.50"
    assert body["cost_total"] == "0.00" and body["link_count"] == 0
    assert "pk" not in body and len(body["id"]) == 36
    with tenant_scope(org):
        campaign = Campaign.objects.get(public_id=body["id"])
        assert list(campaign.target_groups.all()) == [sales]
        assert campaign.organization == org

    detail = api.get(url(org, "campaigns", body["id"]))
    assert detail.status_code == 200 and detail.json()["name"] == "Spring webinar"
    changed = api.patch(url(org, "campaigns", body["id"]), {"status": "paused", "target_groups": []})
    assert changed.status_code == 200, changed.json()
    assert changed.json()["status"] == "paused" and changed.json()["target_groups"] == []
    assert api.get(url(org, "campaigns") + "?status=paused").json()["count"] == 1
    assert api.get(url(org, "campaigns") + "?status=active").json()["count"] == 0


def test_a_second_campaign_with_the_same_name_gets_its_own_slug(login, org, admin_user, api):
    login(admin_user)
    assert api.post(url(org, "campaigns"), NEW).json()["slug"] == "spring-webinar"
    assert api.post(url(org, "campaigns"), NEW).json()["slug"] == "spring-webinar-2"
    clash = api.post(url(org, "campaigns"), {**NEW, "slug": "spring-webinar"})
    assert clash.status_code == 400 and "spring-webinar" in clash.json()["slug"][0]


def test_target_groups_by_id_or_name(login, org, admin_user, api):
    login(admin_user)
    sales = GroupFactory(organization=org, name="Sales")
    partners = GroupFactory(organization=org, name="Partners")
    body = api.post(url(org, "campaigns"), {**NEW, "target_groups": [sales.pk, "PARTNERS"]}).json()
    assert sorted(body["target_groups"]) == ["Partners", "Sales"]
    assert partners


def test_a_foreign_group_id_is_a_400_not_a_leak(login, org, other_org, admin_user, api):
    login(admin_user)
    foreign = GroupFactory(organization=other_org, name="Rival secret group")
    by_id = api.post(url(org, "campaigns"), {**NEW, "target_groups": [foreign.pk]})
    missing = api.post(url(org, "campaigns"), {**NEW, "target_groups": [foreign.pk + 1000]})
    by_name = api.post(url(org, "campaigns"), {**NEW, "target_groups": ["Rival secret group"]})
    assert by_id.status_code == missing.status_code == by_name.status_code == 400
    assert by_id.json()["target_groups"][0] == f"There is no group “{foreign.pk}” in this organisation."
    assert "Rival" not in str(by_id.json())
    with tenant_scope(org):
        assert not Campaign.objects.exists()


@pytest.mark.parametrize("bad", [
    "javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "/relative/page", "https://",
    "ftp://example.com/file", "www.example.com/page",
])
def test_bad_destinations_are_400_with_a_clear_message(login, org, admin_user, api, bad):
    login(admin_user)
    response = api.post(url(org, "campaigns"), {**NEW, "destination_url": bad})
    assert response.status_code == 400
    errors = response.json()["destination_url"]
    assert len(errors) == 1  # one clear message, not a pile of them
    assert any(word in errors[0] for word in ("http", "host", "relative")), errors
    fallback = api.post(url(org, "campaigns"), {**NEW, "fallback_url": bad})
    assert fallback.status_code == 400 and "fallback_url" in fallback.json()


def test_dates_utm_and_minutes_are_validated(login, org, admin_user, api):
    login(admin_user)
    dates = api.post(url(org, "campaigns"), {**NEW, "starts_at": "2026-05-01T00:00:00Z",
                                             "ends_at": "2026-04-01T00:00:00Z"})
    assert dates.status_code == 400 and dates.json()["ends_at"] == ["The end must come after the start."]
    utm = api.post(url(org, "campaigns"), {**NEW, "utm_campaign": "{campain}"})
    assert utm.status_code == 400 and "{campain}" in utm.json()["utm_campaign"][0]
    minutes = api.post(url(org, "campaigns"), {**NEW, "minutes_per_share": "-1"})
    assert minutes.status_code == 400 and "minutes_per_share" in minutes.json()
    # A partial update is checked against the stored start.
    body = api.post(url(org, "campaigns"), {**NEW, "starts_at": "2026-05-01T00:00:00Z"}).json()
    late = api.patch(url(org, "campaigns", body["id"]), {"ends_at": "2026-04-30T00:00:00Z"})
    assert late.status_code == 400 and "ends_at" in late.json()


def test_roles_ambassadors_403_managers_read_only(login, org, manager, ambassador_user, api, campaign):
    login(ambassador_user)
    assert api.post(url(org, "campaigns"), NEW).status_code == 403
    assert api.get(url(org, "campaigns")).status_code == 403
    assert api.get(url(org, "campaigns", campaign.public_id, "costs")).status_code == 403
    login(manager)
    assert api.get(url(org, "campaigns")).json()["count"] == 1
    assert api.get(url(org, "campaigns", campaign.public_id)).status_code == 200
    assert api.get(url(org, "campaigns", campaign.public_id, "messages")).status_code == 200
    assert api.get(url(org, "campaigns", campaign.public_id, "costs")).status_code == 200
    assert api.post(url(org, "campaigns"), NEW).status_code == 403
    assert api.patch(url(org, "campaigns", campaign.public_id), {"status": "ended"}).status_code == 403
    assert api.delete(url(org, "campaigns", campaign.public_id)).status_code == 403
    assert api.post(url(org, "campaigns", campaign.public_id, "messages"),
                    {"channel": "x", "text": "hi"}).status_code == 403
    assert api.post(url(org, "campaigns", campaign.public_id, "costs"),
                    {"date": "2026-01-01", "amount": "1.00"}).status_code == 403
    assert api.get(url(org, "domains")).status_code == 403


def test_sequential_ids_are_not_urls(login, org, admin_user, api, campaign):
    login(admin_user)
    assert api.get(url(org, "campaigns", campaign.pk)).status_code == 404


def test_a_campaign_with_links_is_ended_not_deleted(login, org, admin_user, api, campaign):
    login(admin_user)
    draft = CampaignFactory(organization=org, status="draft")
    assert api.delete(url(org, "campaigns", draft.public_id)).status_code == 204
    LinkFactory(campaign=campaign)
    refused = api.delete(url(org, "campaigns", campaign.public_id))
    assert refused.status_code == 409 and "ended" in refused.json()["detail"]
    with tenant_scope(org):
        assert Campaign.objects.filter(pk=campaign.pk).exists()


# --- Messages -----------------------------------------------------------------------------------------

def test_messages_are_checked_against_the_networks_limit_with_the_link(login, org, admin_user, api, campaign):
    login(admin_user)
    messages = url(org, "campaigns", campaign.public_id, "messages")
    too_long = api.post(messages, {"channel": "x", "text": "a" * 257})  # 257 + space + 23 = 281
    assert too_long.status_code == 400
    assert "X allows 280 characters; this post is 281" in too_long.json()["text"][0]
    fits = api.post(messages, {"channel": "x", "text": "a" * 256})
    assert fits.status_code == 201 and fits.json()["length"] == 280 and fits.json()["limit"] == 280
    linkedin = api.post(messages, {"channel": "linkedin", "text": "a" * 257})
    assert linkedin.status_code == 201
    subject = api.post(messages, {"channel": "x", "text": "hi", "subject": "Hello"})
    assert subject.status_code == 400 and subject.json()["subject"] == ["Only e-mail messages have a subject."]
    email = api.post(messages, {"channel": "email", "text": "See {link}", "subject": "Our webinar"})
    assert email.status_code == 201
    bad_channel = api.post(messages, {"channel": "myspace", "text": "hi"})
    assert bad_channel.status_code == 400
    listed = api.get(messages).json()
    assert listed["count"] == 3
    message_id = fits.json()["id"]
    grown = api.patch(f"{messages}{message_id}/", {"text": "a" * 300})
    assert grown.status_code == 400
    assert api.delete(f"{messages}{message_id}/").status_code == 204


def test_messages_of_another_campaign_are_not_reachable_through_this_one(login, org, admin_user, api, campaign):
    login(admin_user)
    other = MessageFactory(campaign=CampaignFactory(organization=org))
    assert api.get(url(org, "campaigns", campaign.public_id, "messages", other.public_id)).status_code == 404


# --- Costs -------------------------------------------------------------------------------------------

def test_costs_are_decimal_strings_and_sum_exactly(login, org, admin_user, api, campaign):
    login(admin_user)
    costs = url(org, "campaigns", campaign.public_id, "costs")
    for amount in ("0.10", "0.20", "0.30", "1234567890.99", "0.01"):
        response = api.post(costs, {"date": "2026-03-01", "category": "media", "amount": amount, "note": "ads"})
        assert response.status_code == 201, response.json()
        assert response.json()["amount"] == amount and isinstance(response.json()["amount"], str)
    body = api.get(costs).json()
    assert body["total"] == "1234567891.60"
    assert all(isinstance(row["amount"], str) for row in body["results"])
    assert api.get(url(org, "campaigns", campaign.public_id)).json()["cost_total"] == "1234567891.60"
    with tenant_scope(org):
        assert sum(CampaignCost.objects.values_list("amount", flat=True)) == Decimal("1234567891.60")
    # The total covers every entry, not only the page.
    assert api.get(costs + "?limit=1").json()["total"] == "1234567891.60"


@pytest.mark.parametrize("amount,field", [("0", "amount"), ("-5.00", "amount"), ("1.005", "amount"),
                                          ("abc", "amount"), ("10000000000.00", "amount")])
def test_bad_amounts_are_refused(login, org, admin_user, api, campaign, amount, field):
    login(admin_user)
    response = api.post(url(org, "campaigns", campaign.public_id, "costs"), {"date": "2026-03-01", "amount": amount})
    assert response.status_code == 400 and field in response.json()


def test_costs_need_a_date_and_a_known_category(login, org, admin_user, api, campaign):
    login(admin_user)
    costs = url(org, "campaigns", campaign.public_id, "costs")
    assert "date" in api.post(costs, {"amount": "1.00"}).json()
    assert "category" in api.post(costs, {"date": "2026-03-01", "amount": "1.00", "category": "bribes"}).json()
    CostFactory(campaign=campaign, amount=Decimal("5.00"))
    assert api.get(costs).json()["total"] == "5.00"


# --- Domains -----------------------------------------------------------------------------------------

def test_admins_manage_domains_and_cannot_verify_them(login, org, admin_user, api):
    login(admin_user)
    created = api.post(url(org, "domains"), {"host": "Links.Acme.example", "verified": True})
    assert created.status_code == 201, created.json()
    assert created.json()["host"] == "links.acme.example" and created.json()["verified"] is False
    domain_id = created.json()["id"]
    assert api.patch(url(org, "domains", domain_id), {"verified": True}).json()["verified"] is False
    bad = api.post(url(org, "domains"), {"host": "https://go.acme.example/path"})
    assert bad.status_code == 400 and "without https://" in bad.json()["host"][0]
    assert api.get(url(org, "domains")).json()["count"] == 1
    assert api.delete(url(org, "domains", domain_id)).status_code == 204


def test_a_host_taken_by_another_org_is_a_409_that_names_nobody(login, org, other_org, admin_user, api):
    from tests.factories import DomainFactory

    DomainFactory(organization=other_org, host="go.shared.example")
    login(admin_user)
    response = api.post(url(org, "domains"), {"host": "GO.shared.example."})
    assert response.status_code == 409  # a conflict with what is stored, not a malformed host
    assert response.json() == {"detail": "This host is already in use.", "code": "taken"}
    assert "Rival" not in response.content.decode() and "rival" not in response.content.decode()


def test_changing_a_verified_host_unverifies_it(login, org, admin_user, api):
    from tests.factories import DomainFactory

    domain = DomainFactory(organization=org, host="go.acme.example", verified=True)
    login(admin_user)
    same = api.patch(url(org, "domains", domain.public_id), {"host": "go.acme.example"})
    assert same.json()["verified"] is True
    moved = api.patch(url(org, "domains", domain.public_id), {"host": "links.acme.example"})
    assert moved.status_code == 200 and moved.json()["verified"] is False


def test_the_platform_host_itself_is_refused(login, org, admin_user, api, settings):
    settings.SITE_URL = "https://app.ambassadors.example"
    login(admin_user)
    response = api.post(url(org, "domains"), {"host": "app.ambassadors.example"})
    assert response.status_code == 400 and "platform" in response.json()["host"][0]


def test_the_schema_lists_the_campaign_api(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in ("/api/v1/o/{org_slug}/campaigns/", "/api/v1/o/{org_slug}/campaigns/{campaign_id}/messages/",
                 "/api/v1/o/{org_slug}/campaigns/{campaign_id}/costs/", "/api/v1/o/{org_slug}/my/campaigns/",
                 "/api/v1/o/{org_slug}/my/campaigns/{public_id}/link/",
                 "/api/v1/o/{org_slug}/my/links/{code}/shares/", "/api/v1/o/{org_slug}/links/{code}/qr.{fmt}",
                 "/api/v1/o/{org_slug}/domains/"):
        assert path in paths, path


def test_member_of_other_roles_cannot_see_domains(login, org, api):
    login(member(org, Role.MANAGER))
    assert api.get(url(org, "domains")).status_code == 403
