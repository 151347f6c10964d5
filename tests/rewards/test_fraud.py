"""Fraud holds (rewards.services.fraud): each rule holds a new entry in its ambassador's open case
with a reason; a released case gives the entries back (approved when due), confirmed fraud
cancels them, a case quiet for 30 days releases itself. PostgreSQL and SQLite."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from rewards import fraud_rules
from rewards.models import AuditEntry, CaseStatus, EarningEntry, EntryStatus, FraudCase, FraudReason, FraudSignal
from rewards.services import ledger
from rewards.services.fraud import (
    auto_release_stale,
    confirm,
    flag_shared_details,
    hold_for_review,
    release,
    screen_entries,
)
from tenancy.scoping import tenant_scope
from tests.factories import (
    AmbassadorFactory,
    ClickFactory,
    LinkFactory,
    PayoutDetailsFactory,
    RewardRuleFactory,
    RewardSettingsFactory,
    SaleFactory,
    UserFactory,
)
from tracking.models import Customer, SaleStatus
from tracking.services.conversions import record_lead

NOW = timezone.now().replace(microsecond=0)


def ambassador_at(org, email):
    return AmbassadorFactory(organization=org, user=UserFactory(email=email), email=email)


def lead_entry(org, ambassador, customer, **fields):
    """A pending money entry for the customer's lead, as the earnings engine writes it."""
    rule = fields.pop("rule", None) or RewardRuleFactory(organization=org, event="lead", amount_kind="flat",
                                                         percent=None, amount=Decimal("5.00"))
    with tenant_scope(org):
        return EarningEntry.objects.create(
            organization=org, rule=rule, ambassador=ambassador, cause=f"lead:{customer.pk}", event="lead",
            customer_id=customer.pk, unit="money", currency="EUR", amount=fields.pop("amount", Decimal("5.00")),
            earned_at=NOW, approve_after=fields.pop("approve_after", NOW + timedelta(days=30)), **fields)


def sale_entry(org, ambassador, sale, rule, **fields):
    with tenant_scope(org):
        return EarningEntry.objects.create(
            organization=org, rule=rule, ambassador=ambassador, cause=fields.pop("cause", f"sale:{sale.pk}"),
            event="sale", sale_id=sale.pk, customer_id=sale.customer_id, unit="money", currency="EUR",
            amount=fields.pop("amount", Decimal("10.00")), earned_at=fields.pop("earned_at", NOW),
            approve_after=NOW + timedelta(days=30), **fields)


def click_entry(org, ambassador, click, rule):
    with tenant_scope(org):
        return EarningEntry.objects.create(
            organization=org, rule=rule, ambassador=ambassador, cause=f"click:{click.click_id}", event="click",
            click_id=click.click_id, campaign_id=click.campaign_id, unit="points", currency="",
            amount=Decimal("1"), earned_at=click.clicked_at, approve_after=click.clicked_at)


def screened(org, *entries):
    screen_entries(org.pk, list(entries), now=NOW)
    with tenant_scope(org):
        return [EarningEntry.objects.get(pk=entry.pk) for entry in entries]


def signals_of(org, ambassador):
    with tenant_scope(org):
        return sorted(FraudSignal.objects.filter(case__ambassador=ambassador).values_list("reason", flat=True))


# --- each rule ----------------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("address", ["Ada@Lovelace-Consulting.test", "ada.lovelace@gmail.com"])
def test_the_customers_email_equal_to_the_ambassadors_holds_the_entry(org, address):
    """At a company domain or a free mail provider alike."""
    ada = ambassador_at(org, address)
    customer, _ = record_lead(org, email=f"  {address.lower()} ", customer_external_id="c1")
    [entry] = screened(org, lead_entry(org, ada, customer))
    assert entry.status == EntryStatus.HELD
    with tenant_scope(org):
        case = FraudCase.objects.get(ambassador=ada)
        assert entry.fraud_case_id == case.pk and case.status == CaseStatus.OPEN and case.last_signal_at == NOW
        signal = case.signals.get()
    # The same address is one reason, not also "the same domain".
    assert (signal.reason, signal.subject) == (FraudReason.SAME_EMAIL, f"customer:{customer.public_id}")
    assert "c1" in signal.detail


@pytest.mark.django_db
def test_a_customer_at_the_ambassadors_company_domain_is_held_but_not_at_a_free_mail_provider(org):
    ada = ambassador_at(org, "ada@lovelace-consulting.test")
    colleague, _ = record_lead(org, email="bob@Lovelace-Consulting.test", customer_external_id="c1")
    [entry] = screened(org, lead_entry(org, ada, colleague))
    assert entry.status == EntryStatus.HELD
    assert signals_of(org, ada) == [FraudReason.SAME_DOMAIN]

    for ambassador_email, customer_email in (("eve@gmail.com", "mallory@gmail.com"),
                                             ("eve@yahoo.co.uk", "mallory@yahoo.co.uk"),
                                             ("eve@hotmail.fr", "mallory@hotmail.fr")):
        eve = ambassador_at(org, ambassador_email)
        stranger, _ = record_lead(org, email=customer_email, customer_external_id=customer_email)
        [entry] = screened(org, lead_entry(org, eve, stranger))
        assert entry.status == EntryStatus.PENDING, customer_email


@pytest.mark.django_db
def test_a_disposable_email_domain_holds_the_entry(org):
    ada = ambassador_at(org, "ada@lovelace-consulting.test")
    throwaway, _ = record_lead(org, email="someone@mailinator.com", customer_external_id="c1")
    subdomain, _ = record_lead(org, email="someone@x.mailinator.com", customer_external_id="c2")
    real, _ = record_lead(org, email="someone@bigcorp.test", customer_external_id="c3")
    held, held_too, kept = screened(org, lead_entry(org, ada, throwaway), lead_entry(org, ada, subdomain),
                                    lead_entry(org, ada, real))
    assert (held.status, held_too.status, kept.status) == (EntryStatus.HELD, EntryStatus.HELD, EntryStatus.PENDING)
    assert signals_of(org, ada) == [FraudReason.DISPOSABLE, FraudReason.DISPOSABLE]


@pytest.mark.django_db
@pytest.mark.parametrize(("sales", "refunded", "held"), [(4, 2, True), (8, 3, True), (7, 2, False), (2, 2, False)])
def test_a_refund_rate_above_a_quarter_over_90_days_with_4_sales_holds_new_entries(org, sales, refunded, held):
    """With the new sale: 2 of 5 sales refunded (40 %) and 3 of 9 (33 %) hold; 2 of 8 is exactly 25 %,
    not above; 3 sales are too few whatever their refunds."""
    ada = ambassador_at(org, "ada@lovelace-consulting.test")
    rule = RewardRuleFactory(organization=org)
    for number in range(sales):
        sale = SaleFactory(organization=org, occurred_at=NOW - timedelta(days=number),
                           status=SaleStatus.REFUNDED if number < refunded else SaleStatus.PAID)
        sale_entry(org, ada, sale, rule, earned_at=sale.occurred_at,
                   status=EntryStatus.REFUNDED if number < refunded else EntryStatus.PENDING)
    # Refunds older than 90 days don't count.
    for _ in range(4):
        old = SaleFactory(organization=org, occurred_at=NOW - timedelta(days=91), status=SaleStatus.REFUNDED)
        sale_entry(org, ada, old, rule, earned_at=old.occurred_at, status=EntryStatus.REFUNDED)
    new_sale = SaleFactory(organization=org, occurred_at=NOW)
    [entry] = screened(org, sale_entry(org, ada, new_sale, rule))
    assert (entry.status == EntryStatus.HELD) is held
    if held:
        with tenant_scope(org):
            signal = FraudSignal.objects.get(case__ambassador=ada)
        assert signal.reason == FraudReason.REFUND_RATE
        assert signal.detail.startswith(f"{refunded} of {sales + 1} sales over 90 days refunded")


@pytest.mark.django_db
def test_clicks_on_one_link_faster_than_the_set_velocity_hold_that_links_click_entries(org):
    RewardSettingsFactory(organization=org, max_clicks_per_minute=3)
    ada = ambassador_at(org, "ada@lovelace-consulting.test")
    rule = RewardRuleFactory(organization=org, event="click", unit="points", amount_kind="flat", percent=None,
                             amount=Decimal("1"))
    fast, slow = LinkFactory(organization=org, ambassador=ada), LinkFactory(organization=org, ambassador=ada)
    start = NOW - timedelta(hours=1)
    # Four clicks within 45 seconds on one link; bots don't count, so three human clicks a minute on the other.
    fast_clicks = [ClickFactory(link=fast, clicked_at=start + timedelta(seconds=15 * i)) for i in range(4)]
    slow_clicks = [ClickFactory(link=slow, clicked_at=start + timedelta(seconds=15 * i)) for i in range(3)]
    ClickFactory(link=slow, clicked_at=start + timedelta(seconds=50), is_bot=True, is_unique=False)
    entries = screened(org, *(click_entry(org, ada, click, rule) for click in fast_clicks + slow_clicks))
    assert [entry.status for entry in entries] == [EntryStatus.HELD] * 4 + [EntryStatus.PENDING] * 3
    with tenant_scope(org):
        signal = FraudSignal.objects.get(case__ambassador=ada)
    assert signal.reason == FraudReason.VELOCITY and signal.subject.startswith(f"link:{fast.code}:")
    assert signal.detail.startswith(f"4 clicks on link {fast.code} within a minute")


@pytest.mark.django_db
def test_shared_payout_details_hold_both_ambassadors_entries_now_and_later(org):
    ada = ambassador_at(org, "ada@lovelace-consulting.test")
    bob = ambassador_at(org, "bob@babbage-engines.test")
    carol = ambassador_at(org, "carol@elsewhere.test")
    customer, _ = record_lead(org, email="buyer@bigcorp.test", customer_external_id="c1")
    ada_entry, bob_entry, carol_entry = (lead_entry(org, someone, customer) for someone in (ada, bob, carol))
    for someone in (ada, bob):
        PayoutDetailsFactory(ambassador=someone, fingerprint="f" * 64)
    PayoutDetailsFactory(ambassador=carol, fingerprint="c" * 64)

    cases = flag_shared_details(org.pk, [ada.pk, bob.pk, carol.pk], now=NOW)
    assert sorted(case.ambassador_id for case in cases) == [ada.pk, bob.pk]
    with tenant_scope(org):
        statuses = [EarningEntry.objects.get(pk=e.pk).status for e in (ada_entry, bob_entry, carol_entry)]
        detail = FraudSignal.objects.get(case__ambassador=ada).detail
    assert statuses == [EntryStatus.HELD, EntryStatus.HELD, EntryStatus.PENDING]
    assert detail == f"The same payout details as {bob.display_name}."

    # A new entry of Ada's is held by screening, in the same case, with no second signal.
    later, _ = record_lead(org, email="other@bigcorp.test", customer_external_id="c2")
    [entry] = screened(org, lead_entry(org, ada, later))
    assert entry.status == EntryStatus.HELD and entry.fraud_case_id == cases[0].pk
    assert signals_of(org, ada) == [FraudReason.SHARED_DETAILS]
    flag_shared_details(org.pk, [ada.pk], now=NOW + timedelta(days=1))  # R2 calling again: nothing new
    assert signals_of(org, ada) == [FraudReason.SHARED_DETAILS]


@pytest.mark.django_db
def test_an_innocent_entry_stays_pending_and_opens_no_case(org):
    ada = ambassador_at(org, "ada@lovelace-consulting.test")
    customer, _ = record_lead(org, email="buyer@bigcorp.test", customer_external_id="c1")
    nameless, _ = record_lead(org, customer_external_id="c2")  # no e-mail at all: nothing to compare
    entries = screened(org, lead_entry(org, ada, customer), lead_entry(org, ada, nameless))
    assert [entry.status for entry in entries] == [EntryStatus.PENDING] * 2
    with tenant_scope(org):
        assert not FraudCase.objects.exists()


# --- cases ----------------------------------------------------------------------------------------------

def held_lead_entry(org, ada, email="ada@lovelace-consulting.test", **fields):
    customer, _ = record_lead(org, email=email, customer_external_id=f"c-{email}")
    [entry] = screened(org, lead_entry(org, ada, customer, **fields))
    assert entry.status == EntryStatus.HELD
    return entry


@pytest.mark.django_db
def test_a_released_case_approves_its_due_entries_and_returns_the_others_to_pending(org):
    admin = UserFactory(email="admin@acme.test")
    ada = ambassador_at(org, "ada@lovelace-consulting.test")
    due = held_lead_entry(org, ada, approve_after=NOW - timedelta(days=1))
    waiting = held_lead_entry(org, ada, email="x@lovelace-consulting.test", approve_after=NOW + timedelta(days=3))
    with tenant_scope(org):
        case = FraudCase.objects.get(ambassador=ada)
    assert sorted(signals_of(org, ada)) == [FraudReason.SAME_DOMAIN, FraudReason.SAME_EMAIL]

    release(case, admin, "Her own purchase, agreed.", now=NOW)
    with tenant_scope(org):
        case.refresh_from_db()
        due.refresh_from_db()
        waiting.refresh_from_db()
        audit = AuditEntry.objects.get(action="fraud_case.release")
    assert (case.status, case.closed_by, case.close_note) == (CaseStatus.RELEASED, admin, "Her own purchase, agreed.")
    assert (due.status, waiting.status) == (EntryStatus.APPROVED, EntryStatus.PENDING)
    assert due.fraud_case_id == case.pk  # the case still lists what it held
    assert (audit.actor_label, audit.before, audit.after["status"], audit.after["entries"]) == \
        ("admin@acme.test", {"status": "open"}, "released", 2)

    ledger.approve_due(org.pk, NOW + timedelta(days=4))
    with tenant_scope(org):
        waiting.refresh_from_db()
    assert waiting.status == EntryStatus.APPROVED

    # Released reasons are not raised again for the same customer; closing twice is refused.
    [again] = screened(org, lead_entry(org, ada, _customer(org, due)))
    assert again.status == EntryStatus.PENDING
    with pytest.raises(Exception, match="already closed"):
        release(case, admin, "twice")


@pytest.mark.django_db
def test_confirmed_fraud_cancels_the_held_entries_with_the_note_as_reason(org):
    admin = UserFactory(email="admin@acme.test")
    ada = ambassador_at(org, "ada@lovelace-consulting.test")
    entry = held_lead_entry(org, ada)
    with tenant_scope(org):
        case = FraudCase.objects.get(ambassador=ada)
    with pytest.raises(Exception, match="Say why"):
        confirm(case, admin, "  ")
    confirm(case, admin, "Bought through her own link.", now=NOW)
    with tenant_scope(org):
        entry.refresh_from_db()
        case.refresh_from_db()
        cancels = list(AuditEntry.objects.filter(action="entry.cancel").values_list("object_id", flat=True))
    assert case.status == CaseStatus.CONFIRMED
    assert (entry.status, entry.note) == (EntryStatus.CANCELED, "Fraud confirmed: Bought through her own link.")
    assert cancels == [str(entry.public_id)]

    # The same customer again: confirmed fraud keeps being held, in a new case.
    [again] = screened(org, lead_entry(org, ada, _customer(org, entry)))
    assert again.status == EntryStatus.HELD and again.fraud_case_id != case.pk


def _customer(org, entry):
    with tenant_scope(org):
        return Customer.objects.get(pk=entry.customer_id)


@pytest.mark.django_db
def test_a_case_with_no_new_signal_for_30_days_releases_itself(org):
    ada = ambassador_at(org, "ada@lovelace-consulting.test")
    entry = held_lead_entry(org, ada, approve_after=NOW + timedelta(days=20))
    with tenant_scope(org):
        case = FraudCase.objects.get(ambassador=ada)

    assert auto_release_stale(org.pk, NOW + timedelta(days=29)) == 0
    # A new signal on day 10 (a disposable address) starts the 30 days again.
    later = NOW + timedelta(days=10)
    customer, _ = record_lead(org, email="x@mailinator.com", customer_external_id="c-late")
    late_entry = lead_entry(org, ada, customer, approve_after=later + timedelta(days=31))
    screen_entries(org.pk, [late_entry], now=later)
    assert auto_release_stale(org.pk, NOW + timedelta(days=30)) == 0
    assert auto_release_stale(org.pk, later + timedelta(days=30)) == 1
    with tenant_scope(org):
        case.refresh_from_db()
        entry.refresh_from_db()
        late_entry.refresh_from_db()
        audit = AuditEntry.objects.get(action="fraud_case.release")
    assert case.status == CaseStatus.RELEASED and case.closed_by is None
    assert (entry.status, late_entry.status) == (EntryStatus.APPROVED, EntryStatus.PENDING)
    assert audit.actor_label == "system" and "no new signal for 30 days" in audit.after["note"]


@pytest.mark.django_db
def test_re_detection_adds_no_signal_but_a_new_entry_is_held_in_the_open_case(org):
    ada = ambassador_at(org, "ada@lovelace-consulting.test")
    customer, _ = record_lead(org, email="ada@lovelace-consulting.test", customer_external_id="c1")
    first = lead_entry(org, ada, customer)
    screened(org, first)
    screened(org, first)  # the engine reprocessing: the entry is held already
    rule = RewardRuleFactory(organization=org)
    sale = SaleFactory(customer=customer)
    [second] = screened(org, sale_entry(org, ada, sale, rule))
    with tenant_scope(org):
        assert FraudCase.objects.filter(ambassador=ada).count() == 1
        assert FraudSignal.objects.count() == 1
        assert second.fraud_case_id == FraudCase.objects.get().pk
        assert AuditEntry.objects.filter(action="fraud_case.open").count() == 1


@pytest.mark.django_db
def test_a_correction_of_a_held_entry_is_held_with_it_and_a_lone_clawback_is_not(org):
    ada = ambassador_at(org, "ada@lovelace-consulting.test")
    base = held_lead_entry(org, ada)
    with tenant_scope(org):
        delta = EarningEntry.objects.create(
            organization=org, rule=base.rule, ambassador=ada, cause=f"{base.cause}:v2", event="lead",
            customer_id=base.customer_id, unit="money", currency="EUR", amount=Decimal("-2.00"), earned_at=NOW,
            approve_after=NOW, adjusts=base)
    bob = ambassador_at(org, "bob@babbage-engines.test")
    customer, _ = record_lead(org, email="x@mailinator.com", customer_external_id="c-x")
    clawback = lead_entry(org, bob, customer, amount=Decimal("-5.00"))
    delta, clawback = screened(org, delta, clawback)
    assert (delta.status, delta.fraud_case_id) == (EntryStatus.HELD, base.fraud_case_id)
    assert clawback.status == EntryStatus.PENDING


def test_generic_and_disposable_domains():
    assert fraud_rules.is_generic_domain("gmail.com") and fraud_rules.is_generic_domain("yahoo.com.br")
    assert not fraud_rules.is_generic_domain("mail.acme.com") and not fraud_rules.is_generic_domain("acme.com")
    assert fraud_rules.is_disposable_domain("mailinator.com") and fraud_rules.is_disposable_domain("a.mailinator.com")
    assert not fraud_rules.is_disposable_domain("acme.com")
    assert fraud_rules.company_domain("acme.com") == "acme.com" and fraud_rules.company_domain("gmail.com") is None


def test_first_burst_counts_a_minute_exactly():
    start = NOW
    at = [start + timedelta(seconds=s) for s in (0, 20, 40, 60, 61)]
    assert fraud_rules.first_burst(at, 3) == (start + timedelta(seconds=20), 4)  # 20, 40, 60, 61
    assert fraud_rules.first_burst(at[:4], 3) is None  # 0 and 60 are a minute apart: not within one
    assert fraud_rules.refund_rate_too_high(4, 2) and not fraud_rules.refund_rate_too_high(4, 1)


@pytest.mark.django_db
def test_an_admin_holds_entries_for_review_with_a_reason_all_or_nothing(org):
    admin = UserFactory(email="admin@acme.test")
    ada = ambassador_at(org, "ada@lovelace-consulting.test")
    customer, _ = record_lead(org, email="buyer@bigcorp.test", customer_external_id="c1")
    pending, approved, paid_one = (lead_entry(org, ada, customer) for _ in range(3))
    with tenant_scope(org):
        EarningEntry.objects.filter(pk=approved.pk).update(status=EntryStatus.APPROVED)
        EarningEntry.objects.filter(pk=paid_one.pk).update(status=EntryStatus.CANCELED)
        entries = list(EarningEntry.objects.filter(pk__in=[pending.pk, approved.pk, paid_one.pk]).order_by("pk"))
    with pytest.raises(Exception, match="Nothing was changed"):
        hold_for_review(entries, admin, "odd")
    with tenant_scope(org):
        assert not EarningEntry.objects.filter(status=EntryStatus.HELD).exists()
        assert not FraudCase.objects.exists()

    assert hold_for_review(entries[:2], admin, "  Same IP as the customer.  ", now=NOW) == 2
    with tenant_scope(org):
        case = FraudCase.objects.get(ambassador=ada)
        signal = case.signals.get()
        assert set(EarningEntry.objects.filter(fraud_case=case).values_list("status", flat=True)) == {"held"}
        hold_audit = AuditEntry.objects.get(action="entries.hold")
    assert (signal.reason, signal.detail) == (FraudReason.MANUAL, "Same IP as the customer.")
    assert hold_audit.actor_label == "admin@acme.test"


@pytest.mark.django_db
def test_leads_keep_the_emails_domain_and_never_the_address(org):
    customer, _ = record_lead(org, email=" Jo.Doe@BigCorp.TEST. ", customer_external_id="c1")
    with tenant_scope(org):
        stored = Customer.objects.filter(pk=customer.pk).values().get()
        # A customer stored before domains were kept gets it from its next lead with the same address.
        Customer.objects.filter(pk=customer.pk).update(email_domain=None)
    assert stored["email_domain"] == "bigcorp.test"  # lower-cased, without the trailing dot
    assert "jo.doe" not in str(stored).lower()
    record_lead(org, email="jo.doe@bigcorp.test.", customer_external_id="c1")
    record_lead(org, email="other@elsewhere.test", customer_external_id="c1")  # another address: not its domain
    with tenant_scope(org):
        assert Customer.objects.get(pk=customer.pk).email_domain == "bigcorp.test"
