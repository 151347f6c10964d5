"""Revenue against cost over time (reports.selectors.timeline): per week or month of the period, the
bucket's revenue and cost (the one cost function: spend + rewards + time), the running totals, the
cumulative ROI and the break-even week, with hand-worked numbers; and the chart on the ROI page.

March 2026 starts on a Sunday, so its weeks are: 1 Mar (one day), 2–8, 9–15, 16–22, 23–29, 30–31."""

from datetime import date
from decimal import Decimal

import pytest

from reports.charts import ambassador_trend_spec, funnel_spec, leaderboard_movement_spec, revenue_cost_spec
from reports.filters import ReportFilter
from reports.periods import Period
from reports.selectors.roi import roi_list
from reports.selectors.timeline import ambassador_trend, buckets, grain_for, timeline
from tenancy.scoping import tenant_scope
from tests.factories import EarningEntryFactory, RewardRuleFactory
from tests.support.scenario import Scenario

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}


def march(org, **fields) -> ReportFilter:
    return ReportFilter(org.pk, Period(date(2026, 3, 1), date(2026, 3, 31), org.tzinfo, "custom"), **fields)


@pytest.fixture
def pays_off(org):
    """Spend 500.00 on 5 Mar; 10 shares × 6 min × 60.00/h = 60.00 of time on 10 Mar; a 1,200.00 sale on
    20 Mar; a 40.00 reward earned on 25 Mar."""
    s = Scenario(org)
    campaign = s.campaign("Spring", minutes_per_share=Decimal("6"))
    ambassador = s.ambassador(hourly_rate=Decimal("60.00"))
    the_link = s.link(campaign, ambassador)
    s.cost(campaign, date(2026, 3, 5), "500.00")
    s.shares(the_link, s.at(2026, 3, 10, 12), times=10)
    buyer = s.visitor().clicks(the_link, s.at(2026, 3, 15, 10))
    s.process()
    buyer.lead("cus_1", at=s.at(2026, 3, 15, 11)).buys("1200.00", at=s.at(2026, 3, 20, 9))
    s.attribute()
    with tenant_scope(org):
        EarningEntryFactory(rule=RewardRuleFactory(organization=org), ambassador=ambassador, campaign=campaign,
                            amount=Decimal("40.00"), currency=org.currency, earned_at=s.at(2026, 3, 25, 12))
    return campaign


def rows(result):
    return [(p.start, p.end, p.revenue, p.cost, p.cumulative_revenue, p.cumulative_cost, p.cumulative_roi)
            for p in result.points]


def test_weeks_and_months_are_clipped_to_the_period():
    tz = __import__("zoneinfo").ZoneInfo("Europe/Berlin")
    weeks = buckets(Period(date(2026, 3, 1), date(2026, 3, 31), tz), "week")
    assert weeks == [(date(2026, 3, 1), date(2026, 3, 1)), (date(2026, 3, 2), date(2026, 3, 8)),
                     (date(2026, 3, 9), date(2026, 3, 15)), (date(2026, 3, 16), date(2026, 3, 22)),
                     (date(2026, 3, 23), date(2026, 3, 29)), (date(2026, 3, 30), date(2026, 3, 31))]
    long = Period(date(2025, 11, 15), date(2026, 3, 3), tz)
    assert grain_for(long) == "month" and grain_for(Period(date(2026, 1, 1), date(2026, 3, 31), tz)) == "week"
    assert buckets(long, "month") == [(date(2025, 11, 15), date(2025, 11, 30)), (date(2025, 12, 1), date(2025, 12, 31)),
                                      (date(2026, 1, 1), date(2026, 1, 31)), (date(2026, 2, 1), date(2026, 2, 28)),
                                      (date(2026, 3, 1), date(2026, 3, 3))]
    with pytest.raises(ValueError):
        buckets(long, "day")


@pytest.mark.django_db
def test_the_hand_worked_timeline_breaks_even_in_the_week_of_the_sale(org, pays_off):
    with tenant_scope(org):
        result = timeline(march(org))
    d, zero, minus_one = Decimal, Decimal("0.00"), Decimal("-1.0000")
    assert result.grain == "week"
    assert rows(result) == [
        (date(2026, 3, 1), date(2026, 3, 1), zero, zero, zero, zero, None),
        (date(2026, 3, 2), date(2026, 3, 8), zero, d("500.00"), zero, d("500.00"), minus_one),
        (date(2026, 3, 9), date(2026, 3, 15), zero, d("60.00"), zero, d("560.00"), minus_one),
        # (1200 − 560) / 560 = 1.142857…
        (date(2026, 3, 16), date(2026, 3, 22), d("1200.00"), zero, d("1200.00"), d("560.00"), d("1.1429")),
        # the reward: (1200 − 600) / 600
        (date(2026, 3, 23), date(2026, 3, 29), zero, d("40.00"), d("1200.00"), d("600.00"), d("1.0000")),
        (date(2026, 3, 30), date(2026, 3, 31), zero, zero, d("1200.00"), d("600.00"), d("1.0000")),
    ]
    assert result.break_even.start == date(2026, 3, 16)
    assert result.in_profit_at_end
    # The last running totals are the ROI page's programme total for the same filter, to the cent.
    with tenant_scope(org):
        total = roi_list(march(org))[-1].figures
    assert (result.total.revenue, result.total.cost, result.total.roi) == (total.revenue, total.cost, total.roi)
    assert (total.spend, total.rewards, total.time_cost) == (d("500.00"), d("40.00"), d("60.00"))


@pytest.mark.django_db
def test_no_break_even_when_revenue_never_reaches_cost(org):
    s = Scenario(org)
    campaign = s.campaign("Autumn", minutes_per_share=Decimal("0"))
    the_link = s.link(campaign)
    s.cost(campaign, date(2026, 3, 3), "500.00")
    buyer = s.visitor().clicks(the_link, s.at(2026, 3, 10, 10))
    s.process()
    buyer.lead("cus_2", at=s.at(2026, 3, 10, 11)).buys("300.00", at=s.at(2026, 3, 12, 9))
    s.attribute()
    with tenant_scope(org):
        result = timeline(march(org))
    assert result.break_even is None and not result.in_profit_at_end
    assert [p.cumulative_roi for p in result.points] == [None, Decimal("-1.0000"), Decimal("-0.4000"),
                                                         Decimal("-0.4000"), Decimal("-0.4000"), Decimal("-0.4000")]
    spec = revenue_cost_spec(result, "EUR")
    assert spec["marker"] is None
    assert spec["notes"][0].startswith("No break-even in this period: cumulative cost")
    # A filter on another campaign sees none of it.
    other = s.campaign("Other")
    with tenant_scope(org):
        empty = timeline(march(org, campaign_ids=(other.pk,)))
    assert all(p.cumulative_cost == 0 and p.cumulative_revenue == 0 for p in empty.points)
    assert empty.break_even is None


@pytest.mark.django_db
def test_the_chart_of_the_timeline_titles_its_axes_and_states_the_break_even(org, pays_off):
    with tenant_scope(org):
        spec = revenue_cost_spec(timeline(march(org)), "EUR")
    assert spec["x"]["title"] == "Week (first day)"
    assert spec["y"]["title"] == "Amount (EUR)" and spec["y2"]["title"] == "Cumulative ROI (%)"
    assert spec["labels"] == ["1 Mar", "2 Mar", "9 Mar", "16 Mar", "23 Mar", "30 Mar"]
    by_label = {s["label"]: s["values"] for s in spec["series"]}
    assert by_label["Cumulative cost"] == ["0.00", "500.00", "560.00", "560.00", "600.00", "600.00"]
    assert by_label["Cumulative revenue"] == ["0.00", "0.00", "0.00", "1200.00", "1200.00", "1200.00"]
    assert by_label["Cumulative ROI"] == [None, "-100.00", "-100.00", "114.29", "100.00", "100.00"]
    assert spec["marker"] == {"at": "16 Mar", "text": "Break-even"}
    assert spec["notes"][0] == ("Break-even in the week of 16 Mar 2026: cumulative revenue €1,200.00 reached "
                                "cumulative cost €560.00.")


@pytest.mark.django_db
def test_the_roi_page_shows_the_chart_with_its_table_and_break_even(org, pays_off, manager, login):
    html = login(manager).get(f"/o/{org.slug}/reports/roi/", MARCH).content.decode()
    assert 'id="roi-timeline"' in html and "<canvas" in html
    assert "Break-even in the week of 16 Mar 2026" in html
    assert '<th scope="row">16 Mar</th><td class="num">1,200.00</td>' in html


# --- the portal's trend, the funnel's and the leaderboard's charts ------------------------------------------------

@pytest.mark.django_db
def test_an_ambassadors_weeks_count_only_their_clicks_and_credits(org, pays_off):
    s = Scenario(org)
    with tenant_scope(org):
        mine = pays_off.links.get().ambassador
    other = s.ambassador()
    s.click_counts(pays_off, mine, date(2026, 3, 17), clicks=4, unique=3)
    s.click_counts(pays_off, mine, date(2026, 3, 22), clicks=2, unique=2)  # Sunday: same week
    s.click_counts(pays_off, other, date(2026, 3, 17), clicks=50, unique=50)  # someone else's
    with tenant_scope(org):
        weeks = ambassador_trend(org.pk, mine.pk, date(2026, 3, 25), weeks=4)
    assert [(w.start, w.end) for w in weeks] == [
        (date(2026, 3, 2), date(2026, 3, 8)), (date(2026, 3, 9), date(2026, 3, 15)),
        (date(2026, 3, 16), date(2026, 3, 22)), (date(2026, 3, 23), date(2026, 3, 25))]
    # 15 Mar: the buyer's click (1) counted by click processing; 17 + 22 Mar: 4 + 2.
    assert [w.clicks for w in weeks] == [0, 1, 6, 0]
    assert [w.revenue for w in weeks] == [Decimal("0.00"), Decimal("0.00"), Decimal("1200.00"), Decimal("0.00")]
    assert [w.leads for w in weeks] == [Decimal("0"), Decimal("1"), Decimal("0"), Decimal("0")]
    spec = ambassador_trend_spec(weeks, "EUR")
    assert spec["labels"] == ["2 Mar", "9 Mar", "16 Mar", "23 Mar"]
    assert (spec["y"]["title"], spec["y2"]["title"], spec["x"]["title"]) == (
        "Clicks and leads (count)", "Revenue credited (EUR)", "Week (Monday)")
    assert spec["series"][0]["values"] == [0, 1, 6, 0]


def test_the_funnel_chart_has_counts_and_rates_in_percent():
    from reports.selectors.funnel import FunnelFigures

    figures = FunnelFigures(shares=4, clicks=3, unique_clicks=2, leads=Decimal("1.0000"), customers=Decimal("0.5000"),
                            revenue=Decimal("100.00"))
    spec = funnel_spec(figures)
    assert spec["labels"] == ["Shares", "Clicks", "Unique visitors", "Leads", "Customers"]
    assert spec["series"][0]["values"] == [4, 3, 2, "1.0000", "0.5000"]
    # unique ÷ clicks = 66.67 %, leads ÷ unique = 50 %, customers ÷ leads = 50 %; clicks per share is a multiplier
    assert spec["series"][1]["values"] == [None, None, "66.67", "50.00", "50.00"]
    assert spec["y"]["title"] == "Number at the step (count)" and spec["y2"]["title"] == "Rate from the step before (%)"
    assert spec["notes"][0].startswith("Clicks per share: 0.8 per share.")


def test_the_movement_chart_puts_rank_one_on_top():
    from types import SimpleNamespace as Row

    rows = [Row(name="Ada", rank=1, previous_rank=3, movement=2), Row(name="Ben", rank=2, previous_rank=1, movement=-1),
            Row(name="Cy", rank=3, previous_rank=None, movement=None)]
    spec = leaderboard_movement_spec(rows, "Clicks")
    assert spec["kind"] == "line" and spec["y"]["reverse"] and spec["y"]["integer"]
    assert spec["y"]["title"] == "Rank (place, 1 = top)"
    assert spec["labels"] == ["Previous period", "This period"]
    assert [(s["label"], s["values"]) for s in spec["series"]] == [("Ada", [3, 1]), ("Ben", [1, 2]), ("Cy", [None, 3])]
    assert spec["notes"][1] == "Biggest climb: Ada, from 3 to 1."


@pytest.mark.django_db
@pytest.mark.parametrize("fields", [{"kind": "internal"}, {"kind": "external"}, {"model": "first_touch"},
                                    {"campaign": True}])
def test_the_running_totals_end_on_the_roi_pages_total_under_every_filter(org, pays_off, fields):
    if fields.pop("campaign", False):
        fields["campaign_ids"] = (pays_off.pk,)
    with tenant_scope(org):
        result = timeline(march(org, **fields), grain="month")
        total = roi_list(march(org, **fields))[-1].figures
    assert len(result.points) == 1
    assert (result.total.revenue, result.total.cost, result.total.roi, result.total.shares) == (
        total.revenue, total.cost, total.roi, total.shares)
