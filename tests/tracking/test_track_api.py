"""The server-side tracking API: POST /api/v1/track/lead and /api/v1/track/sale."""

import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key, revoke_api_key
from tests.factories import OrganizationFactory
from tests.support.tracking import LEAD, SALE, api, post
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import Click, Customer, RawClick, Sale
from tracking.services.conversions import ConversionError, email_hash, record_lead, record_sale


@pytest.fixture(autouse=True)
def click_capture():
    """Overrides tests/tracking/conftest.py's parametrised capture mode: no click capture
    here, so each test runs once."""
    return None


@pytest.fixture
def client_a(org):
    return api(org)


def customers(organization):
    with tenant_scope(organization):
        return list(Customer.objects.order_by("id"))


def sales(organization):
    with tenant_scope(organization):
        return list(Sale.objects.select_related("customer").order_by("id"))


def sale_body(**overrides):
    body = {"customer_external_id": "cus_1", "amount": "49.90", "currency": "EUR", "invoice_id": "inv_1"}
    body.update(overrides)
    return body


def make_click(organization, link, *, visitor_id, click_id=None):
    with tenant_scope(organization):
        return Click.objects.create(
            organization=organization, click_id=click_id or new_click_id(), link_id=link.pk,
            campaign_id=link.campaign_id, ambassador_id=link.ambassador_id, clicked_at=timezone.now(),
            day=timezone.now().date(), visitor_id=visitor_id, ip_hash="x" * 32, channel="direct")


# --- leads ----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_lead_creates_then_updates_one_customer(org, client_a):
    first_at = timezone.now() - timedelta(days=2)
    created = post(client_a, LEAD, {"customer_external_id": "cus_1", "name": "Ada", "email": " Ada@Example.COM ",
                                    "occurred_at": first_at.isoformat(), "metadata": {"plan": "pro"}})
    assert created.status_code == 201, created.json()
    updated = post(client_a, LEAD, {"customer_external_id": "cus_1", "name": "Ada Lovelace"})
    assert updated.status_code == 200, updated.json()
    assert created.json()["id"] == updated.json()["id"]

    [customer] = customers(org)
    assert str(customer.public_id) == created.json()["id"]
    assert customer.name == "Ada Lovelace"
    assert customer.first_lead_at == first_at
    assert customer.last_lead_at > first_at
    assert customer.metadata == {"plan": "pro"}
    assert customer.email_hash == email_hash("ada@example.com") and len(customer.email_hash) == 64
    assert customer.attributed_at is None


@pytest.mark.django_db
def test_the_raw_email_is_never_stored(org, client_a):
    assert post(client_a, LEAD, {"email": "secret.person@example.com"}).status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM tracking_customer")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert "secret.person" not in stored


@pytest.mark.django_db
def test_lead_by_email_then_by_external_id_is_one_customer(org, client_a):
    assert post(client_a, LEAD, {"email": "bob@example.com", "name": "Bob"}).status_code == 201
    second = post(client_a, LEAD, {"email": "BOB@example.com", "customer_external_id": "cus_bob"})
    assert second.status_code == 200, second.json()
    third = post(client_a, LEAD, {"customer_external_id": "cus_bob", "name": "Robert"})
    assert third.status_code == 200
    [customer] = customers(org)
    assert customer.external_id == "cus_bob" and customer.name == "Robert"


@pytest.mark.django_db
def test_later_lead_never_moves_the_first_click_or_time(org, client_a, link):
    first_visitor, other_visitor = new_visitor_id(), new_visitor_id()
    first_click = make_click(org, link, visitor_id=first_visitor)
    later_click = make_click(org, link, visitor_id=other_visitor)
    first_at = timezone.now() - timedelta(hours=1)
    post(client_a, LEAD, {"customer_external_id": "c", "click_id": first_click.click_id,
                          "occurred_at": first_at.isoformat()})
    assert post(client_a, LEAD, {"customer_external_id": "c", "click_id": later_click.click_id}).status_code == 200
    [customer] = customers(org)
    assert customer.first_click_id == first_click.click_id and customer.visitor_id == first_visitor
    assert customer.first_lead_at == first_at


@pytest.mark.django_db
def test_click_id_of_a_processed_click_resolves_its_visitor(org, client_a, link):
    visitor = new_visitor_id()
    click = make_click(org, link, visitor_id=visitor)
    response = post(client_a, LEAD, {"click_id": click.click_id, "email": "c@example.com"})
    assert response.status_code == 201
    assert response.json()["visitor_id"] == visitor
    assert response.json()["first_click_id"] == click.click_id


@pytest.mark.django_db
def test_click_id_of_a_raw_click_not_yet_processed_resolves_too(org, client_a):
    visitor, click_id = new_visitor_id(), new_click_id()
    with tenant_scope(org):
        RawClick.objects.create(organization=org, click_id=click_id, link_id=1, clicked_at=timezone.now(),
                                visitor_id=visitor, ip_hash="x" * 32)
    response = post(client_a, LEAD, {"click_id": click_id})
    assert response.status_code == 201 and response.json()["visitor_id"] == visitor


@pytest.mark.django_db
def test_click_id_of_another_org_is_not_resolved(org, other_org, link):
    click = make_click(other_org, link, visitor_id=new_visitor_id())
    response = post(api(org), LEAD, {"click_id": click.click_id})
    assert response.status_code == 201
    # The click id is kept for a later retry, but nothing of the other organisation leaks.
    assert response.json()["visitor_id"] is None
    assert response.json()["first_click_id"] == click.click_id


@pytest.mark.django_db
def test_unknown_click_id_is_kept_and_a_second_lead_with_it_updates(org, client_a):
    click_id = new_click_id()
    assert post(client_a, LEAD, {"click_id": click_id, "name": "A"}).status_code == 201
    assert post(client_a, LEAD, {"click_id": click_id, "name": "B"}).status_code == 200
    [customer] = customers(org)
    assert customer.first_click_id == click_id and customer.visitor_id is None and customer.name == "B"


@pytest.mark.django_db
def test_same_external_id_in_two_orgs_is_two_customers(org, other_org):
    a = post(api(org), LEAD, {"customer_external_id": "cus_1", "name": "In A"})
    b = post(api(other_org), LEAD, {"customer_external_id": "cus_1", "name": "In B"})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    [in_a], [in_b] = customers(org), customers(other_org)
    assert (in_a.name, in_b.name) == ("In A", "In B")


@pytest.mark.django_db
def test_key_of_org_a_never_updates_org_b_customer_by_email(org, other_org):
    assert post(api(other_org), LEAD, {"email": "x@example.com", "name": "B's"}).status_code == 201
    assert post(api(org), LEAD, {"email": "x@example.com", "name": "A's"}).status_code == 201
    assert [c.name for c in customers(other_org)] == ["B's"]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field", "fragment"), [
    ({}, "non_field_errors", "at least one of"),
    ({"email": "not-an-email"}, "email", "valid email"),
    ({"click_id": "short"}, "click_id", "Not a valid click id"),
    ({"email": "a@example.com", "metadata": [1, 2]}, "metadata", "JSON object"),
    ({"email": "a@example.com", "metadata": {"x": "y" * 9000}}, "metadata", "8 kB"),
    ({"email": "a@example.com", "occurred_at": "2026-01-01T10:00:00"}, "occurred_at", "time zone"),
    ({"email": "a@example.com", "occurred_at": "yesterday"}, "occurred_at", "format"),
])
def test_lead_validation_errors(client_a, body, field, fragment):
    response = post(client_a, LEAD, body)
    assert response.status_code == 400
    assert fragment in " ".join(response.json()[field])


@pytest.mark.django_db
def test_occurred_at_in_the_future_is_refused_beyond_clock_skew(client_a):
    future = (timezone.now() + timedelta(minutes=10)).isoformat()
    response = post(client_a, LEAD, {"email": "a@example.com", "occurred_at": future})
    assert response.status_code == 400 and "future" in response.json()["occurred_at"][0]
    skewed = (timezone.now() + timedelta(minutes=2)).isoformat()
    assert post(client_a, LEAD, {"email": "a@example.com", "occurred_at": skewed}).status_code == 201


@pytest.mark.django_db
def test_same_email_with_another_external_id_is_another_customer(org, client_a):
    post(client_a, LEAD, {"email": "shared@example.com", "customer_external_id": "cus_1"})
    other = post(client_a, LEAD, {"email": "shared@example.com", "customer_external_id": "cus_2"})
    assert other.status_code == 201
    assert sorted(c.external_id for c in customers(org)) == ["cus_1", "cus_2"]


@pytest.mark.django_db
def test_services_refuse_a_lead_without_identifier_and_a_code_that_is_no_currency(org):
    with pytest.raises(ConversionError) as lead_error:
        record_lead(org, name="Nobody")
    assert lead_error.value.field == "non_field_errors"
    with pytest.raises(ConversionError) as sale_error:
        record_sale(org, customer_external_id="c", amount=Decimal("1.00"), currency="XYZ", invoice_id="i")
    assert sale_error.value.message == "Currency must be an ISO 4217 code such as EUR or USD."


# --- sales ----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_same_invoice_twice_is_one_sale(org, client_a):
    first = post(client_a, SALE, sale_body())
    again = post(client_a, SALE, sale_body(amount="99.00"))
    assert (first.status_code, again.status_code) == (201, 200), first.json()
    assert first.json()["id"] == again.json()["id"]
    assert again.json()["amount"] == "49.90" and again.json()["status"] == "paid"
    [sale] = sales(org)
    assert sale.amount == Decimal("49.90") and sale.currency == "EUR" and sale.attributed_at is None


@pytest.mark.django_db
def test_trailing_slash_is_accepted(client_a):
    assert post(client_a, SALE + "/", sale_body()).status_code == 201
    assert post(client_a, LEAD + "/", {"email": "a@example.com"}).status_code == 201


@pytest.mark.django_db
def test_refund_marks_the_sale_refunded(org, client_a):
    post(client_a, SALE, sale_body())
    refund_at = timezone.now() - timedelta(minutes=1)
    refund = post(client_a, SALE, sale_body(status="refunded", occurred_at=refund_at.isoformat()))
    assert refund.status_code == 200, refund.json()
    assert refund.json()["status"] == "refunded"
    [sale] = sales(org)
    assert sale.status == "refunded" and sale.refunded_at == refund_at
    # Refunding again, or re-posting the paid sale, changes nothing.
    assert post(client_a, SALE, sale_body(status="refunded")).json()["refunded_at"] == refund.json()["refunded_at"]
    assert post(client_a, SALE, sale_body()).json()["status"] == "refunded"
    assert len(sales(org)) == 1


@pytest.mark.django_db
def test_refund_of_unknown_invoice_is_400(org, client_a):
    response = post(client_a, SALE, sale_body(invoice_id="nope", status="refunded"))
    assert response.status_code == 400
    assert "No sale with invoice_id 'nope'" in response.json()["invoice_id"][0]
    assert sales(org) == []


@pytest.mark.django_db
def test_sale_of_a_known_customer_is_linked(org, client_a):
    customer_id = post(client_a, LEAD, {"customer_external_id": "cus_1"}).json()["id"]
    response = post(client_a, SALE, sale_body())
    assert response.json()["customer"] == customer_id


@pytest.mark.django_db
def test_deferred_sale_is_linked_when_its_lead_arrives(org, client_a):
    response = post(client_a, SALE, sale_body())
    assert response.status_code == 201 and response.json()["customer"] is None
    post(client_a, SALE, sale_body(invoice_id="inv_other", customer_external_id="cus_other"))
    lead = post(client_a, LEAD, {"customer_external_id": "cus_1", "email": "late@example.com"})
    by_invoice = {sale.invoice_id: sale for sale in sales(org)}
    assert str(by_invoice["inv_1"].customer.public_id) == lead.json()["id"]
    assert by_invoice["inv_other"].customer is None


@pytest.mark.django_db
def test_deferred_sale_is_linked_when_an_email_customer_gets_its_external_id(org, client_a):
    post(client_a, LEAD, {"email": "e@example.com"})
    post(client_a, SALE, sale_body())
    post(client_a, LEAD, {"email": "e@example.com", "customer_external_id": "cus_1"})
    [sale] = sales(org)
    assert sale.customer is not None and sale.customer.external_id == "cus_1"


@pytest.mark.django_db
def test_refund_cannot_reach_another_orgs_sale(org, other_org):
    assert post(api(other_org), SALE, sale_body()).status_code == 201
    assert post(api(org), SALE, sale_body(status="refunded")).status_code == 400
    [sale] = sales(other_org)
    assert sale.status == "paid"


@pytest.mark.django_db
def test_sales_of_the_same_invoice_in_two_orgs_are_two(org, other_org):
    assert post(api(org), SALE, sale_body()).status_code == 201
    assert post(api(other_org), SALE, sale_body()).status_code == 201
    assert len(sales(org)) == len(sales(other_org)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("amount", "fragment"), [
    ("abc", "valid decimal amount"),
    ("1.234", "at most 2 decimal places"),
    ("-5", "greater than 0"),
    ("0", "greater than 0"),
    ("0.00", "greater than 0"),
    (49.9, "decimal string"),
    (50, "decimal string"),
    ("1000000000000.00", "too large"),
])
def test_bad_amounts_are_400_with_a_message(org, client_a, amount, fragment):
    response = post(client_a, SALE, sale_body(amount=amount))
    assert response.status_code == 400
    assert fragment in response.json()["amount"][0]
    assert sales(org) == []


@pytest.mark.django_db
def test_another_currency_is_kept_and_converted_and_a_code_that_is_no_currency_says_so(org, client_a):
    response = post(client_a, SALE, sale_body(currency="usd", amount="115.55", occurred_at="2026-03-20T12:00:00Z"))
    assert response.status_code == 201
    body = response.json()  # the ECB's USD rate of Friday 20 March 2026: 1.1555
    assert (body["amount"], body["currency"], body["original_amount"], body["original_currency"]) == (
        "100.00", "EUR", "115.55", "USD")
    assert (body["rate"], body["rate_day"], body["rate_status"]) == ("1.1555000000", "2026-03-20", "exact")

    response = post(client_a, SALE, sale_body(currency="XYZ", invoice_id="inv-xyz"))
    assert response.status_code == 400
    assert response.json()["currency"] == ["Currency must be an ISO 4217 code such as EUR or USD; 'XYZ' is not one."]
    assert [sale.invoice_id for sale in sales(org)] == [body["invoice_id"]]


@pytest.mark.django_db
def test_sale_needs_its_fields(client_a):
    response = post(client_a, SALE, {"status": "maybe"})
    assert response.status_code == 400
    assert set(response.json()) == {"customer_external_id", "amount", "currency", "invoice_id", "status"}


# --- transport: size, keys, schema --------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("url", [LEAD, SALE])
def test_body_over_64_kb_is_413(org, client_a, url):
    body = json.dumps({"email": "a@example.com", "metadata": {"blob": "x" * 70_000}})
    response = client_a.post(url, body, content_type="application/json")
    assert response.status_code == 413
    assert "64 kB" in response.json()["detail"]
    assert customers(org) == []


@pytest.mark.django_db
def test_missing_revoked_and_session_keys_are_refused(org, owner, client):
    assert APIClient().post(LEAD, {"email": "a@example.com"}, format="json").status_code == 401
    key, full_key = create_api_key(organization=org, name="old")
    revoke_api_key(key)
    revoked = APIClient()
    revoked.credentials(HTTP_AUTHORIZATION=f"Bearer {full_key}")
    response = revoked.post(LEAD, {"email": "a@example.com"}, format="json")
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    client.force_login(owner)
    assert client.post(LEAD, {"email": "a@example.com"}, content_type="application/json").status_code in (401, 403)
    assert customers(org) == []


@pytest.mark.django_db
def test_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    lead = schema["paths"]["/api/v1/track/lead"]["post"]
    sale = schema["paths"]["/api/v1/track/sale"]["post"]
    assert {"201", "200", "400", "413"} <= set(lead["responses"]) and {"201", "200"} <= set(sale["responses"])
    assert "TrackSaleRequest" in json.dumps(sale) or "SaleRequest" in json.dumps(sale)


# --- concurrency: the acceptance test ---------------------------------------------------------------

def race(full_key, requests, threads):
    """POST the (url, body) pairs from `threads` threads released together by a barrier;
    returns the status codes. Each thread closes its own database connection."""
    barrier = threading.Barrier(threads)
    statuses, errors = [], []

    def worker(url, body):
        try:
            client = Client(HTTP_AUTHORIZATION=f"Bearer {full_key}")
            barrier.wait(timeout=30)
            response = client.post(url, json.dumps(body), content_type="application/json")
            statuses.append(response.status_code)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(error))
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=requests[i % len(requests)]) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert errors == []
    return statuses


def thread_count():
    # SQLite runs one writer at a time; fewer threads keep its lock waits short.
    return 50 if connection.vendor == "postgresql" else 10


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_of_the_same_sale_create_exactly_one():
    organization = OrganizationFactory(currency="EUR")
    _, full_key = create_api_key(organization=organization, name="CRM")
    threads = thread_count()
    statuses = race(full_key, [(SALE, sale_body(invoice_id="inv_race"))], threads)
    assert sorted(statuses) == [200] * (threads - 1) + [201]
    with tenant_scope(organization):
        assert Sale.objects.filter(invoice_id="inv_race").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("body", [{"customer_external_id": "cus_race"}, {"email": "race@example.com"}])
def test_concurrent_leads_of_one_person_create_one_customer(body):
    organization = OrganizationFactory(currency="EUR")
    _, full_key = create_api_key(organization=organization, name="CRM")
    threads = thread_count()
    statuses = race(full_key, [(LEAD, body)], threads)
    assert sorted(statuses) == [200] * (threads - 1) + [201]
    assert len(customers(organization)) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_sales_and_lead_of_one_customer_are_always_linked():
    organization = OrganizationFactory(currency="EUR")
    _, full_key = create_api_key(organization=organization, name="CRM")
    threads = min(thread_count(), 20)
    requests = [(LEAD, {"customer_external_id": "cus_1"})] + [
        (SALE, sale_body(invoice_id=f"inv_{n}")) for n in range(threads - 1)]
    statuses = race(full_key, requests, threads)
    assert sorted(statuses) == [201] * threads
    [customer] = customers(organization)
    assert [sale.customer_id for sale in sales(organization)] == [customer.pk] * (threads - 1)
