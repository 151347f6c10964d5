"""The first lead is the earliest one, however late it is reported (issue 11), and touches at the
same instant are ordered by click id, whichever web process's spool was drained first."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key
from tests.factories import AmbassadorFactory, CampaignFactory, ClickFactory, LinkFactory, OrganizationFactory
from tracking import attribution as engine
from tracking.capture import insert_rows
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import Click, Credit, Customer
from tracking.services import attribution, click_processing, imports
from tracking.services.conversions import record_lead
from tracking.verification import verify_organization

NOW = timezone.now().replace(microsecond=0)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


@pytest.fixture(autouse=True)
def click_capture():
    """No click capture here (overrides tests/tracking/conftest.py's parametrised modes)."""
    return None


def make_links(org, count=3):
    campaign = CampaignFactory(organization=org)
    return [LinkFactory(campaign=campaign, ambassador=AmbassadorFactory(organization=org, email=f"a{n}@example.com"))
            for n in range(count)]


def click(org, link, visitor, at):
    ClickFactory(link=link, visitor_id=visitor, clicked_at=at)


def attribute_all(org):
    with tenant_scope(org):
        while attribution.attribute_pending(org.pk).more:
            pass


def lead_shares(org, customer):
    shares = defaultdict(dict)
    with tenant_scope(org):
        for model, ambassador_id, share in Credit.objects.filter(customer=customer, kind="lead").values_list(
                "model", "ambassador_id", "lead_share"):
            shares[model][ambassador_id] = shares[model].get(ambassador_id, Decimal(0)) + share
    return dict(shares)


def customer_of(org, external_id):
    with tenant_scope(org):
        return Customer.objects.get(external_id=external_id)


@pytest.fixture
def journey(org):
    """A visitor clicked links[0] 12 days and links[1] 1 day before `NOW`."""
    links = make_links(org)
    visitor = new_visitor_id()
    click(org, links[0], visitor, NOW - timedelta(days=12))
    click(org, links[1], visitor, NOW - timedelta(days=1))
    return links, visitor


def test_a_csv_import_of_an_older_lead_after_the_api_lead_moves_the_credit(org, journey):
    links, visitor = journey
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {create_api_key(organization=org, name='CRM')[1]}")
    answer = api.post("/api/v1/track/lead", {"visitor_id": visitor, "email": "jo@example.com",
                                             "customer_external_id": "cus_42", "occurred_at": NOW.isoformat()},
                      format="json")
    assert answer.status_code == 201, answer.content
    attribute_all(org)
    half = {links[0].ambassador_id: Decimal("0.5000"), links[1].ambassador_id: Decimal("0.5000")}
    assert lead_shares(org, customer_of(org, "cus_42"))["linear"] == half

    # The CRM export holds the same person's lead from 10 days before: only links[0]'s click is
    # in the 30 days before it (links[1]'s came later).
    older = (NOW - timedelta(days=10)).strftime("%Y-%m-%d %H:%M")
    done = imports.run_import(imports.create_import(
        org, None, "leads", "crm.csv", f"Email,Customer ID,Created\njo@example.com,cus_42,{older}\n".encode()).pk)
    assert (done.rows_updated, done.rows_failed) == (1, 0)
    customer = customer_of(org, "cus_42")
    assert customer.first_lead_at < NOW - timedelta(days=9)
    assert customer.last_lead_at == NOW
    assert customer.attributed_at is None  # queued for attribution again

    attribute_all(org)
    only_first = {links[0].ambassador_id: Decimal("1.0000")}
    assert lead_shares(org, customer) == {model: only_first for model in engine.MODELS}
    assert verify_organization(org.pk).violations == []

    # The same file again changes nothing; a later lead changes details, not credit.
    again = imports.run_import(imports.create_import(
        org, None, "leads", "crm.csv", f"Email,Customer ID,Created\njo@example.com,cus_42,{older}\n".encode()).pk)
    assert again.rows_unchanged == 1
    record_lead(org, customer_external_id="cus_42", name="Jo", occurred_at=NOW + timedelta(days=1))
    assert customer_of(org, "cus_42").attributed_at is not None
    assert customer_of(org, "cus_42").first_lead_at == customer.first_lead_at


def test_an_earlier_lead_with_its_own_click_takes_that_clicks_visitor(org, journey):
    links, visitor = journey
    record_lead(org, visitor_id=visitor, customer_external_id="cus_1", occurred_at=NOW)
    other_visitor = new_visitor_id()
    click(org, links[2], other_visitor, NOW - timedelta(days=20, hours=1))
    with tenant_scope(org):
        earlier_click = Click.objects.get(visitor_id=other_visitor).click_id
    record_lead(org, click_id=earlier_click, customer_external_id="cus_1", occurred_at=NOW - timedelta(days=20))
    customer = customer_of(org, "cus_1")
    assert (customer.visitor_id, customer.first_click_id) == (other_visitor, earlier_click)
    attribute_all(org)
    assert lead_shares(org, customer)["last_touch"] == {links[2].ambassador_id: Decimal("1.0000")}


def test_an_equal_time_keeps_the_lead_stored_first(org, journey):
    links, visitor = journey
    record_lead(org, visitor_id=visitor, customer_external_id="cus_1", occurred_at=NOW)
    attribute_all(org)
    record_lead(org, visitor_id=new_visitor_id(), customer_external_id="cus_1", occurred_at=NOW)
    customer = customer_of(org, "cus_1")
    assert customer.visitor_id == visitor and customer.attributed_at is not None


def test_same_instant_clicks_drained_in_either_order_give_the_same_credits(db):
    at = NOW - timedelta(hours=2)
    visitor = new_visitor_id()
    results = []
    for slug, order in (("first-a", (0, 1)), ("first-b", (1, 0))):
        # Same instant, same millisecond prefix, random tails; links[0]'s click has the smaller id.
        ids = sorted(new_click_id(at.timestamp()) for _ in range(2))
        org = OrganizationFactory(name=slug, slug=slug)
        links = make_links(org, 2)
        for position in order:  # each insert is one web process's drain (its own COPY / transaction)
            insert_rows([(ids[position], org.pk, links[position].pk, at, visitor, "x" * 32, BROWSER, "", "",
                          False)])
        with tenant_scope(org):
            click_processing.process_pending(org.pk)
            row_order = list(Click.objects.order_by("id").values_list("click_id", flat=True))
        assert row_order == [ids[p] for p in order]  # the row ids do follow the drain order
        record_lead(org, visitor_id=visitor, customer_external_id="cus_1", occurred_at=NOW)
        attribute_all(org)
        position_of = {link.ambassador_id: n for n, link in enumerate(links)}
        shares = lead_shares(org, customer_of(org, "cus_1"))
        results.append({model: {position_of[a]: share for a, share in by.items()} for model, by in shares.items()})
        assert verify_organization(org.pk).violations == []
    assert results[0] == results[1]
    # The earlier click id is the first touch, the later one the last, in both orders.
    assert results[0]["first_touch"] == {0: Decimal("1.0000")}
    assert results[0]["last_touch"] == {1: Decimal("1.0000")}
