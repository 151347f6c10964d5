"""The admins' Stripe and HubSpot connections, as pages and on the API: the receiving URL with
its token is shown, the signing secret never again in full (its last 4 characters), settings
are checked field by field, and another organisation's connection is a 404 for pages, the API
and an API key alike."""

import json
import re

import pytest
from django.conf import settings

from integrations.inbound import services
from integrations.models import IntegrationConnection, Provider
from tenancy.models import Role
from tenancy.scoping import scopes_disabled, tenant_scope
from tenancy.services import create_api_key
from tests.factories import member

STRIPE_SECRET = "whsec_live_4b3a291807f6e5d4c3b2a19088f7e6d5wxyz"
HUBSPOT_SECRET = "9d8c7b6a-5f4e-3d2c-1b0a-abcdefab1234"


def connection_of(org, provider):
    with tenant_scope(org):
        return IntegrationConnection.objects.filter(organization=org, provider=provider).first()


# --- pages -------------------------------------------------------------------------------------------

def test_an_admin_connects_stripe_and_sees_the_url_but_never_the_secret_again(login, org, admin_user):
    client = login(admin_user)

    listing = client.get("/o/acme/manage/integrations/connections/")
    created = client.post("/o/acme/manage/integrations/connections/stripe/", {"signing_secret": STRIPE_SECRET},
                          follow=True)

    assert listing.status_code == 200 and b"Connect Stripe" in listing.content
    connection = connection_of(org, Provider.STRIPE)
    assert connection.signing_secret == STRIPE_SECRET and connection.enabled
    assert len(connection.public_token) >= 32
    page = created.content.decode()
    assert f"{settings.SITE_URL}/hooks/stripe/{connection.public_token}/" in page
    assert "…wxyz" in page and STRIPE_SECRET not in page and STRIPE_SECRET[:-4] not in page
    assert STRIPE_SECRET not in client.get("/o/acme/manage/integrations/connections/").content.decode()


def test_a_stripe_secret_must_look_like_one_and_a_second_connection_is_not_made(login, org, admin_user):
    client = login(admin_user)

    refused = client.post("/o/acme/manage/integrations/connections/stripe/", {"signing_secret": "sk_live_123456789"})

    assert refused.status_code == 200 and "whsec_" in refused.content.decode()
    assert connection_of(org, Provider.STRIPE) is None
    client.post("/o/acme/manage/integrations/connections/stripe/", {"signing_secret": STRIPE_SECRET})
    token = connection_of(org, Provider.STRIPE).public_token
    client.post("/o/acme/manage/integrations/connections/stripe/", {"signing_secret": ""})  # keeps the secret
    changed = connection_of(org, Provider.STRIPE)
    assert (changed.public_token, changed.signing_secret) == (token, STRIPE_SECRET)


def test_hubspot_settings_disable_enable_and_delete(login, org, admin_user):
    client = login(admin_user)
    url = "/o/acme/manage/integrations/connections/hubspot/"

    client.post(url, {"signing_secret": HUBSPOT_SECRET, "deal_stage": "contractsigned", "click_property": "amb_cid",
                      "amount_property": "amount", "currency_property": "deal_currency_code",
                      "default_amount": ""})
    bad = client.post(url, {"signing_secret": "", "deal_stage": "won stage!", "click_property": "amb_cid",
                            "amount_property": "amount", "currency_property": "deal_currency_code",
                            "default_amount": "12.345"})

    connection = connection_of(org, Provider.HUBSPOT)
    assert connection.settings["deal_stage"] == "contractsigned"
    assert bad.status_code == 200 and "internal name" in bad.content.decode()
    client.post(url + "enabled/", {})
    assert connection_of(org, Provider.HUBSPOT).enabled is False
    client.post(url + "enabled/", {"enabled": "on"})
    assert connection_of(org, Provider.HUBSPOT).enabled is True
    deleted = client.post(url + "delete/")
    assert deleted.status_code == 302 and connection_of(org, Provider.HUBSPOT) is None
    assert client.post(f"/hooks/hubspot/{connection.public_token}/", "[]",
                       content_type="application/json").status_code == 404


def test_managers_may_not_open_the_connections(login, org):
    client = login(member(org, Role.MANAGER, email="manager@acme.test"))
    assert client.get("/o/acme/manage/integrations/connections/").status_code == 403
    assert client.get("/api/v1/o/acme/integrations/connections/").status_code == 403


# --- API ---------------------------------------------------------------------------------------------

def test_the_api_creates_lists_changes_and_deletes_without_ever_answering_the_secret(login, org, admin_user):
    client = login(admin_user)
    base = "/api/v1/o/acme/integrations/connections/"

    created = client.post(base, {"provider": "hubspot", "signing_secret": HUBSPOT_SECRET,
                                 "settings": {"deal_stage": "contractsigned"}}, content_type="application/json")
    listed = client.get(base)
    patched = client.patch(base + "hubspot/", {"enabled": False, "signing_secret": "new-" + HUBSPOT_SECRET,
                                               "settings": {"default_amount": "250"}},
                           content_type="application/json")
    events = client.get(base + "hubspot/events/")

    assert created.status_code == 201
    body = created.json()
    assert body["receiving_url"].startswith(f"{settings.SITE_URL}/hooks/hubspot/") and body["secret_last4"] == "1234"
    assert body["settings"] == {"deal_stage": "contractsigned", "click_property": "amb_cid",
                                "amount_property": "amount", "currency_property": "deal_currency_code",
                                "default_amount": ""}
    assert [c["provider"] for c in listed.json()] == ["hubspot"]
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert patched.json()["settings"]["default_amount"] == "250.00"
    assert patched.json()["settings"]["deal_stage"] == "contractsigned"
    assert events.status_code == 200 and events.json() == []
    for answer in (created, listed, patched):
        assert HUBSPOT_SECRET not in answer.content.decode()
    assert connection_of(org, Provider.HUBSPOT).signing_secret == "new-" + HUBSPOT_SECRET
    assert client.delete(base + "hubspot/").status_code == 204
    assert client.get(base + "hubspot/").status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"provider": "paypal", "signing_secret": STRIPE_SECRET}, "provider"),
    ({"provider": "stripe", "signing_secret": 12345678901234567890}, "signing_secret"),
    ({"provider": "stripe", "signing_secret": "not-a-webhook-secret"}, "signing_secret"),
    ({"provider": "stripe"}, "signing_secret"),
    ({"provider": "stripe", "signing_secret": STRIPE_SECRET, "settings": {"deal_stage": "x"}}, "settings"),
    ({"provider": "hubspot", "signing_secret": HUBSPOT_SECRET, "settings": {"deal_stage": 5}}, "deal_stage"),
    ({"provider": "hubspot", "signing_secret": HUBSPOT_SECRET, "settings": ["closedwon"]}, "settings"),
    ({"provider": "hubspot", "signing_secret": HUBSPOT_SECRET, "settings": {"default_amount": "-1"}},
     "default_amount"),
])
def test_the_api_refuses_bad_input_naming_the_field(login, org, admin_user, body, field):
    response = login(admin_user).post("/api/v1/o/acme/integrations/connections/", body,
                                      content_type="application/json")

    assert response.status_code == 400 and field in response.json(), response.json()
    with scopes_disabled():
        assert not IntegrationConnection.objects.exists()


def test_the_api_refuses_a_second_connection_and_a_bad_update(login, org, admin_user):
    client = login(admin_user)
    base = "/api/v1/o/acme/integrations/connections/"
    client.post(base, {"provider": "stripe", "signing_secret": STRIPE_SECRET}, content_type="application/json")

    again = client.post(base, {"provider": "stripe", "signing_secret": STRIPE_SECRET}, content_type="application/json")
    not_bool = client.patch(base + "stripe/", {"enabled": "false"}, content_type="application/json")
    not_object = client.patch(base + "stripe/", ["enabled"], content_type="application/json")

    assert again.status_code == 400 and "provider" in again.json()
    assert not_bool.status_code == 400 and "enabled" in not_bool.json()
    assert not_object.status_code == 400
    assert connection_of(org, Provider.STRIPE).enabled is True


# --- another organisation ----------------------------------------------------------------------------

def test_another_organisations_connection_is_a_404_for_its_pages_api_and_key(login, org, other_org, admin_user):
    theirs = services.create_connection(other_org, provider=Provider.STRIPE, signing_secret=STRIPE_SECRET)
    client = login(admin_user)
    _key, secret = create_api_key(organization=org, name="CRM", created_by=admin_user)
    key_client = type(client)(headers={"Authorization": f"Bearer {secret}"})

    for url in ("/o/rival/manage/integrations/connections/", "/o/rival/manage/integrations/connections/stripe/",
                "/api/v1/o/rival/integrations/connections/", "/api/v1/o/rival/integrations/connections/stripe/",
                "/api/v1/o/rival/integrations/connections/stripe/events/",
                "/api/v1/o/acme/integrations/connections/stripe/",  # A's own slug: A has no Stripe connection
                "/api/v1/o/acme/integrations/connections/stripe/events/"):
        assert client.get(url).status_code == 404, url
        if url.startswith("/api/v1/o/rival/"):  # a key opens no /o/<slug>/ API; another's slug: as if none
            assert key_client.get(url).status_code == 404, url
    for url in ("/o/rival/manage/integrations/connections/stripe/enabled/",
                "/o/rival/manage/integrations/connections/stripe/delete/",
                "/o/acme/manage/integrations/connections/stripe/delete/"):
        assert client.post(url).status_code == 404, url
    assert client.delete("/api/v1/o/rival/integrations/connections/stripe/").status_code == 404
    assert client.patch("/api/v1/o/acme/integrations/connections/stripe/", {"enabled": False},
                        content_type="application/json").status_code == 404
    page = client.get("/o/acme/manage/integrations/connections/").content.decode()
    assert theirs.public_token not in page and "wxyz" not in page
    assert json.dumps(client.get("/api/v1/o/acme/integrations/connections/").json()) == "[]"
    still = connection_of(other_org, Provider.STRIPE)
    assert (still.enabled, still.signing_secret) == (True, STRIPE_SECRET)


def test_tokens_are_random_and_unguessable(org, other_org):
    first = services.create_connection(org, provider=Provider.STRIPE, signing_secret=STRIPE_SECRET)
    second = services.create_connection(other_org, provider=Provider.STRIPE, signing_secret=STRIPE_SECRET)
    assert first.public_token != second.public_token
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", c.public_token) for c in (first, second))


def test_the_connection_page_lists_its_events_with_what_each_made(login, org, admin_user):
    connection = services.create_connection(org, provider=Provider.HUBSPOT, signing_secret=HUBSPOT_SECRET)
    services.receive(connection, event_id="7001", event_type="deal.propertyChange",
                     handle=lambda: services.ignored("Deal 5 moved to stage 'qualified', not the won stage."))

    page = login(admin_user).get("/o/acme/manage/integrations/connections/hubspot/").content.decode()
    api = login(admin_user).get("/api/v1/o/acme/integrations/connections/hubspot/events/").json()

    assert "7001" in page and "not the won stage" in page and "closedwon" in page
    assert [(e["event_id"], e["outcome"]) for e in api] == [("7001", "ignored")]
