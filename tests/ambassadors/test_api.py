import pytest

from tests.factories import AmbassadorFactory, GroupFactory


@pytest.mark.django_db
def test_manager_lists_and_filters_ambassadors(login, org, manager):
    sales = GroupFactory(organization=org, name="Sales")
    a = AmbassadorFactory(organization=org, display_name="Ann", kind="internal")
    a_groups = a.groups
    from tenancy.scoping import tenant_scope

    with tenant_scope(org):
        a_groups.set([sales])
    AmbassadorFactory(organization=org, display_name="Bob", kind="external", status="paused")
    client = login(manager)
    everyone = client.get(f"/api/v1/o/{org.slug}/ambassadors/").json()
    assert everyone["count"] == 2
    assert everyone["results"][0]["groups"] == ["Sales"] and everyone["results"][0]["id"] == str(a.public_id)
    assert [x["display_name"] for x in client.get(f"/api/v1/o/{org.slug}/ambassadors/?kind=external").json()
            ["results"]] == ["Bob"]
    assert client.get(f"/api/v1/o/{org.slug}/ambassadors/?group=sales").json()["count"] == 1
    bad = client.get(f"/api/v1/o/{org.slug}/ambassadors/?status=sleeping")
    assert bad.status_code == 400 and "status" in bad.json()


@pytest.mark.django_db
def test_me_lists_my_organisations(login, org, manager):
    body = login(manager).get("/api/v1/me/").json()
    assert body == {"email": "manager@acme.test", "memberships": [
        {"organization": "Acme", "slug": "acme", "role": "manager"}]}


@pytest.mark.django_db
def test_openapi_schema_describes_the_api(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/o/{org_slug}/ambassadors/" in paths
    assert "/api/v1/o/{org_slug}/ambassadors/{public_id}/status/" in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()
