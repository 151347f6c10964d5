"""Stripe → sales, through the public receiving URL, with payloads signed the way Stripe documents
it (https://docs.stripe.com/webhooks#verify-manually): the Stripe-Signature header
`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the endpoint secret>`, computed here by
hand, not with the project's or the library's signing code. Clicks are stored as the redirect
stores them and go through click processing; attribution runs as tests/support/scenario.py runs it."""

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from campaigns.linkcache import link_cache
from integrations.inbound import services
from integrations.inbound.selectors import PAYMENT_REFERENCE
from integrations.inbound.stripe import amount_from_minor_units
from integrations.models import InboundEvent, Provider
from tenancy.scoping import scopes_disabled, tenant_scope
from tests.factories import BROWSER
from tests.support.concurrency import at_once
from tests.support.scenario import Scenario
from tracking.capture import ClickRecord, insert_rows
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import Credit, CreditKind, Customer, RateStatus, Sale, SaleStatus
from tracking.salts import forget_cached_salt
from tracking.services import rates
from tracking.services.conversions import ConversionError, record_lead

SECRET = "whsec_test_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
OTHER_SECRET = "whsec_test_other_0a1b2c3d4e5f60718293a4b5c6d7"


@pytest.fixture(autouse=True)
def _clicks_in_the_database(settings):
    settings.CLICK_CAPTURE = "db"
    link_cache.clear()
    forget_cached_salt()
    yield
    link_cache.clear()
    forget_cached_salt()


def stripe_signature(body: str, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post(client, connection, event: dict, *, secret: str = SECRET, timestamp: int | None = None, body=None):
    body = json.dumps(event) if body is None else body
    return client.post(f"/hooks/stripe/{connection.public_token}/", body, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=stripe_signature(body, secret, timestamp))


def event(event_id: str, kind: str, obj: dict) -> dict:
    return {"id": event_id, "object": "event", "api_version": "2024-06-20", "created": int(time.time()),
            "livemode": False, "type": kind, "data": {"object": obj}}


def checkout(session_id: str, *, amount: int = 4990, currency: str = "eur", click_id: str | None = None, **fields):
    return {"id": session_id, "object": "checkout.session", "mode": "payment", "payment_status": "paid",
            "status": "complete", "amount_total": amount, "currency": currency, "client_reference_id": click_id,
            "customer": "cus_Q1", "customer_details": {"email": "buyer@example.com"}, "payment_intent": "pi_Q1",
            "invoice": None, "metadata": {}, **fields}


def refund(charge_id: str = "ch_Q1", *, payment_intent: str = "pi_Q1", refunded: bool = True, amount_refunded=4990):
    return {"id": charge_id, "object": "charge", "amount": 4990, "amount_refunded": amount_refunded,
            "refunded": refunded, "currency": "eur", "payment_intent": payment_intent, "invoice": None}


def click_through(scenario: Scenario, link) -> str:
    """A visitor clicked the link an hour ago (stored as the redirect stores a click) and the click
    is processed: its amb_cid. (An hour ago: a Stripe event's time has whole seconds, and a click
    later than the conversion is no touch of it.)"""
    at = time.time() - 3600
    click_id = new_click_id(at)
    insert_rows([ClickRecord(click_id, scenario.org.pk, link.pk, at, new_visitor_id(), "ab" * 16, BROWSER, "",
                             "linkedin", False).row()])
    scenario.process()
    return click_id


def sale_credits(org, sale) -> list:
    """(ambassador, amount) of the sale's credits under one model (every model is computed)."""
    with tenant_scope(org):
        return list(Credit.objects.filter(sale=sale, kind=CreditKind.SALE, model="linear")
                    .values_list("ambassador_id", "amount"))


def events_of(org) -> list:
    with tenant_scope(org):
        return list(InboundEvent.objects.filter(organization=org).exclude(event_type=PAYMENT_REFERENCE)
                    .values_list("event_id", "outcome"))


@pytest.fixture
def programme(org):
    scenario = Scenario(org)
    ada = scenario.ambassador("Ada")
    link = scenario.link(scenario.campaign("Spring"), ada)
    return scenario, ada, link


@pytest.fixture
def connection(org):
    return services.create_connection(org, provider=Provider.STRIPE, signing_secret=SECRET)


def test_a_checkout_replayed_three_times_makes_one_sale_and_its_refund_removes_its_credits(client, org, programme,
                                                                                           connection):
    scenario, ada, link = programme
    click_id = click_through(scenario, link)
    paid = event("evt_paid_1", "checkout.session.completed", checkout("cs_test_1", click_id=click_id))

    answers = [post(client, connection, paid) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["replay"] for a in answers] == [False, True, True]
    with tenant_scope(org):
        sale = Sale.objects.get()
        customer = Customer.objects.get()
    assert (sale.invoice_id, sale.amount, sale.currency, sale.status) == ("cs_test_1", Decimal("49.90"), "EUR", "paid")
    assert sale.customer_id == customer.pk and customer.first_click_id == click_id
    assert events_of(org) == [("evt_paid_1", "processed")]
    scenario.attribute()
    assert sale_credits(org, sale) and {a for a, _ in sale_credits(org, sale)} == {ada.pk}
    assert sum(amount for _, amount in sale_credits(org, sale)) == Decimal("49.90")

    refunded = post(client, connection, event("evt_refund_1", "charge.refunded", refund()))
    post(client, connection, event("evt_refund_1", "charge.refunded", refund()))  # Stripe retries

    assert refunded.status_code == 200 and refunded.json()["outcome"] == "processed"
    sale.refresh_from_db()
    assert sale.status == SaleStatus.REFUNDED
    scenario.attribute()
    assert sale_credits(org, sale) == []
    with tenant_scope(org):
        assert Sale.objects.count() == 1


def test_a_wrong_signature_is_a_400_and_stores_nothing(client, org, connection):
    paid = event("evt_forged", "checkout.session.completed", checkout("cs_forged"))
    body = json.dumps(paid)

    wrong_secret = post(client, connection, paid, secret=OTHER_SECRET)
    tampered = client.post(f"/hooks/stripe/{connection.public_token}/", body.replace("4990", "499000"),
                           content_type="application/json", HTTP_STRIPE_SIGNATURE=stripe_signature(body, SECRET))
    unsigned = client.post(f"/hooks/stripe/{connection.public_token}/", body, content_type="application/json")

    for answer in (wrong_secret, tampered, unsigned):
        assert answer.status_code == 400 and answer["Content-Type"] == "application/json"
        assert "signature" in answer.json()["detail"].lower()
    with tenant_scope(org):
        assert not Sale.objects.exists() and not InboundEvent.objects.exists()


def test_an_old_timestamp_is_a_400_even_correctly_signed(client, org, connection):
    paid = event("evt_old", "checkout.session.completed", checkout("cs_old"))

    answer = post(client, connection, paid, timestamp=int(time.time()) - 6 * 60)

    assert answer.status_code == 400
    with tenant_scope(org):
        assert not Sale.objects.exists() and not InboundEvent.objects.exists()
    assert post(client, connection, paid, timestamp=int(time.time()) - 4 * 60).status_code == 200


def test_another_currency_is_converted_and_a_code_that_is_no_currency_is_refused(client, org, programme, connection):
    """A USD checkout is a sale of 49.90 USD converted at the latest ECB rate (estimated: today is
    after the shipped history's last day); "zzz" is no currency: failed with the reason, nothing stored."""
    scenario, ada, link = programme
    click_id = click_through(scenario, link)
    paid = event("evt_usd", "checkout.session.completed", checkout("cs_usd", currency="usd", click_id=click_id))

    answer = post(client, connection, paid)

    assert answer.status_code == 200 and answer.json()["outcome"] == "processed"
    assert "49.90 USD = " in answer.json()["detail"]
    with tenant_scope(org):
        sale = Sale.objects.get()
        rate, rate_day = rates.rate_for(org, "USD", timezone.localdate(timezone=org.tzinfo))
        assert (sale.original_amount, sale.original_currency, sale.currency) == (Decimal("49.90"), "USD", "EUR")
        assert (sale.amount, sale.rate, sale.rate_day) == (rates.convert(Decimal("49.90"), rate), rate, rate_day)
        assert sale.rate_status in (RateStatus.EXACT, RateStatus.ESTIMATED)
    scenario.attribute()
    with tenant_scope(org):
        credits = Credit.objects.filter(sale=sale, kind=CreditKind.SALE, model="linear")
        assert [(c.ambassador_id, c.amount, c.original_amount) for c in credits] == [
            (ada.pk, sale.amount, Decimal("49.90"))]

    bad = event("evt_zzz", "checkout.session.completed", checkout("cs_zzz", currency="zzz", customer="cus_Z"))
    answer = post(client, connection, bad)
    assert answer.status_code == 200  # Stripe sending it again could not make it right
    assert answer.json()["outcome"] == "failed" and "ZZZ is not an ISO 4217 code" in answer.json()["detail"]
    with tenant_scope(org):
        assert list(Sale.objects.values_list("invoice_id", flat=True)) == ["cs_usd"]
    assert events_of(org) == [("evt_usd", "processed"), ("evt_zzz", "failed")]
    assert post(client, connection, bad).json()["replay"] is True


def test_a_subscription_checkout_makes_the_lead_and_its_invoices_make_the_sales(client, org, programme, connection):
    scenario, ada, link = programme
    click_id = click_through(scenario, link)
    session = checkout("cs_sub", click_id=click_id, mode="subscription", invoice="in_first", customer="cus_SUB")
    invoice = {"id": "in_first", "object": "invoice", "amount_paid": 1500, "currency": "eur", "customer": "cus_SUB",
               "customer_email": "buyer@example.com", "payment_intent": "pi_first", "charge": "ch_first",
               "metadata": {}}

    # Stripe does not promise an order: the invoice may come before the session.
    assert post(client, connection, event("evt_inv", "invoice.paid", invoice)).json()["outcome"] == "processed"
    answer = post(client, connection, event("evt_sess", "checkout.session.completed", session))
    second = post(client, connection, event("evt_inv2", "invoice.paid", dict(invoice, id="in_second",
                                                                                  payment_intent="pi_second")))

    assert answer.json()["outcome"] == "processed" and second.json()["outcome"] == "processed"
    with tenant_scope(org):
        sales = {s.invoice_id: s for s in Sale.objects.all()}
        customer = Customer.objects.get()
    assert set(sales) == {"in_first", "in_second"}  # the session itself is not a third sale
    assert customer.external_id == "cus_SUB" and {s.customer_id for s in sales.values()} == {customer.pk}
    scenario.attribute()
    assert {a for a, _ in sale_credits(org, sales["in_first"])} == {ada.pk}
    # A renewal names the payer's e-mail too, which another customer of the CRM also has: the
    # Stripe customer, known here since the session, wins.
    with tenant_scope(org):
        record_lead(org, email="buyer@example.com", customer_external_id="crm-older")
    third = post(client, connection, event("evt_inv3", "invoice.paid", dict(invoice, id="in_third",
                                                                                 payment_intent="pi_third")))
    assert third.json()["detail"].endswith("customer cus_SUB.")
    refunded = post(client, connection, event("evt_ref_inv", "charge.refunded",
                                              refund("ch_x", payment_intent="pi_second", amount_refunded=1500)))
    assert refunded.json()["outcome"] == "processed"
    sales["in_second"].refresh_from_db()
    sales["in_first"].refresh_from_db()
    assert (sales["in_first"].status, sales["in_second"].status) == ("paid", "refunded")


def test_metadata_and_e_mail_find_the_customer_when_there_is_no_click_id(client, org, programme, connection):
    scenario, ada, link = programme
    click_id = click_through(scenario, link)
    with tenant_scope(org):
        record_lead(org, click_id=click_id, email="Known@Example.com", customer_external_id="crm-42")
    by_metadata = checkout("cs_meta", customer=None, metadata={"customer_external_id": "crm-42"},
                           customer_details={"email": None}, payment_intent="pi_meta")
    by_email = checkout("cs_mail", customer=None, customer_details={"email": "known@example.com"},
                        payment_intent="pi_mail")

    post(client, connection, event("evt_meta", "checkout.session.completed", by_metadata))
    post(client, connection, event("evt_mail", "checkout.session.completed", by_email))

    with tenant_scope(org):
        customer = Customer.objects.get()
        assert sorted(Sale.objects.filter(customer=customer).values_list("invoice_id", flat=True)) == [
            "cs_mail", "cs_meta"]
    scenario.attribute()
    with tenant_scope(org):
        assert {a for a, _ in sale_credits(org, Sale.objects.get(invoice_id="cs_mail"))} == {ada.pk}


def test_unpaid_sessions_partial_refunds_and_other_events_change_nothing(client, org, connection):
    post(client, connection, event("evt_paid", "checkout.session.completed", checkout("cs_1")))
    unpaid = post(client, connection, event("evt_unpaid", "checkout.session.completed",
                                            checkout("cs_2", payment_status="unpaid")))
    partial = post(client, connection, event("evt_partial", "charge.refunded",
                                             refund(refunded=False, amount_refunded=1000)))
    unknown_charge = post(client, connection, event("evt_unknown", "charge.refunded",
                                                    refund("ch_9", payment_intent="pi_9")))
    other = post(client, connection, event("evt_cust", "customer.created", {"id": "cus_1", "object": "customer"}))
    free = post(client, connection, event("evt_free", "checkout.session.completed", checkout("cs_3", amount=0)))

    assert [a.json()["outcome"] for a in (unpaid, partial, unknown_charge, other, free)] == ["ignored"] * 5
    with tenant_scope(org):
        assert list(Sale.objects.values_list("invoice_id", "status")) == [("cs_1", "paid")]


def test_the_token_of_b_posts_into_b_only(client, org, other_org, connection):
    theirs = services.create_connection(other_org, provider=Provider.STRIPE, signing_secret=OTHER_SECRET)
    paid = event("evt_same_id", "checkout.session.completed", checkout("cs_b"))

    assert post(client, theirs, paid, secret=SECRET).status_code == 400  # A's secret does not open B's URL
    assert post(client, theirs, paid, secret=OTHER_SECRET).status_code == 200
    assert post(client, connection, paid).json()["replay"] is False  # the same event id is A's own, once

    with scopes_disabled():
        assert {(s.organization_id, s.invoice_id) for s in Sale.objects.all()} == {(other_org.pk, "cs_b"),
                                                                                  (org.pk, "cs_b")}
    assert events_of(other_org) == [("evt_same_id", "processed")]


def test_unknown_tokens_other_methods_and_disabled_connections(client, org, connection):
    paid = event("evt_x", "checkout.session.completed", checkout("cs_x"))

    unknown = post(client, type("C", (), {"public_token": "x" * 32})(), paid)
    assert unknown.status_code == 404 and unknown.json() == {"detail": "No such receiving URL."}
    assert client.post(f"/hooks/hubspot/{connection.public_token}/", "[]",
                       content_type="application/json").status_code == 404  # a Stripe token is not HubSpot's
    assert client.get(f"/hooks/stripe/{connection.public_token}/").status_code == 405
    services.update_connection(connection, enabled=False)
    disabled = post(client, connection, paid)
    assert disabled.status_code == 503 and "disabled" in disabled.json()["detail"]
    with tenant_scope(org):
        assert not InboundEvent.objects.exists()
    services.update_connection(connection, enabled=True)
    assert post(client, connection, paid).json()["outcome"] == "processed"  # Stripe's retry is taken


@pytest.mark.parametrize(("minor", "currency", "amount"), [
    (4990, "EUR", "49.90"), (5000, "JPY", "5000.00"), (12340, "BHD", "12.34"), (1, "USD", "0.01")])
def test_minor_units_follow_the_currencys_exponent(minor, currency, amount):
    assert amount_from_minor_units(minor, currency) == Decimal(amount)


def test_minor_units_that_are_not_whole_or_too_precise_are_refused():
    for minor, currency in ((12345, "BHD"), (49.9, "EUR"), ("4990", "EUR"), (True, "EUR")):
        with pytest.raises(ConversionError):
            amount_from_minor_units(minor, currency)


def test_signed_bodies_of_odd_shapes_are_answered_never_a_server_error(client, org, connection):
    odd = {
        "not an event": ["evt"],
        "data not an object": {"id": "evt_a", "type": "invoice.paid", "data": ["x"]},
        "object missing": {"id": "evt_b", "type": "invoice.paid", "data": {}},
    }
    for name, body in odd.items():
        assert post(client, connection, body).status_code == 400, name
    shapes = [checkout("cs_o1", customer_details="x", metadata=["amb_cid"]),
              checkout("cs_o2", amount_total="4990"),
              checkout("cs_o3", currency=None),
              checkout("cs_o4", customer={"id": "cus_expanded"}, client_reference_id=12345)]
    answers = [post(client, connection, event(f"evt_o{i}", "checkout.session.completed", shape))
               for i, shape in enumerate(shapes)]

    assert [a.status_code for a in answers] == [200] * 4
    assert [a.json()["outcome"] for a in answers] == ["processed", "failed", "failed", "processed"]
    with tenant_scope(org):
        assert dict(Sale.objects.values_list("invoice_id", "customer_external_id")) == {
            "cs_o1": "cus_Q1", "cs_o4": "cus_expanded"}


@pytest.mark.django_db(transaction=True)
def test_the_same_event_arriving_four_times_at_once_makes_one_sale(org):
    """Stripe retrying while the first delivery is still being handled: the unique event id, in the
    sale's own transaction, lets exactly one through (the others wait for it, then see a replay)."""
    connection = services.create_connection(org, provider=Provider.STRIPE, signing_secret=SECRET)
    paid = event("evt_race", "checkout.session.completed", checkout("cs_race"))

    answers = at_once(lambda i: post(Client(), connection, paid), 4)

    assert [a.status_code for a in answers] == [200] * 4
    assert sorted(a.json()["replay"] for a in answers) == [False, True, True, True]
    with tenant_scope(org):
        assert Sale.objects.count() == 1
    assert events_of(org) == [("evt_race", "processed")]
