"""verify_credits (tracking.verification): finds nothing on credits attribution wrote, and names
each broken invariant, with its conversion, when credits are tampered with."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, CampaignFactory, ClickFactory, LinkFactory
from tracking import tasks
from tracking.ids import new_visitor_id
from tracking.models import Credit, Customer, Sale, SaleStatus
from tracking.services import attribution
from tracking.services.conversions import record_lead, record_sale
from tracking.verification import (
    CreditGroup,
    CustomerFacts,
    SaleFact,
    TouchFact,
    check_customer,
    verify_organization,
)

NOW = timezone.now().replace(microsecond=0)
WINDOW = timedelta(days=30)
MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")


@pytest.fixture(autouse=True)
def click_capture():
    """No click capture here (overrides tests/tracking/conftest.py's parametrised modes)."""
    return None


# --- the pure checks --------------------------------------------------------------------------------

def facts(*, credits=(), sales=(), touches=None, self_referral=False, attributed=True):
    if touches is None:
        touches = [TouchFact(7, 70, NOW - timedelta(days=2), False, False, False)]
    return CustomerFacts(1, 11, NOW, attributed, self_referral, list(touches), list(sales), list(credits))


def lead(model, share="1.0000", ambassador=7, link=70, rows=1):
    return CreditGroup("lead", None, model, ambassador, link, rows, Decimal("0"), Decimal(share))


def sale_credit(model, amount, sale_id=5, kind="sale", ambassador=7, link=70):
    share = Decimal("1.0000") if kind == "customer" else Decimal("0")
    return CreditGroup(kind, sale_id, model, ambassador, link, 1, Decimal(amount) if kind == "sale" else Decimal(0),
                       share)


def whole_lead():
    return [lead(model) for model in MODELS]


def paid_sale(sale_id=5, amount="100.00", paid=True, attributed=True):
    return SaleFact(sale_id, paid, Decimal(amount), attributed, NOW + timedelta(days=1))


def sold(amount="100.00", sale_id=5):
    return [sale_credit(model, amount, sale_id) for model in MODELS] + [
        sale_credit(model, "0", sale_id, kind="customer") for model in MODELS]


def checks(found):
    return sorted({violation.check for violation in found})


def test_a_correctly_credited_customer_passes():
    assert check_customer(facts(credits=whole_lead() + sold(), sales=[paid_sale()]), WINDOW) == []


def test_a_refunded_sale_with_credits_is_named():
    found = check_customer(facts(credits=whole_lead() + sold(), sales=[paid_sale(paid=False)]), WINDOW)
    assert "refunded_sale_credited" in checks(found)
    assert all(v.sale_id == 5 for v in found if v.check == "refunded_sale_credited")
    # Refunded but not yet re-attributed: the beat's work, not a violation.
    assert "refunded_sale_credited" not in checks(
        check_customer(facts(credits=whole_lead() + sold(), sales=[paid_sale(paid=False, attributed=False)]), WINDOW))


def test_a_live_sale_short_of_its_amount_is_named():
    found = check_customer(facts(credits=whole_lead() + sold("99.99"), sales=[paid_sale()]), WINDOW)
    assert checks(found) == ["sale_credits_not_amount"]
    assert "sale credits add up to 99.99, not 100.00" in found[0].message


def test_an_attributed_lead_without_credits_is_named():
    found = check_customer(facts(credits=[]), WINDOW)
    assert checks(found) == ["lead_without_credit"]
    assert len(found) == len(MODELS)
    assert check_customer(facts(credits=[], attributed=False), WINDOW) == []  # waiting: not yet


def test_lead_shares_not_adding_up_to_one():
    found = check_customer(facts(credits=[lead(model, "0.9999") for model in MODELS]), WINDOW)
    assert checks(found) == ["lead_shares_not_one"]


@pytest.mark.parametrize(("touch", "why"), [
    (TouchFact(7, 70, NOW - timedelta(days=31), False, False, False), "outside the lead's window"),
    (TouchFact(7, 70, NOW + timedelta(seconds=1), False, False, False), "outside the lead's window"),
    (TouchFact(7, 70, NOW - timedelta(days=1), True, False, False), "bot clicks only"),
    (TouchFact(7, 70, NOW - timedelta(days=1), True, False, True), "HEAD request only"),
    (TouchFact(7, 70, NOW - timedelta(days=1), False, True, False), "own clicks only"),
])
def test_a_credit_without_a_creditable_touch_in_the_window_is_named(touch, why):
    found = check_customer(facts(credits=whole_lead(), touches=[touch]), WINDOW)
    assert "credit_without_touch" in checks(found)
    assert why in next(v for v in found if v.check == "credit_without_touch").message


def test_the_window_includes_both_ends():
    for at in (NOW - WINDOW, NOW):
        touch = TouchFact(7, 70, at, False, False, False)
        assert check_customer(facts(credits=whole_lead(), touches=[touch]), WINDOW) == []


def test_a_credited_self_referral_is_named():
    assert checks(check_customer(facts(credits=whole_lead(), self_referral=True), WINDOW)) == [
        "self_referral_credited"]
    assert check_customer(facts(credits=[], self_referral=True), WINDOW) == []


def test_duplicates_and_credits_on_another_customers_sale():
    found = check_customer(facts(credits=[lead(model, rows=2) for model in MODELS] + sold(sale_id=99),
                                 sales=[paid_sale()]), WINDOW)
    assert {"duplicate_credit", "missing_sale_credited"} <= set(checks(found))


# --- on the database ----------------------------------------------------------------------------------

@pytest.fixture
def programme(org):
    """Three ambassadors' links (the third reached by the visitor only as a bot); three customers:
    one credited with a paid and a refunded sale, one direct (no click), one self-referral; all
    attributed."""
    campaign = CampaignFactory(organization=org)
    links = [LinkFactory(campaign=campaign, ambassador=AmbassadorFactory(organization=org, email=f"a{n}@acme.test"))
             for n in range(3)]
    visitor = new_visitor_id()
    ClickFactory(link=links[0], visitor_id=visitor, clicked_at=NOW - timedelta(days=3))
    ClickFactory(link=links[1], visitor_id=visitor, clicked_at=NOW - timedelta(days=1))
    ClickFactory(link=links[2], visitor_id=visitor, clicked_at=NOW - timedelta(days=2), is_bot=True, is_unique=False)
    record_lead(org, visitor_id=visitor, customer_external_id="cus_1", occurred_at=NOW)
    record_lead(org, email="direct@example.com", customer_external_id="cus_2", occurred_at=NOW)
    record_lead(org, visitor_id=visitor, email="A1@acme.test", customer_external_id="cus_3", occurred_at=NOW)
    for invoice, customer in (("INV-1", "cus_1"), ("INV-2", "cus_1"), ("INV-3", "cus_2")):
        record_sale(org, customer_external_id=customer, amount=Decimal("250.00"), currency=org.currency,
                    invoice_id=invoice, occurred_at=NOW + timedelta(hours=1))
    record_sale(org, customer_external_id="cus_1", amount=Decimal("250.00"), currency=org.currency,
                invoice_id="INV-2", status=SaleStatus.REFUNDED)
    with tenant_scope(org):
        while attribution.attribute_pending(org.pk).more:
            pass
        assert not Customer.objects.filter(attributed_at__isnull=True).exists()
    return links


def violations(org):
    return verify_organization(org.pk, batch=2)  # several batches on three customers


def test_attributed_credits_verify_clean_and_the_command_says_so(org, programme, capsys):
    report = violations(org)
    assert report.violations == []
    assert (report.customers, report.waiting) == (3, 0)
    assert report.credits > 0
    call_command("verify_credits", "--org", org.slug)
    out = capsys.readouterr().out
    assert "acme: 3 customers" in out and "0 violations" in out


def tamper(org, **changes):
    with tenant_scope(org):
        Sale.objects.filter(invoice_id="INV-1").update(**changes)


def test_a_refund_overwritten_by_attribution_is_found_and_the_command_exits_1(org, programme, capsys):
    # What the race did: the sale refunded, yet marked attributed with its credits.
    tamper(org, status=SaleStatus.REFUNDED, attributed_at=timezone.now())
    report = violations(org)
    assert {v.check for v in report.violations} == {"refunded_sale_credited", "customer_credits_not_one"}
    with tenant_scope(org):
        sale = Sale.objects.get(invoice_id="INV-1")
    assert all(v.sale_id == sale.pk for v in report.violations if v.check == "refunded_sale_credited")
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_credits", "--org", org.slug)
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert f"sale {sale.pk} [linear]: refunded_sale_credited" in captured.out
    assert "violations in 1 organisations" in captured.err


def test_a_lead_marked_attributed_without_credits_is_found(org, programme):
    with tenant_scope(org):
        customer = Customer.objects.get(external_id="cus_1")
        Credit.objects.filter(customer=customer).delete()
    checks_found = {v.check for v in violations(org).violations}
    assert {"lead_without_credit", "sale_credits_not_amount", "customer_credits_not_one"} <= checks_found


def test_a_credit_for_a_bot_click_and_a_credited_self_referral_are_found(org, programme):
    bot_link = programme[2]
    with tenant_scope(org):
        credited = Customer.objects.get(external_id="cus_1")
        self_referral = Customer.objects.get(external_id="cus_3")
        # The first-touch credit moved to the link the visitor reached only as a bot.
        Credit.objects.filter(customer=credited, kind="lead", model="first_touch").update(
            ambassador_id=bot_link.ambassador_id, link_id=bot_link.pk)
        Credit.objects.create(organization=org, kind="lead", customer=self_referral, model="linear",
                              ambassador_id=programme[0].ambassador_id, link_id=programme[0].pk,
                              campaign_id=programme[0].campaign_id, lead_share=Decimal("1.0000"),
                              converted_at=self_referral.first_lead_at)
    found = violations(org).violations
    assert {(v.check, v.customer_id, v.model) for v in found} == {
        ("credit_without_touch", credited.pk, "first_touch"),
        ("self_referral_credited", self_referral.pk, "linear"),
    }
    bot = next(v for v in found if v.check == "credit_without_touch")
    assert bot.message == f"ambassador {bot_link.ambassador_id}, link {bot_link.pk} credited for bot clicks only"


def test_conversions_waiting_for_attribution_are_counted_not_flagged(org, programme):
    record_lead(org, customer_external_id="cus_1", occurred_at=NOW - timedelta(days=2))  # an earlier lead
    report = violations(org)
    assert report.violations == []
    assert report.waiting == 1


def test_the_nightly_task_logs_violations_at_error_with_their_count(org, programme, caplog):
    assert tasks.verify_credits() == 0
    tamper(org, status=SaleStatus.REFUNDED, attributed_at=timezone.now())
    with caplog.at_level(logging.ERROR, logger="tracking.tasks"):
        found = tasks.verify_credits()
    assert found > 0
    messages = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert f"verify_credits: {found} violations in organisation {org.pk} (3 customers checked)" in messages
    assert any("refunded_sale_credited" in message for message in messages)


def test_beat_runs_it_nightly():
    entry = settings.CELERY_BEAT_SCHEDULE["verify-credits"]
    assert entry["task"] == tasks.verify_credits.name
    assert entry["schedule"].hour == {3}
