"""Organisation API keys: shown once, stored hashed, one organisation each, revocable."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import path, reverse
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient

from ambassadors.models import Ambassador
from tenancy.api_keys import ApiKeyScopedView
from tenancy.models import ApiKey, Role
from tenancy.scoping import ScopeError, scopes_disabled, tenant_scope
from tenancy.services import create_api_key, hash_api_key, revoke_api_key
from tests.factories import AmbassadorFactory, member

KEY_URL = "/api/v1/key/"


def bearer(full_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {full_key}")
    return client


@pytest.fixture
def key_pair(org, owner):
    return create_api_key(organization=org, name="CRM", created_by=owner)


# --- creation and storage --------------------------------------------------------------------

@pytest.mark.django_db
def test_full_key_has_visible_prefix_and_only_its_hash_is_stored(key_pair):
    key, full_key = key_pair
    assert key.prefix.startswith("amb_") and len(key.prefix) == 12
    assert full_key.startswith(f"{key.prefix}_") and len(full_key) > 50
    assert key.secret_hash == hash_api_key(full_key)
    secret = full_key.removeprefix(f"{key.prefix}_")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM tenancy_apikey")
        rows = cursor.fetchall()
    stored = " ".join(str(value) for row in rows for value in row)
    assert full_key not in stored and secret not in stored
    assert key.prefix in stored


@pytest.mark.django_db
def test_admin_creates_a_key_and_sees_it_once(login, org, admin_user):
    client = login(admin_user)
    url = reverse("org_api_keys", args=[org.slug])
    created = client.post(url, {"name": "Shop backend"})
    assert created.status_code == 200
    assert created["Cache-Control"] == "no-store"
    with tenant_scope(org):
        key = ApiKey.objects.get()
    assert key.name == "Shop backend" and key.created_by == admin_user
    page = created.content.decode()
    full_key = page.split('id="full-key" type="text" value="')[1].split('"')[0]
    assert full_key.startswith(key.prefix + "_") and hash_api_key(full_key) == key.secret_hash
    assert "only time it is shown" in page

    listing = client.get(url).content.decode()
    assert key.prefix in listing and "Shop backend" in listing
    assert full_key not in listing
    # And the full key works.
    assert bearer(full_key).get(KEY_URL).status_code == 200


@pytest.mark.django_db
def test_admin_revokes_a_key_from_the_page(login, org, admin_user, key_pair):
    key, full_key = key_pair
    client = login(admin_user)
    response = client.post(reverse("org_api_key_revoke", args=[org.slug, key.public_id]))
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "Revoked" in client.get(reverse("org_api_keys", args=[org.slug])).content.decode()
    assert bearer(full_key).get(KEY_URL).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.MANAGER, Role.AMBASSADOR])
def test_managers_and_ambassadors_cannot_manage_keys(login, org, key_pair, role):
    key, _ = key_pair
    client = login(member(org, role))
    assert client.get(reverse("org_api_keys", args=[org.slug])).status_code == 403
    assert client.post(reverse("org_api_keys", args=[org.slug]), {"name": "x"}).status_code == 403
    assert client.post(reverse("org_api_key_revoke", args=[org.slug, key.public_id])).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None
    with tenant_scope(org):
        assert ApiKey.objects.count() == 1


@pytest.mark.django_db
def test_member_of_another_org_gets_404_for_the_key_pages(login, org, other_org, key_pair):
    key, _ = key_pair
    client = login(member(other_org, Role.OWNER))
    assert client.get(reverse("org_api_keys", args=[org.slug])).status_code == 404
    assert client.post(reverse("org_api_key_revoke", args=[org.slug, key.public_id])).status_code == 404
    # Nor can they revoke it through their own organisation's URL.
    assert client.post(reverse("org_api_key_revoke", args=[other_org.slug, key.public_id])).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


# --- authentication ---------------------------------------------------------------------------

@pytest.mark.django_db
def test_bearer_key_identifies_its_organisation_and_updates_last_used(org, key_pair):
    key, full_key = key_pair
    assert key.last_used_at is None
    response = bearer(full_key).get(KEY_URL)
    assert response.status_code == 200
    assert response.json() == {"organization": org.slug, "name": "CRM", "prefix": key.prefix, "active_keys": 1}
    key.refresh_from_db()
    assert key.last_used_at is not None and timezone.now() - key.last_used_at < timedelta(seconds=10)


@pytest.mark.django_db
def test_last_used_is_written_at_most_once_a_minute(key_pair, django_assert_num_queries):
    key, full_key = key_pair
    client = bearer(full_key)
    client.get(KEY_URL)
    key.refresh_from_db()
    first = key.last_used_at
    # lookup + count, no UPDATE
    with django_assert_num_queries(2):
        assert client.get(KEY_URL).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == first

    ApiKey.objects.with_scopes_disabled().filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get(KEY_URL)
    key.refresh_from_db()
    assert key.last_used_at > first


@pytest.mark.django_db
def test_wrong_secret_with_a_valid_prefix_is_401(key_pair):
    key, full_key = key_pair
    response = bearer(f"{key.prefix}_{'x' * 43}").get(KEY_URL)
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid API key."
    assert response["WWW-Authenticate"].startswith("Bearer")
    key.refresh_from_db()
    assert key.last_used_at is None


@pytest.mark.django_db
def test_revoked_key_is_401_with_a_message(key_pair):
    key, full_key = key_pair
    revoke_api_key(key)
    response = bearer(full_key).get(KEY_URL)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Bearer garbage", "Bearer", "Bearer a b", "Bearer amb_", "Bearer amb_12345678_",
                                    "Bearer amb_123_secret", "Basic dXNlcjpwYXNz", "Bearer ünïcode", ""])
def test_garbage_or_missing_credentials_are_401(key_pair, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get(KEY_URL).status_code == 401


@pytest.mark.django_db
def test_a_session_does_not_open_machine_endpoints(login, org, owner):
    assert login(owner).get(KEY_URL).status_code == 401


# --- one organisation per key -----------------------------------------------------------------

@pytest.mark.django_db
def test_key_of_a_on_org_urls_of_b_is_404_like_an_unknown_org(org, other_org, key_pair):
    _, full_key = key_pair
    AmbassadorFactory(organization=other_org)
    client = bearer(full_key)
    foreign = client.get(f"/api/v1/o/{other_org.slug}/ambassadors/")
    missing = client.get("/api/v1/o/no-such-org/ambassadors/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    assert client.post(f"/api/v1/o/{other_org.slug}/groups/", {"name": "x"}).status_code == 404


@pytest.mark.django_db
def test_keys_do_not_open_the_slug_urls_of_their_own_org_either(org, key_pair):
    key, full_key = key_pair
    response = bearer(full_key).get(f"/api/v1/o/{org.slug}/ambassadors/")
    assert response.status_code == 403
    assert "API keys are not accepted" in response.json()["detail"]
    revoke_api_key(key)
    assert bearer(full_key).get(f"/api/v1/o/{org.slug}/ambassadors/").status_code == 401


@pytest.mark.django_db
def test_revoked_or_bad_key_on_slug_urls_is_401(org, other_org, key_pair):
    key, full_key = key_pair
    revoke_api_key(key)
    response = bearer(full_key).get(f"/api/v1/o/{other_org.slug}/ambassadors/")
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    assert bearer("garbage").get(f"/api/v1/o/{other_org.slug}/ambassadors/").status_code == 401


@pytest.mark.django_db
def test_the_key_endpoint_counts_only_its_own_orgs_keys(org, other_org, key_pair):
    _, full_key = key_pair
    for n in range(3):
        create_api_key(organization=other_org, name=f"rival {n}")
    revoke_api_key(create_api_key(organization=org, name="old")[0])
    assert bearer(full_key).get(KEY_URL).json()["active_keys"] == 1


# --- the tenant scope of key-authenticated views ----------------------------------------------

class AmbassadorCountView(ApiKeyScopedView):
    def get(self, request):
        return Response({"ambassadors": sorted(Ambassador.objects.values_list("display_name", flat=True))})


class FailingView(ApiKeyScopedView):
    def get(self, request):
        assert Ambassador.objects.count() >= 0  # in scope here
        raise ValueError("boom")


urlpatterns = [
    path("machine/ambassadors/", AmbassadorCountView.as_view()),
    path("machine/failing/", FailingView.as_view()),
]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_key_authenticated_views_run_in_the_keys_tenant_scope(org, other_org, key_pair):
    _, full_key = key_pair
    AmbassadorFactory(organization=org, display_name="Alice Acme")
    AmbassadorFactory(organization=other_org, display_name="Roger Rival")
    response = bearer(full_key).get("/machine/ambassadors/")
    assert response.status_code == 200
    assert response.json() == {"ambassadors": ["Alice Acme"]}

    _, rival_key = create_api_key(organization=other_org, name="rival")
    assert bearer(rival_key).get("/machine/ambassadors/").json() == {"ambassadors": ["Roger Rival"]}


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_scope_is_left_after_the_request_even_when_the_view_fails(org, key_pair):
    _, full_key = key_pair
    client = bearer(full_key)
    client.raise_request_exception = True
    with pytest.raises(ValueError, match="boom"):
        client.get("/machine/failing/")
    assert bearer(full_key).get("/machine/ambassadors/").status_code == 200
    with pytest.raises(ScopeError):
        list(Ambassador.objects.all())


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_no_scope_is_entered_without_a_valid_key(org):
    assert APIClient().get("/machine/ambassadors/").status_code == 401
    assert bearer("amb_12345678_nope").get("/machine/ambassadors/").status_code == 401
    with pytest.raises(ScopeError):
        list(Ambassador.objects.all())


# --- schema, admin ----------------------------------------------------------------------------

@pytest.mark.django_db
def test_schema_documents_the_bearer_scheme(client):
    schema = client.get("/api/schema/?format=json").json()
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"]["scheme"] == "bearer"
    assert schema["paths"]["/api/v1/key/"]["get"]["security"] == [{"ApiKeyAuth": []}]


@pytest.mark.django_db
def test_django_admin_shows_keys_with_the_hash_read_only(client, org, key_pair):
    from tests.factories import UserFactory

    key, _ = key_pair
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get("/admin/tenancy/apikey/").status_code == 200
    page = client.get(f"/admin/tenancy/apikey/{key.pk}/change/").content.decode()
    assert key.prefix in page and 'name="secret_hash"' not in page
    with scopes_disabled():
        assert ApiKey.objects.count() == 1
