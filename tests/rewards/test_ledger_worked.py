"""The ledger worked by hand, in cents: a 1,000.00 sale, a 10 % rule split linearly over three
ambassadors → 33.34 / 33.33 / 33.33; held 30 days; approved; paid in a run; refunded after the
payout → −33.34 / −33.33 / −33.33, netted in the next run; the ROI's rewards follow each step.
Built the way production builds it: clicks → processing → lead → sale → attribution → earnings."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from reports.filters import ReportFilter
from reports.periods import Period
from reports.selectors.roi import reward_sums
from rewards.models import EarningEntry, PayoutItem
from rewards.services import ledger, payouts
from rewards.services.earnings import compute_earnings
from tenancy.scoping import tenant_scope
from tests.support.rewards import ledger_differences, refunded_sales_with_money, reward_rule
from tests.support.scenario import Scenario
from tracking.services.conversions import record_sale

pytestmark = pytest.mark.django_db


def entries(org):
    with tenant_scope(org):
        return list(EarningEntry.objects.filter(organization=org).order_by("ambassador_id", "pk")
                    .values_list("ambassador__display_name", "cause", "amount", "status"))


def statuses(org, cause):
    with tenant_scope(org):
        return sorted(EarningEntry.objects.filter(organization=org, cause=cause).values_list("status", flat=True))


def roi_rewards(org, day: date) -> Decimal:
    with tenant_scope(org):
        return sum(reward_sums(ReportFilter(org.pk, Period(day - timedelta(days=1), day + timedelta(days=1),
                                                           org.tzinfo))).values(), Decimal("0"))


def test_a_sale_split_three_ways_to_the_cent_through_payout_and_refund(org, owner):
    s = Scenario(org)
    t = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    spring = s.campaign("Spring")
    ada, bea, cy = (s.ambassador(name) for name in ("Ada", "Bea", "Cy"))  # ids in this order
    visitor = s.visitor()
    for hours, person in ((3, ada), (2, bea), (1, cy)):
        visitor.clicks(s.link(spring, person), t - timedelta(hours=hours))
    s.process()
    visitor.lead("cus_1", at=t).buys("1000.00", at=t, invoice_id="inv-1")
    s.attribute()
    reward_rule(org, name="10 % of sales", percent=Decimal("10.00"))

    compute_earnings(org.pk, now=t)
    sale = _sale(org, "inv-1")
    assert entries(org) == [("Ada", f"sale:{sale}", Decimal("33.34"), "pending"),
                            ("Bea", f"sale:{sale}", Decimal("33.33"), "pending"),
                            ("Cy", f"sale:{sale}", Decimal("33.33"), "pending")]
    assert roi_rewards(org, t.astimezone(org.tzinfo).date()) == Decimal("100.00")
    compute_earnings(org.pk, now=t)  # again: nothing new
    assert len(entries(org)) == 3

    # Held 30 days (the organisation's default for money), then approved.
    assert ledger.approve_due(org.pk, t + timedelta(days=30) - timedelta(seconds=1)) == 0
    assert ledger.approve_due(org.pk, t + timedelta(days=30)) == 3
    assert {status for *_, status in entries(org)} == {"approved"}

    # Paid in a run (internal ambassadors: payroll).
    run = payouts.create_run(org.pk, owner, now=t + timedelta(days=31))
    with tenant_scope(org):
        assert sorted(PayoutItem.objects.filter(run=run).values_list("ambassador__display_name", "amount")) == [
            ("Ada", Decimal("33.34")), ("Bea", Decimal("33.33")), ("Cy", Decimal("33.33"))]
    payouts.confirm(run, owner, now=t + timedelta(days=31))
    payouts.mark_paid(run, owner, now=t + timedelta(days=32))
    assert {status for *_, status in entries(org)} == {"paid"}
    assert roi_rewards(org, t.astimezone(org.tzinfo).date()) == Decimal("100.00")

    # Refunded after the payout: three negative entries, approved at once (taking back waits for nothing).
    with tenant_scope(org):
        record_sale(org, customer_external_id="cus_1", amount=Decimal("1000.00"), currency=org.currency,
                    invoice_id="inv-1", status="refunded", occurred_at=t + timedelta(days=40))
    s.attribute()
    refund_time = t + timedelta(days=40)
    compute_earnings(org.pk, now=refund_time)
    assert entries(org) == [("Ada", f"sale:{sale}", Decimal("33.34"), "paid"),
                            ("Ada", f"sale:{sale}:refund", Decimal("-33.34"), "approved"),
                            ("Bea", f"sale:{sale}", Decimal("33.33"), "paid"),
                            ("Bea", f"sale:{sale}:refund", Decimal("-33.33"), "approved"),
                            ("Cy", f"sale:{sale}", Decimal("33.33"), "paid"),
                            ("Cy", f"sale:{sale}:refund", Decimal("-33.33"), "approved")]
    assert roi_rewards(org, t.astimezone(org.tzinfo).date()) == Decimal("0.00")
    assert refunded_sales_with_money(org) == {}
    compute_earnings(org.pk, now=refund_time)  # again: nothing new
    assert len(entries(org)) == 6

    # The next run nets them: a new 1,500.00 sale earns 50.00 each; each gets 50.00 − their refund.
    later = refund_time.replace(microsecond=0)
    buyer = s.visitor()
    for minutes, person in ((3, ada), (2, bea), (1, cy)):
        buyer.clicks(_link(org, spring, person), later - timedelta(minutes=minutes))
    s.process()
    buyer.lead("cus_2", at=later).buys("1500.00", at=later, invoice_id="inv-2")
    s.attribute()
    compute_earnings(org.pk, now=later)
    assert ledger.approve_due(org.pk, later + timedelta(days=30)) == 3  # the 3 new (the refunds were approved at once)
    run = payouts.create_run(org.pk, owner, now=later + timedelta(days=30))
    with tenant_scope(org):
        assert sorted(PayoutItem.objects.filter(run=run).values_list("ambassador__display_name", "amount")) == [
            ("Ada", Decimal("16.66")), ("Bea", Decimal("16.67")), ("Cy", Decimal("16.67"))]
    assert ledger_differences(org) == {}


def _sale(org, invoice):
    from tracking.models import Sale

    with tenant_scope(org):
        return Sale.objects.get(organization=org, invoice_id=invoice).pk


def _link(org, campaign, ambassador):
    from campaigns.models import TrackedLink

    with tenant_scope(org):
        return TrackedLink.objects.get(organization=org, campaign=campaign, ambassador=ambassador)
