"""The pure parts of reports: periods in the organisation's time zone, and ROI arithmetic."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from reports.periods import PeriodError, period_for
from reports.roi import roi_figures, time_cost

BERLIN = ZoneInfo("Europe/Berlin")


def test_presets_end_today_and_include_it():
    today = date(2026, 3, 31)
    assert (period_for("7d", BERLIN, today=today).start, period_for("7d", BERLIN, today=today).end) == (
        date(2026, 3, 25), today)
    assert period_for("month", BERLIN, today=today).start == date(2026, 3, 1)
    assert period_for("quarter", BERLIN, today=date(2026, 5, 17)).start == date(2026, 4, 1)
    assert period_for(None, BERLIN, today=today).days == 30


def test_a_click_at_23_30_local_on_the_last_day_of_a_month_is_in_that_month():
    march = period_for("custom", BERLIN, start="2026-03-01", end="2026-03-31")
    click = datetime(2026, 3, 31, 23, 30, tzinfo=BERLIN)  # 21:30 UTC (summer time from 29 March)
    assert march.start_at <= click < march.end_at
    assert march.end_at == datetime(2026, 4, 1, tzinfo=BERLIN)
    assert click.astimezone(ZoneInfo("UTC")).date() == date(2026, 3, 31)
    early_april = datetime(2026, 4, 1, 0, 30, tzinfo=BERLIN)  # still 31 March in UTC
    assert not (march.start_at <= early_april < march.end_at)


def test_previous_periods():
    assert period_for("month", BERLIN, today=date(2026, 3, 10)).previous().start == date(2026, 2, 1)
    assert period_for("month", BERLIN, today=date(2026, 3, 10)).previous().end == date(2026, 2, 28)
    assert period_for("quarter", BERLIN, today=date(2026, 1, 5)).previous().start == date(2025, 10, 1)
    seven = period_for("7d", BERLIN, today=date(2026, 3, 10))
    assert (seven.previous().start, seven.previous().end) == (date(2026, 2, 25), date(2026, 3, 3))


@pytest.mark.parametrize(("key", "start", "end", "fragment"), [
    ("year", None, None, "Unknown period"),
    ("custom", None, "2026-01-01", "needs a start date"),
    ("custom", "2026-02-30", "2026-03-01", "is not a date"),
    ("custom", "2026-03-02", "2026-03-01", "before the start"),
    ("custom", "2020-01-01", "2026-03-01", "at most"),
])
def test_bad_periods_say_what_is_wrong(key, start, end, fragment):
    with pytest.raises(PeriodError, match=fragment):
        period_for(key, BERLIN, start=start, end=end)


def test_roi_worked_by_hand():
    """Spend 500.00, 10 shares × 6 min × 60.00/h, revenue 1,200.00 → cost 560.00, ROI 1.1429."""
    time = time_cost(10, Decimal("6"), Decimal("60.00"))
    figures = roi_figures(revenue=Decimal("1200.00"), spend=Decimal("500.00"), time=time, leads=Decimal("4"),
                          customers=Decimal("2"), shares=10)
    assert figures.time_cost == Decimal("60.00")
    assert figures.cost == Decimal("560.00")
    assert figures.roi == Decimal("1.1429")
    assert figures.profit == Decimal("640.00")
    assert figures.cost_per_lead == Decimal("140.00")
    assert figures.cost_per_customer == Decimal("280.00")
    assert figures.revenue_per_share == Decimal("120.00")
    assert figures.rewards == Decimal("0.00")


def test_roi_with_no_cost_or_no_shares_is_undefined_not_an_error():
    figures = roi_figures(revenue=Decimal("10.00"), spend=Decimal("0"), time=Decimal("0"), leads=Decimal("0"),
                          customers=Decimal("0"), shares=0)
    assert figures.roi is None and figures.cost_per_lead is None and figures.revenue_per_share is None


def test_time_is_summed_exactly_then_rounded_once():
    # 3 ambassadors × 1 share × 5 min × 10.01/h = 3 × 0.834166… = 2.5025 → 2.50 (not 3 × 0.83 = 2.49)
    time = sum(time_cost(1, Decimal("5"), Decimal("10.01")) for _ in range(3))
    assert roi_figures(revenue=Decimal("0"), spend=Decimal("0"), time=time, leads=Decimal("0"),
                       customers=Decimal("0"), shares=3).time_cost == Decimal("2.50")
