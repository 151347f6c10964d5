"""compute_earnings: rules applied to what attribution and click processing wrote, the ledger
corrected with new entries only. Programmes are built the way production builds them
(tests/support/scenario.py); every test ends with the ledger equal to an independent recount."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ambassadors.models import AmbassadorGroup
from rewards.models import EarningEntry, EntryStatus, GroupHolding, PayoutItem, RewardRule, RewardSettings
from rewards.services import ledger
from rewards.services.earnings import compute_earnings
from tenancy.scoping import tenant_scope
from tests.factories import PayoutRunFactory
from tests.support.rewards import flat_rule, ledger_differences, refunded_sales_with_money, reward_rule
from tests.support.scenario import Scenario
from tracking.models import Click, Sale
from tracking.services.attribution_settings import change_settings, recompute_step
from tracking.services.conversions import record_sale

pytestmark = pytest.mark.django_db

T = timezone.now().replace(microsecond=0) - timedelta(days=2)


def rows(org, **filters):
    with tenant_scope(org):
        return list(EarningEntry.objects.filter(organization=org, **filters).order_by("rule_id", "ambassador_id", "pk")
                    .values_list("ambassador__display_name", "cause", "amount", "status"))


def sale_pk(org, invoice):
    with tenant_scope(org):
        return Sale.objects.get(invoice_id=invoice).pk


def customer_pk(org, external_id):
    from tracking.models import Customer

    with tenant_scope(org):
        return Customer.objects.get(external_id=external_id).pk


@pytest.fixture
def programme(org):
    """Ada, Bea and Cy, a link each in Spring, Bea one in Autumn too; nothing clicked yet."""
    s = Scenario(org)
    s.spring, s.autumn = s.campaign("Spring"), s.campaign("Autumn")
    s.ada, s.bea, s.cy = (s.ambassador(name) for name in ("Ada", "Bea", "Cy"))
    s.links = {person.display_name: s.link(s.spring, person) for person in (s.ada, s.bea, s.cy)}
    s.bea_autumn = s.link(s.autumn, s.bea)
    return s


def three_way_sale(s, external_id="cus_1", amount="1000.00", at=T, invoice=None, first_click_days=3):
    """A visitor clicks Ada's, Bea's and Cy's links (Ada's `first_click_days` days before), leads
    and buys."""
    visitor = s.visitor()
    visitor.clicks(s.links["Ada"], at - timedelta(days=first_click_days))
    visitor.clicks(s.links["Bea"], at - timedelta(hours=2))
    visitor.clicks(s.links["Cy"], at - timedelta(hours=1))
    s.process()
    visitor.lead(external_id, at=at).buys(amount, at=at, invoice_id=invoice or f"inv-{external_id}")
    s.attribute()
    return visitor


def test_lead_rules_split_by_the_model_or_go_to_the_first_or_last_touch(org, programme):
    s = programme
    three_way_sale(s)
    flat_rule(org, "lead", "10.00", name="Lead bonus")
    flat_rule(org, "lead", "7.00", name="First touch", split="first_touch")
    flat_rule(org, "lead", "5", name="Last touch points", unit="points", split="last_touch")
    compute_earnings(org.pk, now=T)
    lead = f"lead:{customer_pk(org, 'cus_1')}"
    assert rows(org, event="lead") == [
        ("Ada", lead, Decimal("3.34"), "pending"), ("Bea", lead, Decimal("3.33"), "pending"),
        ("Cy", lead, Decimal("3.33"), "pending"), ("Ada", lead, Decimal("7.00"), "pending"),
        ("Cy", lead, Decimal("5.00"), "approved")]  # points: no holding, approved at once
    with tenant_scope(org):
        points = EarningEntry.objects.get(unit="points")
    assert (points.currency, points.approve_after) == ("", T)  # points: no holding by default
    assert ledger_differences(org) == {}


def test_unique_clicks_earn_and_bots_self_clicks_and_repeats_never_do(org, programme):
    s = programme
    flat_rule(org, "click", "2", unit="points")
    visitor = s.visitor()
    visitor.clicks(s.links["Ada"], T, T + timedelta(hours=1))  # the second is not unique (24 h)
    visitor.clicks(s.links["Bea"], T + timedelta(hours=2))
    s.visitor().clicks(s.links["Ada"], T, user_agent="LinkedInBot/1.0 (compatible; Mozilla/5.0)")
    s.process()
    with tenant_scope(org):
        Click.objects.filter(link=s.links["Bea"]).update(is_self=True, is_unique=False)  # as processing marks them
    compute_earnings(org.pk, now=T)
    assert [(name, amount) for name, _, amount, _ in rows(org)] == [("Ada", Decimal("2.00"))]
    # Clicks already read are not read again; new ones are.
    s.visitor().clicks(s.links["Cy"], T + timedelta(hours=3))
    s.process()
    compute_earnings(org.pk, now=T)
    assert [(name, amount) for name, _, amount, _ in rows(org)] == [("Ada", Decimal("2.00")), ("Cy", Decimal("2.00"))]
    assert ledger_differences(org) == {}


def test_campaign_group_and_kind_rules_pay_only_their_share(org, programme):
    s = programme
    visitor = s.visitor()
    visitor.clicks(s.links["Ada"], T - timedelta(hours=3))
    visitor.clicks(s.bea_autumn, T - timedelta(hours=2))
    s.process()
    visitor.lead("cus_1", at=T).buys("300.00", at=T)
    s.attribute()
    with tenant_scope(org):
        vip = AmbassadorGroup.objects.create(organization=org, name="VIP")
        s.bea.groups.add(vip)
        s.ada.kind = "external"
        s.ada.save()
    autumn = reward_rule(org, name="Autumn 10 %", campaign=s.autumn)
    reward_rule(org, name="VIP 20 %", percent=Decimal("20.00"), group=vip)
    reward_rule(org, name="External 1 %", percent=Decimal("1.00"), ambassador_kind="external")
    compute_earnings(org.pk, now=T)
    sale = f"sale:{sale_pk(org, 'inv-cus_1')}"
    # Autumn: Bea's half of 30.00; VIP: Bea's half of 60.00; external: Ada's half of 3.00. Nobody gets the rest.
    assert rows(org) == [("Bea", sale, Decimal("15.00"), "pending"), ("Bea", sale, Decimal("30.00"), "pending"),
                         ("Ada", sale, Decimal("1.50"), "pending")]
    with tenant_scope(org):
        assert EarningEntry.objects.get(rule=autumn).campaign_id == s.autumn.pk  # for the campaign's ROI
    assert ledger_differences(org) == {}


def test_recurrence_first_sale_months_and_lifetime(org, programme):
    s = programme
    buyer = s.visitor().clicks(s.links["Ada"], T - timedelta(days=200, hours=1))
    s.process()
    buyer.lead("cus_1", at=T - timedelta(days=200))
    for days, invoice in ((200, "a"), (150, "b"), (10, "c")):
        buyer.buys("100.00", at=T - timedelta(days=days), invoice_id=invoice)
    s.attribute()
    first = reward_rule(org, name="First", recurrence="first_sale")
    months = reward_rule(org, name="Two months", percent=Decimal("20.00"), recurrence="months", recurrence_months=2)
    lifetime = reward_rule(org, name="Lifetime", percent=Decimal("1.00"))
    compute_earnings(org.pk, now=T)

    def causes(rule):
        with tenant_scope(org):
            return sorted(EarningEntry.objects.filter(rule=rule).values_list("cause", flat=True))

    assert causes(first) == [f"sale:{sale_pk(org, 'a')}"]
    assert causes(months) == sorted([f"sale:{sale_pk(org, 'a')}", f"sale:{sale_pk(org, 'b')}"])
    assert len(causes(lifetime)) == 3
    assert ledger_differences(org) == {}


def test_caps_per_day_in_order_across_runs_and_a_refund_frees_room(org, programme):
    s = programme
    reward_rule(org, name="Capped", cap_amount=Decimal("25.00"), cap_period="day")
    for n, hour in enumerate((9, 10, 11)):
        buyer = s.visitor().clicks(s.links["Ada"], T.replace(hour=hour) - timedelta(minutes=30))
        s.process()
        buyer.lead(f"cus_{n}", at=T.replace(hour=hour)).buys("100.00", at=T.replace(hour=hour), invoice_id=f"i{n}")
        s.attribute()
        compute_earnings(org.pk, now=T)  # one run per sale, as they come
    assert [amount for _, _, amount, _ in rows(org)] == [Decimal("10.00"), Decimal("10.00"), Decimal("5.00")]
    # The first sale is refunded: its room goes to the third sale (a delta entry), in earned order.
    with tenant_scope(org):
        record_sale(org, customer_external_id="cus_0", amount=Decimal("100.00"), currency=org.currency,
                    invoice_id="i0", status="refunded")
    s.attribute()
    compute_earnings(org.pk, now=T)
    third = f"sale:{sale_pk(org, 'i2')}"
    assert rows(org) == [("Ada", f"sale:{sale_pk(org, 'i0')}", Decimal("10.00"), "refunded"),
                         ("Ada", f"sale:{sale_pk(org, 'i1')}", Decimal("10.00"), "pending"),
                         ("Ada", third, Decimal("5.00"), "pending"),
                         ("Ada", f"{third}:v1", Decimal("5.00"), "pending")]
    assert ledger_differences(org) == {}
    assert refunded_sales_with_money(org) == {}


def test_a_refund_before_payout_marks_the_entries_refunded(org, programme):
    s = programme
    three_way_sale(s)
    reward_rule(org)
    compute_earnings(org.pk, now=T)
    with tenant_scope(org):
        record_sale(org, customer_external_id="cus_1", amount=Decimal("1000.00"), currency=org.currency,
                    invoice_id="inv-cus_1", status="refunded")
    s.attribute()
    result = compute_earnings(org.pk, now=T + timedelta(days=1))
    assert result.refunded == 3
    assert {(amount, status) for _, _, amount, status in rows(org)} == {
        (Decimal("33.34"), "refunded"), (Decimal("33.33"), "refunded")}
    assert len(rows(org)) == 3  # no negative entries: nothing was paid
    assert refunded_sales_with_money(org) == {}


def recompute(org, **change):
    change_settings(org.pk, **change)
    with tenant_scope(org):
        from tracking.models import AttributionSettings

        version = AttributionSettings.objects.get(organization=org).pending_version
    if version is not None:
        while not recompute_step(org.pk, version).finished:
            pass


def pay(org, *names):
    """Mark the ambassadors' entries paid (a payout run's last step, as payouts.mark_paid leaves them)."""
    with tenant_scope(org):
        run = PayoutRunFactory(organization=org, status="paid")
        for entry in EarningEntry.objects.filter(ambassador__display_name__in=names):
            item = PayoutItem.objects.create(organization=org, run=run, ambassador_id=entry.ambassador_id,
                                             currency="EUR", amount=entry.amount, entry_count=1)
            EarningEntry.objects.filter(pk=entry.pk).update(status=EntryStatus.PAID, payout_item=item)


def test_a_recompute_corrects_unpaid_and_paid_entries_with_new_entries_only(org, programme):
    s = programme
    three_way_sale(s, first_click_days=10)  # Ada's click is 10 days before the lead
    reward_rule(org)
    compute_earnings(org.pk, now=T)
    pay(org, "Ada", "Bea")  # Cy's stays pending
    before = {pk: (amount, status) for pk, amount, status in _all(org)}

    recompute(org, window_days=7)  # Ada's click falls out of the window: Bea and Cy get 50.00 each
    result = compute_earnings(org.pk, now=T + timedelta(days=1))
    assert result.full_pass
    sale = f"sale:{sale_pk(org, 'inv-cus_1')}"
    assert rows(org) == [("Ada", sale, Decimal("33.34"), "paid"), ("Ada", f"{sale}:v2", Decimal("-33.34"), "approved"),
                         ("Bea", sale, Decimal("33.33"), "paid"), ("Bea", f"{sale}:v2", Decimal("16.67"), "pending"),
                         ("Cy", sale, Decimal("33.33"), "pending"), ("Cy", f"{sale}:v2", Decimal("16.67"), "pending")]
    assert {pk: (amount, status) for pk, amount, status in _all(org) if pk in before} == before  # never edited
    with tenant_scope(org):
        taken_back = EarningEntry.objects.get(cause=f"{sale}:v2", ambassador=s.ada)
    assert taken_back.approve_after == T + timedelta(days=1)  # taking back waits for nothing
    assert ledger_differences(org) == {}
    assert compute_earnings(org.pk, now=T + timedelta(days=1)).created == 0  # settled

    # The reporting model changes (no recompute of credits): first touch is Bea now.
    recompute(org, reporting_model="first_touch")
    compute_earnings(org.pk, now=T + timedelta(days=2))
    assert ledger_differences(org) == {}
    with tenant_scope(org):
        assert EarningEntry.objects.filter(cause__startswith=f"{sale}:adj").count() == 2  # :v2 was taken


def _all(org):
    with tenant_scope(org):
        return list(EarningEntry.objects.values_list("pk", "amount", "status"))


def test_an_admins_cancellation_is_final_and_a_paused_rule_is_frozen(org, programme, admin_user):
    s = programme
    three_way_sale(s, first_click_days=10)
    rule = reward_rule(org)
    compute_earnings(org.pk, now=T)
    with tenant_scope(org):
        ada_entry = EarningEntry.objects.get(ambassador=s.ada)
    ledger.cancel(ada_entry, admin_user, "Her own company")
    compute_earnings(org.pk, now=T)
    with tenant_scope(org):
        assert EarningEntry.objects.filter(ambassador=s.ada).count() == 1  # not written again
    with tenant_scope(org):
        RewardRule.objects.filter(pk=rule.pk).update(active=False)
    recompute(org, window_days=7)
    compute_earnings(org.pk, now=T + timedelta(days=1))
    assert len(rows(org)) == 3  # frozen: no corrections under a paused rule
    # ... but a refund still takes its entries back.
    with tenant_scope(org):
        record_sale(org, customer_external_id="cus_1", amount=Decimal("1000.00"), currency=org.currency,
                    invoice_id="inv-cus_1", status="refunded")
    s.attribute()
    compute_earnings(org.pk, now=T + timedelta(days=2))
    assert sorted(status for *_, status in rows(org)) == ["canceled", "refunded", "refunded"]


def test_rules_apply_from_their_creation_and_dates(org, programme):
    s = programme
    three_way_sale(s)
    with tenant_scope(org):
        RewardRule.objects.create(organization=org, name="Too new", event="sale", unit="money",
                                  amount_kind="percent", percent=Decimal("10"))
    reward_rule(org, name="Ended", ends_at=T - timedelta(days=1))
    reward_rule(org, name="Not yet", starts_at=T + timedelta(days=1))
    compute_earnings(org.pk, now=T)
    assert rows(org) == []


def test_holding_comes_from_the_longest_group_or_the_settings(org, programme):
    s = programme
    three_way_sale(s)
    with tenant_scope(org):
        RewardSettings.objects.create(organization=org, money_holding_days=14)
        slow, fast = (AmbassadorGroup.objects.create(organization=org, name=n) for n in ("Slow", "Fast"))
        GroupHolding.objects.create(organization=org, group=slow, money_holding_days=60, points_holding_days=0)
        GroupHolding.objects.create(organization=org, group=fast, money_holding_days=7, points_holding_days=0)
        s.ada.groups.add(slow, fast)
        s.bea.groups.add(fast)
    reward_rule(org)
    compute_earnings(org.pk, now=T)
    with tenant_scope(org):
        after = dict(EarningEntry.objects.values_list("ambassador__display_name", "approve_after"))
    assert after == {"Ada": T + timedelta(days=60), "Bea": T + timedelta(days=7), "Cy": T + timedelta(days=14)}


def test_no_rules_moves_the_cursor_past_what_exists(org, programme):
    s = programme
    three_way_sale(s)
    result = compute_earnings(org.pk, now=T)
    assert (result.created, result.clicks) == (0, 0)
    flat_rule(org, "click", "1", unit="points")  # later: the clicks already there were before it
    s.visitor().clicks(s.links["Cy"], T + timedelta(minutes=5))
    s.process()
    compute_earnings(org.pk, now=T)
    assert [(name, amount) for name, _, amount, _ in rows(org)] == [("Cy", Decimal("1.00"))]
