"""The payouts API (/api/v1/o/<slug>/payouts/): admins only, JSON errors, details masked in every
answer but the files."""

import pytest

from ambassadors.models import Kind
from rewards.models import EarningEntry, EntryStatus, PayoutStatus
from tenancy.models import Role
from tenancy.scoping import scopes_disabled
from tests.factories import AmbassadorFactory, member
from tests.support.payouts import approved, give_paypal

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org):
    return member(org, Role.ADMIN, email="admin@acme.test")


@pytest.fixture
def api(org, admin, client):
    client.force_login(admin)
    return f"/api/v1/o/{org.slug}/payouts/"


@pytest.fixture
def people(org):
    ana = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL, display_name="Ana", email="ana@acme.test")
    ben = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL, display_name="Ben", email="ben@acme.test")
    give_paypal(ana, "ana.secret@paypal.example")
    give_paypal(ben, "ben.secret@paypal.example")
    approved(ana, "40.00")
    approved(ana, "-5.00")
    approved(ben, "3.00", "USD")
    return ana, ben


def test_create_review_confirm_export_mark_paid(api, client, people):
    ana, ben = people
    response = client.post(api, {"exclude": [str(ben.public_id)], "note": "Q3"}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["note"] == "Q3" and body["totals"] == {"EUR": "35.00"}
    assert body["payments"] == [{"id": body["payments"][0]["id"], "ambassador": {
        "id": str(ana.public_id), "name": "Ana", "email": "ana@acme.test", "kind": "external"},
        "paid_by": "paypal", "details": "a•••@paypal.example", "currency": "EUR", "amount": "35.00", "entries": 2}]
    assert [a["id"] for a in body["excluded"]] == [str(ben.public_id)]
    assert [(row["ambassador"]["name"], row["reason"]) for row in body["left_out"]] == [("Ben", "excluded")]
    run = f"{api}{body['id']}/"
    assert "secret" not in response.content.decode()

    listing = client.get(api).json()
    assert listing["count"] == 1 and listing["results"][0]["payments"] == 1
    assert listing["results"][0]["totals"] == {"EUR": "35.00"}

    refused = client.get(f"{run}export/?file=generic")
    assert refused.status_code == 409 and "Confirm the run first" in refused.json()["detail"]
    assert client.post(f"{run}confirm/").json()["status"] == "confirmed"
    download = client.get(f"{run}export/?file=paypal", HTTP_ACCEPT="application/json")
    assert download.status_code == 200 and download["Content-Type"] == "text/csv; charset=utf-8"
    assert download.content.startswith(b"ana.secret@paypal.example,35.00,EUR,")
    bad = client.get(f"{run}export/?file=excel")
    assert bad.status_code == 400 and "file" in bad.json()

    paid = client.post(f"{run}mark-paid/")
    assert paid.status_code == 200 and paid.json()["status"] == "paid" and paid.json()["left_out"] == []
    again = client.post(f"{run}mark-paid/")
    assert again.status_code == 409 and "marked paid" in again.json()["detail"]
    assert "secret" not in client.get(run).content.decode()


def test_refusals_are_json(api, client, people):
    assert client.post(api, {}, content_type="application/json").status_code == 201
    second = client.post(api, {}, content_type="application/json")
    assert second.status_code == 409 and "already open" in second.json()["detail"]
    bad = client.post(api, {"exclude": ["not-a-uuid"]}, content_type="application/json")
    assert bad.status_code == 400 and "exclude" in bad.json()


def test_excluding_an_unknown_ambassador_is_a_400(api, client, people, other_org):
    stranger = AmbassadorFactory(organization=other_org)
    response = client.post(api, {"exclude": [str(stranger.public_id)]}, content_type="application/json")
    assert response.status_code == 400 and "exclude" in response.json()


def test_cancel_puts_the_money_back(api, client, people):
    created = client.post(api, {}, content_type="application/json").json()
    response = client.post(f"{api}{created['id']}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == PayoutStatus.CANCELED
    with scopes_disabled():
        assert set(EarningEntry.objects.values_list("status", flat=True)) == {EntryStatus.APPROVED}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AMBASSADOR])
def test_only_admins(org, client, role, people):
    client.force_login(member(org, role))
    api = f"/api/v1/o/{org.slug}/payouts/"
    assert client.get(api).status_code == 403
    assert client.post(api, {}, content_type="application/json").status_code == 403
