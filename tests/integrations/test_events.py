"""The domain events (common.events) are published at their causes, through the real services: one
event per cause with the documented data (public ids, ISO UTC times, money as strings with their
currency; never a database id), and a retried request or task publishes nothing more."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ambassadors.models import Status
from ambassadors.services import invitations, programme
from campaigns.models import CampaignStatus
from campaigns.services.campaigns import create_campaign, update_campaign
from common.events import EVENT_TOPIC, EVENT_TYPES
from common.models import OutboxEvent
from integrations import listening
from integrations.models import WebhookEndpoint
from rewards.models import EarningEntry, EntryStatus
from rewards.services import ledger
from rewards.services import payouts as payout_service
from rewards.services.earnings import compute_earnings
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, UserFactory
from tests.support.payouts import approved, give_paypal
from tests.support.rewards import flat_rule
from tests.support.scenario import Scenario
from tracking.models import Customer, Sale
from tracking.services.conversions import record_lead, record_sale

pytestmark = pytest.mark.django_db

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture(autouse=True)
def _no_broker(settings):
    settings.OUTBOX_PUBLISH_ON_COMMIT = False


@pytest.fixture(autouse=True)
def _listening(org):
    """Events are written only for an organisation that listens (common.events.listen): give
    `org` an endpoint subscribed to every type (on a refused port: nothing here delivers)."""
    with tenant_scope(org):
        WebhookEndpoint.objects.create(organization=org, url="https://hooks.example.com/in", events=list(EVENT_TYPES),
                                       secret="whsec_" + "A" * 32)


def test_an_organisation_without_a_listening_endpoint_publishes_nothing(org, other_org):
    record_lead(other_org, customer_external_id="crm-1", email="bo@example.com")
    with tenant_scope(org):
        WebhookEndpoint.objects.filter(organization=org).update(enabled=False)
    listening.forget(WebhookEndpoint, WebhookEndpoint(organization=org))
    record_lead(org, customer_external_id="crm-2", email="cy@example.com")
    assert published("lead.created") == []
    with tenant_scope(org):
        endpoint = WebhookEndpoint.objects.get(organization=org)
        endpoint.enabled, endpoint.events = True, ["sale.created"]
        endpoint.save()  # forgets the remembered answer in this process at once
    record_lead(org, customer_external_id="crm-3", email="di@example.com")
    assert published("lead.created") == []  # not subscribed to it


def published(event_type: str) -> list[dict]:
    """The envelopes of `event_type` in the outbox, oldest first."""
    return list(OutboxEvent.objects.filter(topic=EVENT_TOPIC, key__startswith=f"event:{event_type}:")
                .order_by("pk").values_list("payload", flat=True))


def test_a_first_lead_publishes_lead_created_once(org):
    at = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    customer, created = record_lead(org, customer_external_id="crm-7", email="Ann@Example.com", name="Ann",
                                    occurred_at=at)
    assert created
    record_lead(org, customer_external_id="crm-7", name="Ann B.")  # a later lead of the same customer
    record_lead(org, customer_external_id="crm-7", name="Ann", occurred_at=at)  # the request retried
    (event,) = published("lead.created")
    assert event["type"] == "lead.created" and ISO_UTC.match(event["timestamp"])
    assert event["timestamp"].startswith(at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert event["data"] == {"customer": {"id": str(customer.public_id), "external_id": "crm-7", "name": "Ann",
                                          "click_id": None, "first_lead_at": event["timestamp"]}}


def test_a_sale_publishes_sale_created_once_and_its_refund_sale_refunded_once(org):
    customer, _ = record_lead(org, customer_external_id="crm-1")
    sale, created = record_sale(org, customer_external_id="crm-1", amount=Decimal("99.5"), currency="EUR",
                                invoice_id="inv-1")
    assert created
    record_sale(org, customer_external_id="crm-1", amount=Decimal("99.5"), currency="EUR", invoice_id="inv-1")
    (event,) = published("sale.created")
    assert event["data"]["sale"] == {
        "id": str(sale.public_id), "invoice_id": "inv-1", "amount": "99.50", "currency": "EUR",
        "original_amount": "99.50", "original_currency": "EUR", "rate_status": "own", "status": "paid",
        "occurred_at": event["timestamp"], "refunded_at": None, "customer_external_id": "crm-1",
        "customer_id": str(customer.public_id)}
    assert published("sale.refunded") == []

    for _retry in range(2):
        record_sale(org, customer_external_id="crm-1", amount=Decimal("99.5"), currency="EUR", invoice_id="inv-1",
                    status="refunded")
    (refund,) = published("sale.refunded")
    refunded = refund["data"]["sale"]
    assert refunded["id"] == str(sale.public_id) and refunded["status"] == "refunded"
    assert ISO_UTC.match(refunded["refunded_at"]) and refunded["amount"] == "99.50"
    assert len(published("sale.created")) == 1


def test_a_sale_before_its_customer_is_known_has_no_customer_id(org):
    sale, _ = record_sale(org, customer_external_id="later", amount=Decimal("10"), currency="EUR", invoice_id="i-2")
    (event,) = published("sale.created")
    assert event["data"]["sale"]["customer_id"] is None and event["data"]["sale"]["id"] == str(sale.public_id)


def test_an_ambassador_joining_at_once_publishes_ambassador_joined_once(org):
    user = UserFactory(email="joiner@example.com")
    with tenant_scope(org):
        page = programme.join_page_of(org)
        page.requires_approval = False
        page.save()
        ambassador = programme.apply(organization=org, user=user, display_name="Jo Iner")
        programme.apply(organization=org, user=user, display_name="Jo Iner")  # a double submit
        programme.set_status(ambassador, Status.PAUSED)
        programme.set_status(ambassador, Status.ACTIVE)  # back again: not a second joining
    (event,) = published("ambassador.joined")
    assert event["data"] == {"ambassador": {
        "id": str(ambassador.public_id), "display_name": "Jo Iner", "email": "joiner@example.com",
        "kind": ambassador.kind, "status": "active", "joined_at": event["timestamp"]}}


def test_an_ambassador_waiting_for_approval_joins_when_approved(org):
    with tenant_scope(org):
        page = programme.join_page_of(org)
        page.requires_approval = True
        page.save()
        ambassador = programme.apply(organization=org, user=UserFactory(), display_name="Pat")
        assert ambassador.status == Status.PENDING and published("ambassador.joined") == []
        programme.set_status(ambassador, Status.ACTIVE)
    (event,) = published("ambassador.joined")
    assert event["data"]["ambassador"]["id"] == str(ambassador.public_id)


def test_accepting_an_invitation_publishes_ambassador_joined_once(org):
    with tenant_scope(org):
        invitation = invitations.invite(organization=org, email="guest@example.com", display_name="Guest",
                                        send=False)
    assert published("ambassador.joined") == []
    token = invitations.make_token(invitation)
    user = UserFactory(email="guest@example.com")
    acceptance = invitations.accept(token=token, user=user)
    invitations.accept(token=token, user=user)  # a double submit
    (event,) = published("ambassador.joined")
    assert event["data"]["ambassador"]["id"] == str(acceptance.ambassador.public_id)


def test_a_campaign_published_once_when_it_goes_live(org):
    with tenant_scope(org):
        draft = create_campaign(organization=org, name="Spring", destination_url="https://shop.example.com/",
                                status=CampaignStatus.DRAFT)
        assert published("campaign.published") == []
        update_campaign(draft, status=CampaignStatus.ACTIVE)
        update_campaign(draft, name="Spring sale")  # a later save of the live campaign
        update_campaign(draft, status=CampaignStatus.PAUSED)
        update_campaign(draft, status=CampaignStatus.ACTIVE)
    (event,) = published("campaign.published")
    assert event["data"]["campaign"] == {
        "id": str(draft.public_id), "name": "Spring", "slug": draft.slug, "destination_url": "https://shop.example.com/",
        "starts_at": None, "ends_at": None, "published_at": event["timestamp"]}


def test_earnings_publish_created_once_per_entry_and_updated_per_move(org):
    s = Scenario(org)
    campaign = s.campaign("Spring")
    ada = s.ambassador("Ada")
    link = s.link(campaign, ada)
    at = timezone.now().replace(microsecond=0) - timedelta(days=2)
    visitor = s.visitor()
    visitor.clicks(link, at - timedelta(hours=1))
    s.process()
    visitor.lead("cus-1", at=at)
    s.attribute()
    rule = flat_rule(org, "lead", "10.00", name="Lead bonus")
    compute_earnings(org.pk, now=at + timedelta(hours=1))
    compute_earnings(org.pk, now=at + timedelta(hours=2))  # the task again: nothing new
    with tenant_scope(org):
        entry = EarningEntry.objects.get(rule=rule)
        customer = Customer.objects.get(external_id="cus-1")
    (created,) = published("earning.created")
    assert created["data"]["earning"] == {
        "id": str(entry.public_id), "status": entry.status, "event": "lead", "unit": "money", "amount": "10.00",
        "currency": "EUR", "earned_at": created["data"]["earning"]["earned_at"],
        "approve_after": created["data"]["earning"]["approve_after"], "ambassador_id": str(ada.public_id),
        "rule_id": str(rule.public_id), "campaign_id": str(campaign.public_id), "adjusts_id": None,
        "sale_id": None, "customer_id": str(customer.public_id)}
    assert ISO_UTC.match(created["data"]["earning"]["earned_at"])

    assert published("earning.updated") == []
    if entry.status == EntryStatus.PENDING:
        ledger.approve(entry, None)
    ledger.cancel(entry, None, "Duplicate lead")
    with pytest.raises(Exception):  # noqa: B017,PT011 - a second cancel is refused (RewardError)
        ledger.cancel(entry, None, "Again")
    statuses = [event["data"]["earning"]["status"] for event in published("earning.updated")]
    assert statuses[-1] == "canceled" and statuses.count("canceled") == 1
    assert all(event["data"]["earning"]["id"] == str(entry.public_id) for event in published("earning.updated"))


def test_a_paid_payout_run_publishes_payout_paid_once(org, owner):
    ambassador = AmbassadorFactory(organization=org, user=owner)
    give_paypal(ambassador, "paypal@acme.test")
    approved(ambassador, "25.00")
    run = payout_service.confirm(payout_service.create_run(org.pk, owner), owner)
    payout_service.mark_paid(run, owner)
    with pytest.raises(Exception):  # noqa: B017,PT011 - paying twice is refused
        payout_service.mark_paid(run, owner)
    (event,) = published("payout.paid")
    with tenant_scope(org):
        item = run.items.get()
    assert event["data"]["payout"] == {
        "id": str(run.public_id), "paid_at": event["timestamp"], "totals": [{"amount": "25.00", "currency": "EUR"}],
        "items": [{"id": str(item.public_id), "ambassador_id": str(ambassador.public_id), "amount": "25.00",
                   "currency": "EUR", "entries": 1}]}


def test_no_event_carries_a_database_id(org):
    """Every id in the data is a public id (a UUID or the organisation's own), never a row's pk."""
    customer, _ = record_lead(org, customer_external_id="crm-9")
    record_sale(org, customer_external_id="crm-9", amount=Decimal("5"), currency="EUR", invoice_id="inv-9")
    with tenant_scope(org):
        sale = Sale.objects.get(invoice_id="inv-9")
    for payload in OutboxEvent.objects.filter(topic=EVENT_TOPIC).values_list("payload", flat=True):
        for record in payload["data"].values():
            for name, value in record.items():
                if name == "id" or name.endswith("_id") and name not in ("invoice_id", "external_id",
                                                                         "customer_external_id", "click_id"):
                    assert value is None or re.fullmatch(r"[0-9a-f-]{36}", value), (name, value)
    assert published("sale.created")[0]["data"]["sale"]["id"] == str(sale.public_id)
