"""The earnings API: /api/v1/o/<slug>/earnings/ for managers and admins (filters, pagination, what each
entry says), refused to ambassadors, API keys and other organisations; /api/v1/me/earnings/ with only the
signed-in user's own entries, in each organisation they are a member of; both in the OpenAPI schema."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from rewards.models import EntryStatus
from tenancy.models import Membership, Role
from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key
from tests.factories import (
    AmbassadorFactory,
    CustomerFactory,
    EarningEntryFactory,
    OrganizationFactory,
    RewardRuleFactory,
    SaleFactory,
    member,
)
from tests.support.earnings import SIGNAL_DETAIL, build_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada_user(org):
    return member(org, Role.AMBASSADOR, ambassador=True, email="ada@acme.test")


@pytest.fixture
def ledger(org, ada_user):
    return build_ledger(org, ada_user)


def api(org):
    return reverse("api_earnings", args=[org.slug])


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def entry_ids(ledger, *names):
    return {str(ledger.entries[name].public_id) for name in names}


def test_a_manager_lists_the_ledger_newest_first_with_what_earned_each_entry(login, org, manager, ledger):
    response = login(manager).get(api(org))
    body = response.json()
    assert response.status_code == 200 and body["count"] == 13
    rows = {row["id"]: row for row in body["results"]}
    refund = rows[str(ledger.entries["refund"].public_id)]
    assert refund == {
        "id": str(ledger.entries["refund"].public_id),
        "ambassador": {"id": str(ledger.ada.public_id), "name": ledger.ada.display_name},
        "rule": {"id": str(ledger.entries["refund"].rule.public_id), "name": "10 % of sales"},
        "campaign": {"id": str(ledger.spring.public_id), "name": "Spring launch"},
        "event": "sale", "unit": "money", "currency": "EUR", "amount": "-3.34", "status": "pending",
        "earned_at": "2026-04-01T12:00:00Z", "approve_after": "2031-04-30T08:00:00Z",
        "correction": "refund", "corrects": str(ledger.entries["paid_1"].public_id),
        "status_changed_at": None, "click_id": "", "sale": None, "customer": None, "held_in_case": None,
        "note": "", "created_at": refund["created_at"],
    }
    held = rows[str(ledger.entries["held"].public_id)]
    assert held["held_in_case"] == str(ledger.entries["held"].fraud_case.public_id)
    assert rows[str(ledger.entries["points"].public_id)]["amount"] == "500.00"
    assert rows[str(ledger.entries["points"].public_id)]["campaign"] is None
    assert [row["earned_at"] for row in body["results"]] == sorted(
        (row["earned_at"] for row in body["results"]), reverse=True)


def test_sale_and_customer_are_given_by_their_public_ids(login, org, manager):
    customer = CustomerFactory(organization=org)
    sale = SaleFactory(organization=org, customer=customer)
    entry = EarningEntryFactory(rule=RewardRuleFactory(organization=org), sale_id=sale.pk, customer_id=customer.pk,
                                cause=f"sale:{sale.pk}")
    row = login(manager).get(api(org)).json()["results"][0]
    assert row["id"] == str(entry.public_id)
    assert row["sale"] == str(sale.public_id) and row["customer"] == str(customer.public_id)
    assert str(sale.pk) not in {row["sale"], row["customer"]}


@pytest.mark.parametrize(("query", "names"), [
    ({"status": "pending"}, ["pending_1", "pending_2", "refund", "pending_usd", "points_pending"]),
    ({"status": ["held", "canceled"]}, ["held", "canceled"]),
    ({"unit": "points"}, ["points", "points_pending"]),
    ({"event": "lead"}, ["pending_2"]),
    ({"currency": "usd"}, ["pending_usd", "approved_usd"]),
    ({"earned_at_after": "2026-04-11T00:00:00+02:00", "earned_at_before": "2026-04-12T14:00:00+02:00"},
     ["pending_1", "pending_2"]),
    ({"status": "approved", "unit": "money", "currency": "EUR"}, ["approved", "bob"]),
])
def test_filters(login, org, admin_user, ledger, query, names):
    assert ids(login(admin_user).get(api(org), query)) == entry_ids(ledger, *names)


def test_filters_by_ambassador_and_campaign_public_ids(login, org, admin_user, ledger):
    client = login(admin_user)
    assert ids(client.get(api(org), {"ambassador": str(ledger.bob.public_id)})) == entry_ids(ledger, "bob")
    everything_but = set(ids(client.get(api(org), {"limit": 100})) - entry_ids(ledger, "points"))
    assert ids(client.get(api(org), {"campaign": str(ledger.spring.public_id)})) == everything_but


def test_bad_filters_are_400_naming_the_parameter(login, org, admin_user, ledger):
    client = login(admin_user)
    response = client.get(api(org), {"status": "lost", "ambassador": "ada", "earned_at_after": "yesterday"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"status", "ambassador", "earned_at_after"}, body  # the parameter, as written
    assert "Select a valid choice" in body["status"][0]


def test_pagination(login, org, admin_user, ledger):
    body = login(admin_user).get(api(org), {"limit": 5, "offset": 10}).json()
    assert body["count"] == 13 and len(body["results"]) == 3 and body["next"] is None and body["previous"]


def test_ambassadors_keys_and_other_organisations_are_refused(login, org, other_org, ada_user, ledger, client):
    assert login(ada_user).get(api(org)).status_code == 403
    with tenant_scope(org):
        _key, secret = create_api_key(organization=org, name="CRM", created_by=None)
    response = client.get(api(org), HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 403  # keys don't open /api/v1/o/<slug>/ (tenancy.api_keys)
    outsider = member(other_org, Role.ADMIN)
    client.force_login(outsider)
    assert client.get(api(org)).status_code == 404
    assert client.get(api(other_org)).json()["count"] == 0  # nothing of org's from their own slug either
    assert client.get(api(other_org), {"ambassador": str(ledger.ada.public_id)}).json()["count"] == 0


# --- /api/v1/me/earnings/ ---------------------------------------------------------------------------

ME = "/api/v1/me/earnings/"


def test_me_lists_only_the_users_own_entries_in_each_organisation(login, org, ada_user, ledger):
    elsewhere = OrganizationFactory(name="Elsewhere", slug="elsewhere")
    with tenant_scope(elsewhere):
        Membership.objects.create(organization=elsewhere, user=ada_user, role=Role.AMBASSADOR)
    there = AmbassadorFactory(organization=elsewhere, user=ada_user, display_name="Ada there")
    theirs = EarningEntryFactory(rule=RewardRuleFactory(organization=elsewhere), ambassador=there,
                                 amount=Decimal("777.77"), status=EntryStatus.APPROVED)
    stranger = EarningEntryFactory(rule=RewardRuleFactory(organization=elsewhere), amount=Decimal("55.55"))
    client = login(ada_user)
    body = client.get(ME).json()
    got = {row["id"]: row for row in body["results"]}
    mine = {name for name in ledger.entries if name != "bob"}
    assert set(got) == entry_ids(ledger, *mine) | {str(theirs.public_id)}
    assert str(stranger.public_id) not in got and str(ledger.entries["bob"].public_id) not in got
    assert got[str(theirs.public_id)]["organization"] == "elsewhere"
    assert got[str(ledger.entries["held"].public_id)]["organization"] == "acme"
    held = got[str(ledger.entries["held"].public_id)]
    assert held["status"] == "held" and SIGNAL_DETAIL not in str(body)
    assert not {"note", "held_in_case", "ambassador", "sale", "customer", "click_id"} & set(held)
    assert ids(client.get(ME, {"organization": "elsewhere"})) == {str(theirs.public_id)}
    assert ids(client.get(ME, {"organization": "acme", "status": "held"})) == entry_ids(ledger, "held")


def test_me_leaves_out_organisations_the_user_has_left(login, org, ada_user, ledger):
    with tenant_scope(org):
        Membership.objects.filter(user=ada_user).delete()
    assert login(ada_user).get(ME).json()["count"] == 0


def test_me_needs_a_signed_in_user(client, ledger):
    assert client.get(ME).status_code in (401, 403)


def test_both_endpoints_are_in_the_schema(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    schema = (tmp_path / "schema.yaml").read_text()
    for path in ("/api/v1/o/{org_slug}/earnings/", "/api/v1/me/earnings/"):
        assert f"  {path}:" in schema
    for parameter in ("earned_at_after", "earned_at_before", "ambassador", "campaign", "organization"):
        assert f"name: {parameter}" in schema
