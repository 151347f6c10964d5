"""Roles inside one's own organisation."""

import pytest
from django.urls import reverse

from tenancy.models import Membership, Role
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory

ADMIN_PAGES = ["org_settings", "org_members", "ambassador_invite", "ambassador_invite_csv", "ambassador_groups",
               "join_page_settings", "org_api_keys"]
MANAGER_PAGES = ["ambassador_list"]


@pytest.mark.django_db
def test_ambassador_cannot_reach_admin_or_manager_pages(login, org, ambassador_user):
    client = login(ambassador_user)
    for name in ADMIN_PAGES + MANAGER_PAGES:
        response = client.get(reverse(name, args=[org.slug]))
        assert response.status_code == 403, name
        assert "role" in response.content.decode()
    assert client.get(f"/api/v1/o/{org.slug}/ambassadors/").status_code == 403
    assert client.get(reverse("org_home", args=[org.slug])).status_code == 200


@pytest.mark.django_db
def test_manager_sees_ambassadors_but_cannot_change_settings(login, org, manager):
    client = login(manager)
    assert client.get(reverse("ambassador_list", args=[org.slug])).status_code == 200
    for name in ADMIN_PAGES:
        assert client.get(reverse(name, args=[org.slug])).status_code == 403, name
    response = client.post(reverse("org_settings", args=[org.slug]),
                           {"name": "Hijacked", "slug": org.slug, "time_zone": "UTC", "currency": "USD"})
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.name == "Acme"
    ambassador = AmbassadorFactory(organization=org)
    assert client.post(reverse("ambassador_status", args=[org.slug, ambassador.public_id]),
                       {"status": "paused"}).status_code == 403
    api = client.post(f"/api/v1/o/{org.slug}/ambassadors/{ambassador.public_id}/status/", {"status": "paused"})
    assert api.status_code == 403
    assert client.post(f"/api/v1/o/{org.slug}/groups/", {"name": "X"}).status_code == 403
    with tenant_scope(org):
        ambassador.refresh_from_db()
        assert ambassador.status == "active"


@pytest.mark.django_db
def test_admin_changes_settings(login, org, admin_user):
    client = login(admin_user)
    response = client.post(reverse("org_settings", args=[org.slug]),
                           {"name": "Acme Inc", "slug": "acme", "time_zone": "America/Chicago", "currency": "USD"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.name, org.time_zone, org.currency) == ("Acme Inc", "America/Chicago", "USD")


@pytest.mark.django_db
def test_settings_reject_bad_input_with_a_message(login, org, admin_user):
    client = login(admin_user)
    response = client.post(reverse("org_settings", args=[org.slug]),
                           {"name": "", "slug": "Not A Slug!", "time_zone": "Mars/Olympus", "currency": "XXX"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "This field is required" in body
    assert "Mars/Olympus is not one of the available choices" in body
    org.refresh_from_db()
    assert org.name == "Acme"


@pytest.mark.django_db
def test_only_an_owner_grants_owner_and_the_last_owner_stays(login, org, owner, admin_user):
    with tenant_scope(org):
        admin_membership = Membership.objects.get(user=admin_user)
        owner_membership = Membership.objects.get(user=owner)
    client = login(admin_user)
    client.post(reverse("org_member_role", args=[org.slug, admin_membership.pk]), {"role": Role.OWNER})
    with tenant_scope(org):
        assert Membership.objects.get(pk=admin_membership.pk).role == Role.ADMIN

    client = login(owner)
    client.post(reverse("org_member_role", args=[org.slug, owner_membership.pk]), {"role": Role.MANAGER})
    with tenant_scope(org):
        assert Membership.objects.get(pk=owner_membership.pk).role == Role.OWNER  # the last owner
    client.post(reverse("org_member_role", args=[org.slug, admin_membership.pk]), {"role": Role.OWNER})
    with tenant_scope(org):
        assert Membership.objects.get(pk=admin_membership.pk).role == Role.OWNER


@pytest.mark.django_db
def test_creating_an_organisation_makes_you_its_owner(login, db):
    from tests.factories import UserFactory

    user = UserFactory()
    client = login(user)
    response = client.post(reverse("new_organization"),
                           {"name": "Brand New Co", "slug": "", "time_zone": "Europe/Madrid", "currency": "EUR"})
    assert response.status_code == 302 and response["Location"] == "/o/brand-new-co/"
    from tenancy.models import Organization

    new = Organization.objects.get(slug="brand-new-co")
    with tenant_scope(new):
        assert Membership.objects.get(user=user).role == Role.OWNER
    assert client.get("/o/brand-new-co/manage/settings/").status_code == 200


@pytest.mark.django_db
def test_reserved_slug_is_refused(login, db):
    from tests.factories import UserFactory

    client = login(UserFactory())
    response = client.post(reverse("new_organization"),
                           {"name": "Admin", "slug": "admin", "time_zone": "UTC", "currency": "EUR"})
    assert response.status_code == 200
    assert "reserved" in response.content.decode()
