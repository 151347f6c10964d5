"""HubSpot → leads and sales, through the public receiving URL, with requests signed the way
HubSpot documents its v3 signature (https://developers.hubspot.com/docs/api/webhooks/validating-requests):
X-HubSpot-Signature-v3 = base64(HMAC-SHA256(client secret, method + URI + body + timestamp)),
X-HubSpot-Request-Timestamp in milliseconds — computed here by hand. The URI is the receiving URL
as the admin pasted it into HubSpot (SITE_URL + path)."""

import base64
import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest
from django.conf import settings

from integrations.inbound import services
from integrations.models import InboundEvent, Provider
from tenancy.scoping import tenant_scope
from tests.factories import BROWSER
from tests.support.scenario import Scenario
from tracking.capture import ClickRecord, insert_rows
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import Credit, CreditKind, Customer, Sale

SECRET = "3f1c9a2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"


def v3_signature(secret: str, method: str, uri: str, body: str, timestamp: str) -> str:
    source = f"{method}{uri}{body}{timestamp}".encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def post(client, connection, events: list, *, secret: str = SECRET, timestamp_ms: int | None = None,
         signed_uri: str | None = None):
    body = json.dumps(events)
    path = f"/hooks/hubspot/{connection.public_token}/"
    timestamp = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    signature = v3_signature(secret, "POST", signed_uri or settings.SITE_URL + path, body, timestamp)
    return client.post(path, body, content_type="application/json", HTTP_X_HUBSPOT_SIGNATURE_V3=signature,
                       HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=timestamp)


def change(event_id: int, kind: str, object_id: int, prop: str, value: str) -> dict:
    return {"eventId": event_id, "subscriptionId": 42, "portalId": 62515, "appId": 54321,
            "occurredAt": int(time.time() * 1000), "subscriptionType": kind, "attemptNumber": 0,
            "objectId": object_id, "changeSource": "CRM", "propertyName": prop, "propertyValue": value}


def click_through(scenario: Scenario, link) -> str:
    """A visitor clicked the link an hour ago, stored as the redirect stores it, and processed."""
    at = time.time() - 3600
    click_id = new_click_id(at)
    insert_rows([ClickRecord(click_id, scenario.org.pk, link.pk, at, new_visitor_id(), "ab" * 16, BROWSER, "",
                             "linkedin", False).row()])
    scenario.process()
    return click_id


@pytest.fixture
def programme(org):
    scenario = Scenario(org)
    ada = scenario.ambassador("Ada")
    return scenario, ada, scenario.link(scenario.campaign("Spring"), ada)


@pytest.fixture
def connection(org):
    return services.create_connection(org, provider=Provider.HUBSPOT, signing_secret=SECRET)


def stored(org) -> list:
    with tenant_scope(org):
        return list(InboundEvent.objects.order_by("id").values_list("event_id", "outcome"))


def test_a_contact_with_the_click_id_becomes_a_lead_once(client, org, programme, connection):
    scenario, ada, link = programme
    click_id = click_through(scenario, link)
    events = [{"eventId": 1, "subscriptionType": "contact.creation", "objectId": 901, "occurredAt": 1,
               "changeFlag": "CREATED"},
              change(2, "contact.propertyChange", 901, "amb_cid", click_id)]

    first = post(client, connection, events)
    again = post(client, connection, events)  # HubSpot retries the whole request

    assert first.status_code == 200
    assert [e["outcome"] for e in first.json()["events"]] == ["ignored", "processed"]
    assert all(e["replay"] for e in again.json()["events"])
    with tenant_scope(org):
        customer = Customer.objects.get()
    assert (customer.external_id, customer.first_click_id) == ("hubspot-contact-901", click_id)
    assert stored(org) == [("1", "ignored"), ("2", "processed")]
    scenario.attribute()
    with tenant_scope(org):
        assert set(Credit.objects.filter(kind=CreditKind.LEAD).values_list("ambassador_id", flat=True)) == {ada.pk}


def test_a_deal_moved_to_the_won_stage_is_a_sale_credited_through_its_click_id(client, org, programme, connection):
    scenario, ada, link = programme
    click_id = click_through(scenario, link)

    post(client, connection, [change(10, "deal.propertyChange", 555, "amb_cid", click_id),
                              change(11, "deal.propertyChange", 555, "amount", "1200.50")])
    moved = post(client, connection, [change(12, "deal.propertyChange", 555, "dealstage", "appointmentscheduled")])
    won = post(client, connection, [change(13, "deal.propertyChange", 555, "dealstage", "closedwon")])
    post(client, connection, [change(14, "deal.propertyChange", 555, "dealstage", "closedwon")])  # reopened, won again

    assert moved.json()["events"][0]["outcome"] == "ignored"
    assert won.json()["events"][0]["outcome"] == "processed"
    with tenant_scope(org):
        sale = Sale.objects.get()
    assert (sale.invoice_id, sale.amount, sale.currency) == ("hubspot-deal-555", Decimal("1200.50"), "EUR")
    assert sale.customer.first_click_id == click_id
    scenario.attribute()
    with tenant_scope(org):
        credits = Credit.objects.filter(sale=sale, kind=CreditKind.SALE, model="linear")
        assert [(c.ambassador_id, c.amount) for c in credits] == [(ada.pk, Decimal("1200.50"))]


def test_the_amount_in_the_same_request_wins_and_currency_follows_the_deal(client, org, connection):
    answer = post(client, connection, [change(20, "deal.propertyChange", 7, "dealstage", "closedwon"),
                                       change(21, "deal.propertyChange", 7, "amount", "99"),
                                       change(22, "deal.propertyChange", 7, "deal_currency_code", "eur")])
    usd = post(client, connection, [change(23, "deal.propertyChange", 8, "deal_currency_code", "USD"),
                                    change(24, "deal.propertyChange", 8, "amount", "10"),
                                    change(25, "deal.propertyChange", 8, "dealstage", "closedwon")])

    bad = post(client, connection, [change(26, "deal.propertyChange", 9, "deal_currency_code", "dollars"),
                                    change(27, "deal.propertyChange", 9, "amount", "10"),
                                    change(28, "deal.propertyChange", 9, "dealstage", "closedwon")])

    assert answer.json()["events"][0]["outcome"] == "processed"
    converted = usd.json()["events"][2]
    assert converted["outcome"] == "processed" and "10.00 USD = " in converted["detail"]
    with tenant_scope(org):
        assert list(Sale.objects.order_by("invoice_id").values_list("invoice_id", "amount", "original_amount",
                                                                   "original_currency")) == [
            ("hubspot-deal-7", Decimal("99.00"), Decimal("99.00"), "EUR"),
            ("hubspot-deal-8", Sale.objects.get(invoice_id="hubspot-deal-8").amount, Decimal("10.00"), "USD")]
        assert Sale.objects.get(invoice_id="hubspot-deal-8").amount > 0  # at the ECB's rate, not awaiting one
    refused = bad.json()["events"][2]
    assert refused["outcome"] == "failed" and "ISO 4217" in refused["detail"] and "DOLLARS" in refused["detail"]


def test_a_won_deal_without_an_amount_fails_with_the_reason_unless_a_default_is_set(client, org, connection):
    failed = post(client, connection, [change(30, "deal.propertyChange", 9, "dealstage", "closedwon")])

    detail = failed.json()["events"][0]
    assert detail["outcome"] == "failed" and "amount" in detail["detail"]
    services.update_connection(connection, settings={"default_amount": "500", "deal_stage": "won-stage-1"})
    other_stage = post(client, connection, [change(31, "deal.propertyChange", 9, "dealstage", "closedwon")])
    won = post(client, connection, [change(32, "deal.propertyChange", 9, "dealstage", "won-stage-1")])

    assert other_stage.json()["events"][0]["outcome"] == "ignored"
    assert won.json()["events"][0]["outcome"] == "processed"
    with tenant_scope(org):
        assert Sale.objects.get().amount == Decimal("500.00")


def test_wrong_signatures_and_old_timestamps_are_400_and_store_nothing(client, org, connection):
    events = [change(40, "deal.propertyChange", 1, "amount", "10")]
    path = f"/hooks/hubspot/{connection.public_token}/"

    answers = {
        "wrong secret": post(client, connection, events, secret="another-client-secret-0000"),
        "another URL": post(client, connection, events, signed_uri=settings.SITE_URL + "/hooks/hubspot/other/"),
        "old": post(client, connection, events, timestamp_ms=int((time.time() - 6 * 60) * 1000)),
        "future": post(client, connection, events, timestamp_ms=int((time.time() + 6 * 60) * 1000)),
        "unsigned": client.post(path, json.dumps(events), content_type="application/json"),
    }

    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 400)
    assert "5 minutes" in answers["old"].json()["detail"]
    assert stored(org) == []
    assert post(client, connection, events, timestamp_ms=int((time.time() - 4 * 60) * 1000)).status_code == 200


def test_the_signature_covers_the_uri_with_hubspots_decoded_characters(client, org, connection):
    """HubSpot decodes %3A, %2F, %40, … in the URI before signing; a query string is part of it."""
    body = json.dumps([change(50, "contact.creation", 3, "", "")])
    path = f"/hooks/hubspot/{connection.public_token}/?note=a%3Ab%40c"
    timestamp = str(int(time.time() * 1000))
    signed = v3_signature(SECRET, "POST", settings.SITE_URL + path.replace("%3A", ":").replace("%40", "@"), body,
                          timestamp)

    answer = client.post(path, body, content_type="application/json", HTTP_X_HUBSPOT_SIGNATURE_V3=signed,
                         HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=timestamp)

    assert answer.status_code == 200


def test_a_click_property_that_is_not_a_click_id_fails_and_bodies_that_are_not_events_are_400(client, org,
                                                                                               connection):
    bad = post(client, connection, [change(60, "contact.propertyChange", 4, "amb_cid", "not a click id")])
    empty = post(client, connection, [])
    no_ids = post(client, connection, [{"subscriptionType": "contact.creation", "objectId": 4}])

    assert bad.json()["events"][0]["outcome"] == "failed"
    assert (empty.status_code, no_ids.status_code) == (400, 400)
    with tenant_scope(org):
        assert not Customer.objects.exists()


def test_the_token_of_b_posts_into_b_only(client, org, other_org, connection):
    theirs = services.create_connection(other_org, provider=Provider.HUBSPOT, signing_secret="b-" + SECRET)
    events = [change(70, "deal.propertyChange", 77, "amount", "10"),
              change(71, "deal.propertyChange", 77, "dealstage", "closedwon")]

    assert post(client, theirs, events).status_code == 400  # A's secret does not open B's URL
    assert post(client, theirs, events, secret="b-" + SECRET).status_code == 200

    with tenant_scope(other_org):
        assert list(Sale.objects.filter(organization=other_org).values_list("invoice_id", flat=True)) == [
            "hubspot-deal-77"]
    with tenant_scope(org):
        assert not Sale.objects.filter(organization=org).exists()
    assert stored(org) == []
