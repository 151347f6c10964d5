"""Reward points of the ledger: the spendable balance and lifetime points, as defined in
rewards.selectors.points (gains spendable once approved, corrections against the ambassador at
once, redemptions not declined subtracted; lifetime = pending + approved + paid, held left out)."""

import pytest

from rewards.models import RedemptionStatus
from rewards.selectors.money import money_summary, other_currency_totals
from rewards.selectors.points import lifetime_points, points_balance, points_summaries, points_summary
from tenancy.scoping import tenant_scope
from tests.factories import (
    AmbassadorFactory,
    CatalogueItemFactory,
    OrganizationFactory,
    PayoutItemFactory,
    RedemptionFactory,
)
from tests.support.points import earn


@pytest.fixture
def ada(org):
    return AmbassadorFactory(organization=org, display_name="Ada")


def test_balance_counts_approved_points_minus_redemptions_not_declined(org, ada):
    earn(ada, 300)  # approved
    earn(ada, 200)  # approved
    earn(ada, 50, status="pending")  # still in its holding period: not spendable yet
    earn(ada, 70, status="held")  # a fraud case holds it
    earn(ada, 40, status="canceled")
    earn(ada, 25, status="refunded")
    item = CatalogueItemFactory(organization=org, points_cost=120)
    for status in (RedemptionStatus.REQUESTED, RedemptionStatus.APPROVED, RedemptionStatus.FULFILLED,
                   RedemptionStatus.DECLINED):
        RedemptionFactory(organization=org, item=item, ambassador=ada, points=100, status=status)
    with tenant_scope(org):
        summary = points_summary(ada)
        assert points_balance(ada) == 500 - 300 == summary.balance  # the declined 100 came back
        assert lifetime_points(ada) == 300 + 200 + 50 == summary.lifetime  # held, canceled, refunded left out
        assert (summary.pending, summary.held, summary.redeemed) == (50, 70, 300)


def test_a_correction_against_the_ambassador_counts_at_once_and_can_take_the_balance_below_zero(org, ada):
    earn(ada, 500)
    item = CatalogueItemFactory(organization=org, points_cost=450)
    RedemptionFactory(organization=org, item=item, ambassador=ada, points=450, status=RedemptionStatus.FULFILLED)
    earn(ada, -100, status="pending")  # points taken back (an attribution recompute): not waiting to count
    with tenant_scope(org):
        assert points_balance(ada) == -50
        assert lifetime_points(ada) == 400  # spending doesn't lower lifetime points; the correction does


def test_money_is_not_points_and_points_are_not_money(org, ada):
    earn(ada, "12.50", unit="money")
    earn(ada, "-2.50", unit="money", status="approved")
    earn(ada, "7.00", unit="money", status="pending")
    earn(ada, "3.00", unit="money", status="held", currency="USD")
    earn(ada, 40)
    with tenant_scope(org):
        summary = money_summary(ada)
        assert summary.approved == {"EUR": pytest.approx(10)} and str(summary.approved["EUR"]) == "10.00"
        assert summary.pending == {"EUR": 7} and summary.held == {"USD": 3}
        assert summary.currencies == ["EUR", "USD"] and summary.paid == {}
        assert points_balance(ada) == 40
        assert other_currency_totals(org.pk, "EUR") == {"USD": 3}


def test_paid_money_and_many_ambassadors_at_once(org, ada):
    ben = AmbassadorFactory(organization=org, display_name="Ben")
    item = PayoutItemFactory(organization=org, ambassador=ada, amount="33.34")
    earn(ada, "33.34", unit="money", status="paid", payout_item=item)
    earn(ben, 10)
    earn(ben, 5, status="pending")
    with tenant_scope(org):
        assert str(money_summary(ada).paid["EUR"]) == "33.34"
        summaries = points_summaries(org.pk, [ada.pk, ben.pk])
    assert (summaries[ada.pk].balance, summaries[ben.pk].balance, summaries[ben.pk].lifetime) == (0, 10, 15)


def test_another_organisations_points_are_not_counted(org, ada):
    other = OrganizationFactory()
    stranger = AmbassadorFactory(organization=other)
    earn(stranger, 1000)
    earn(ada, 10)
    with tenant_scope(org):
        assert points_balance(ada) == 10
