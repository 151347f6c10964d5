"""One reporting vocabulary (issue 12): one cost function — spend + rewards + the ambassadors'
time — for the dashboard, the digest and the ROI pages alike, and the value objects the report
selectors sum (exact, with `+` and `zero()`)."""

from datetime import date
from decimal import Decimal

import pytest

from reports.figures import Activity, ClickTotals, CreditTotals
from reports.filters import ReportFilter
from reports.periods import Period
from reports.roi import Cost, costs, roi_of
from reports.selectors import roi as roi_selectors
from reports.selectors.base import share_counts
from reports.selectors.summary import key_figures
from tenancy.scoping import tenant_scope
from tests.support.programmes import WEEK, build_programme


def test_costs_are_spend_rewards_and_time_per_campaign():
    result = costs(minutes={1: Decimal("6"), 2: Decimal("5")}, rates={10: Decimal("60.00"), 11: Decimal("30.00")},
                   shares={(1, 10): 10, (1, 11): 2, (2, 11): 1, (2, 99): 5, (3, 10): 4},
                   spend={1: Decimal("500.00"), 3: Decimal("7.00")},
                   rewards={(1, 10): Decimal("20.00"), (2, 99): Decimal("9.00")})
    # Campaign 1: spend 500 + rewards 20 + time 10 × 6 min × 60/h (60.00) + 2 × 6 min × 30/h (6.00).
    assert result.by_campaign[1] == Cost(spend=Decimal("500.00"), rewards=Decimal("20.00"), time=Decimal("66"))
    # Campaign 2: ambassador 99 is not reported on (another group, say): neither shares nor rewards count.
    assert result.by_campaign[2] == Cost(time=Decimal("2.5"))
    assert 3 not in result.by_campaign  # campaign 3 is not reported on
    assert result.by_ambassador[1, 10] == Cost(rewards=Decimal("20.00"), time=Decimal("60"))
    assert result.total == Cost(spend=Decimal("500.00"), rewards=Decimal("20.00"), time=Decimal("68.5"))
    figures = roi_of(result.total, CreditTotals(Decimal("4"), Decimal("1"), Decimal("1000.00")), 13)
    assert (figures.time_cost, figures.cost, figures.profit) == (Decimal("68.50"), Decimal("588.50"),
                                                                 Decimal("411.50"))


def test_time_is_summed_exactly_and_rounded_once():
    # 3 × 5 min at 10.01/h: 0.834166… each; rounded one by one 2.49, summed exactly then rounded 2.50.
    result = costs(minutes={1: Decimal("5")}, rates={10: Decimal("10.01"), 11: Decimal("10.01"), 12: Decimal("10.01")},
                   shares={(1, 10): 1, (1, 11): 1, (1, 12): 1}, spend={}, rewards={})
    assert roi_of(result.total, CreditTotals.zero(), 3).time_cost == Decimal("2.50")


def test_sums_add_exactly_from_zero():
    clicks = ClickTotals(clicks=3, unique_clicks=2, total=5, bot_clicks=1, self_clicks=1)
    assert clicks + ClickTotals.zero() == clicks
    assert sum([clicks, clicks], ClickTotals.zero()) == ClickTotals(6, 4, 10, 2, 2)
    third = CreditTotals(Decimal("0.3333"), Decimal("0.5000"), Decimal("0.10"))
    credits = sum([third, third, third], CreditTotals.zero())
    assert credits == CreditTotals(Decimal("0.9999"), Decimal("1.5000"), Decimal("0.30"))
    assert (str(credits.leads), str(credits.revenue)) == ("0.9999", "0.30")
    with pytest.raises(TypeError):
        clicks + CreditTotals.zero()  # noqa: B018 - different things don't add
    activity = Activity.of(2, clicks, credits)
    assert (activity.shares, activity.clicks, activity.unique, activity.revenue) == (2, 3, 2, Decimal("0.30"))
    assert activity + Activity.zero() == activity and activity.is_active and not Activity.zero().has_activity


def test_the_dashboard_and_the_roi_page_have_one_cost_rewards_included(ny_org, monkeypatch):
    """The dashboard (and the digest, which shows its figures) and the ROI page's programme row
    read the same cost: once rewards exist, both count them."""
    build_programme(ny_org)
    f = ReportFilter(ny_org.pk, Period(date.fromisoformat(WEEK[0]), date.fromisoformat(WEEK[1]), ny_org.tzinfo))
    with tenant_scope(ny_org):
        campaign_id, ambassador_id = next(iter(share_counts(f, ("campaign_id", "ambassador_id"))))
        monkeypatch.setattr(roi_selectors, "reward_sums",
                            lambda f: {(campaign_id, ambassador_id): Decimal("12.34")})
        dashboard = key_figures(f).current
        programme = roi_selectors.roi_list(f)[-1].figures
    assert (dashboard.spend, dashboard.rewards, dashboard.time_cost, dashboard.cost) == (
        Decimal("100.00"), Decimal("12.34"), Decimal("24.00"), Decimal("136.34"))
    assert (dashboard.spend, dashboard.rewards, dashboard.time_cost, dashboard.cost, dashboard.roi) == (
        programme.spend, programme.rewards, programme.time_cost, programme.cost, programme.roi)
