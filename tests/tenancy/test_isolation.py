"""Cross-tenant access from the outside: a member of A gets 404 for everything of B."""

import re

import pytest
from django.urls import reverse

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, GroupFactory, member


def org_urls(org, ambassador, group):
    """Every page and API address under one organisation."""
    slug = org.slug
    return [
        reverse("org_home", args=[slug]),
        reverse("org_settings", args=[slug]),
        reverse("org_members", args=[slug]),
        reverse("org_api_keys", args=[slug]),
        reverse("ambassador_list", args=[slug]),
        reverse("ambassador_detail", args=[slug, ambassador.public_id]),
        reverse("ambassador_invite", args=[slug]),
        reverse("ambassador_invite_csv", args=[slug]),
        reverse("ambassador_groups", args=[slug]),
        reverse("ambassador_group_edit", args=[slug, group.pk]),
        reverse("join_page_settings", args=[slug]),
        reverse("my_profile", args=[slug]),
        f"/api/v1/o/{slug}/ambassadors/",
        f"/api/v1/o/{slug}/ambassadors/{ambassador.public_id}/",
        f"/api/v1/o/{slug}/groups/",
        f"/api/v1/o/{slug}/groups/{group.pk}/",
    ]


@pytest.fixture
def rival_things(other_org):
    return AmbassadorFactory(organization=other_org), GroupFactory(organization=other_org)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.MANAGER, Role.AMBASSADOR])
def test_member_of_a_gets_404_for_every_page_of_b(login, org, other_org, rival_things, role):
    client = login(member(org, role, ambassador=True))
    ambassador, group = rival_things
    for url in org_urls(other_org, ambassador, group):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {}).status_code == 404, url


@pytest.mark.django_db
def test_unknown_and_foreign_organisations_look_the_same(login, org, other_org):
    client = login(member(org, Role.OWNER))
    foreign = client.get(f"/o/{other_org.slug}/")
    missing = client.get("/o/does-not-exist/")
    assert foreign.status_code == missing.status_code == 404

    def without_csrf(response):
        return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)

    assert without_csrf(foreign) == without_csrf(missing)


@pytest.mark.django_db
def test_ids_of_b_used_under_a_are_404(login, org, other_org, rival_things):
    """The org in the URL is yours, the object id is someone else's: still 404."""
    client = login(member(org, Role.OWNER))
    ambassador, group = rival_things
    assert client.get(reverse("ambassador_detail", args=[org.slug, ambassador.public_id])).status_code == 404
    assert client.post(reverse("ambassador_status", args=[org.slug, ambassador.public_id]),
                       {"status": "paused"}).status_code == 404
    assert client.get(reverse("ambassador_group_edit", args=[org.slug, group.pk])).status_code == 404
    assert client.get(f"/api/v1/o/{org.slug}/ambassadors/{ambassador.public_id}/").status_code == 404
    assert client.delete(f"/api/v1/o/{org.slug}/groups/{group.pk}/").status_code == 404
    with tenant_scope(other_org):
        ambassador.refresh_from_db()
        assert ambassador.status == "active"


@pytest.mark.django_db
def test_user_in_two_orgs_sees_each_orgs_data_only_under_that_org(login, org, other_org):
    user = member(org, Role.MANAGER)
    with tenant_scope(other_org):
        from tests.factories import MembershipFactory

        MembershipFactory(organization=other_org, user=user, role=Role.MANAGER)
    AmbassadorFactory(organization=org, display_name="Alice Acme")
    AmbassadorFactory(organization=other_org, display_name="Roger Rival")
    client = login(user)

    acme = client.get(reverse("ambassador_list", args=[org.slug])).content.decode()
    rival = client.get(reverse("ambassador_list", args=[other_org.slug])).content.decode()
    assert "Alice Acme" in acme and "Roger Rival" not in acme
    assert "Roger Rival" in rival and "Alice Acme" not in rival

    api_acme = client.get(f"/api/v1/o/{org.slug}/ambassadors/").json()
    assert [a["display_name"] for a in api_acme["results"]] == ["Alice Acme"]
    # The switcher lists both organisations.
    home = client.get("/").content.decode()
    assert "Acme" in home and "Rival" in home


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in_and_api_says_401(client, org):
    page = client.get(f"/o/{org.slug}/")
    assert page.status_code == 302 and reverse("account_login") in page["Location"]
    assert client.get(f"/api/v1/o/{org.slug}/ambassadors/").status_code == 401
