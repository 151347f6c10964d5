"""Cross-tenant access to every campaigns page and API address answers 404 (see tests/tenancy/test_isolation.py)."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign, CampaignCost, CampaignMessage, Domain, ShareEvent, TrackedLink
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import (
    AmbassadorFactory,
    CampaignFactory,
    CostFactory,
    DomainFactory,
    LinkFactory,
    MessageFactory,
    member,
)


@pytest.fixture
def rival(other_org):
    campaign = CampaignFactory(organization=other_org)
    return {
        "campaign": campaign,
        "message": MessageFactory(campaign=campaign),
        "cost": CostFactory(campaign=campaign),
        "link": LinkFactory(campaign=campaign, ambassador=AmbassadorFactory(organization=other_org)),
        "domain": DomainFactory(organization=other_org),
    }


def urls(slug, t):
    c, m, cost, link, domain = t["campaign"].public_id, t["message"].public_id, t["cost"].public_id, \
        t["link"].code, t["domain"].public_id
    api = f"/api/v1/o/{slug}"
    return [
        reverse("my_campaigns", args=[slug]),
        reverse("my_campaign", args=[slug, c]),
        reverse("my_campaign_link", args=[slug, c]),
        reverse("share_link", args=[slug, link, "linkedin"]),
        reverse("campaign_manage_list", args=[slug]),
        reverse("campaign_create", args=[slug]),
        reverse("campaign_manage", args=[slug, c]),
        reverse("campaign_delete", args=[slug, c]),
        reverse("campaign_message_add", args=[slug, c]),
        reverse("campaign_message_edit", args=[slug, c, m]),
        reverse("campaign_message_delete", args=[slug, c, m]),
        reverse("campaign_cost_add", args=[slug, c]),
        reverse("campaign_cost_delete", args=[slug, c, cost]),
        f"{api}/campaigns/",
        f"{api}/campaigns/{c}/",
        f"{api}/campaigns/{c}/messages/",
        f"{api}/campaigns/{c}/messages/{m}/",
        f"{api}/campaigns/{c}/costs/",
        f"{api}/campaigns/{c}/costs/{cost}/",
        f"{api}/my/campaigns/",
        f"{api}/my/campaigns/{c}/",
        f"{api}/my/campaigns/{c}/link/",
        f"{api}/my/links/",
        f"{api}/my/links/{link}/",
        f"{api}/my/links/{link}/shares/",
        f"{api}/links/{link}/qr.png",
        f"{api}/links/{link}/qr.svg",
        f"{api}/domains/",
        f"{api}/domains/{domain}/",
    ]


def assert_untouched(org, t):
    with tenant_scope(org):
        assert Campaign.objects.get(pk=t["campaign"].pk).name == t["campaign"].name
        assert CampaignMessage.objects.filter(pk=t["message"].pk).exists()
        assert CampaignCost.objects.filter(pk=t["cost"].pk).exists()
        assert TrackedLink.objects.count() == 1
        assert Domain.objects.filter(pk=t["domain"].pk).exists()
        assert not ShareEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.MANAGER, Role.AMBASSADOR])
def test_member_of_a_gets_404_for_every_campaigns_address_of_b(login, org, other_org, rival, role):
    client = login(member(org, role, ambassador=True))
    for url in urls(other_org.slug, rival):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {}).status_code == 404, url
        assert client.delete(url).status_code == 404, url
        assert client.patch(url, {}, content_type="application/json").status_code == 404, url
    assert_untouched(other_org, rival)


@pytest.mark.django_db
def test_ids_of_b_used_under_a_are_404(login, org, other_org, rival):
    """The organisation in the URL is yours; the campaign, message, cost, link or domain is not."""
    client = login(member(org, Role.OWNER, ambassador=True))
    for url in urls(org.slug, rival):
        if url.rstrip("/").endswith(("/campaigns", "/my/links", "/domains", "/manage/campaigns/new",
                                     "/manage/campaigns")):
            continue  # lists and creation under one's own organisation are fine
        # 405 (a method the address never takes) says nothing about the object; at least one method must 404.
        statuses = {client.get(url).status_code, client.post(url, {"channel": "x"}).status_code,
                    client.delete(url).status_code}
        assert statuses <= {404, 405} and 404 in statuses, (url, statuses)
    assert_untouched(other_org, rival)


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client, org, other_org, rival):
    for url in urls(other_org.slug, rival):
        response = client.get(url)
        assert response.status_code == (401 if url.startswith("/api/") else 302), url
