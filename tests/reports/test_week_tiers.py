"""Weekly per-ambassador rollups: leaderboards read whole weeks from them and only the edge
days from the daily rollups. The answer must be the same as summing every day."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.filters import ReportFilter
from reports.periods import Period, week_tiers
from reports.selectors import base
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, click_rollup
from tracking.models import DailyAmbassadorClicks, WeeklyAmbassadorClicks
from tracking.services import rollups

PARIS = ZoneInfo("Europe/Paris")


def covered_days(tiers) -> list[date]:
    days = []
    for monday in tiers.weeks:
        days.extend(monday + timedelta(days=offset) for offset in range(7))
    for first, last in tiers.day_ranges:
        days.extend(first + timedelta(days=offset) for offset in range((last - first).days + 1))
    return days


@given(start=st.dates(date(2020, 1, 1), date(2030, 12, 31)), length=st.integers(1, 400),
       split_at=st.integers(0, 400), with_split=st.booleans())
def test_tiers_cover_every_day_once_and_no_week_straddles_the_split(start, length, split_at, with_split):
    end = start + timedelta(days=length - 1)
    split = start + timedelta(days=min(split_at, length - 1)) if with_split else None
    tiers = week_tiers(start, end, split=split)
    days = covered_days(tiers)
    assert sorted(days) == [start + timedelta(days=offset) for offset in range(length)]
    assert all(monday.weekday() == 0 for monday in tiers.weeks)
    if split is not None:
        assert not any(monday < split <= monday + timedelta(days=6) for monday in tiers.weeks)
    # Edge days only: at most 6 at each end of each side of the split.
    assert sum((last - first).days + 1 for first, last in tiers.day_ranges) <= 24


def test_a_month_and_the_month_before_read_mostly_weeks():
    tiers = week_tiers(date(2026, 10, 1), date(2026, 11, 29), split=date(2026, 10, 31))
    assert len(tiers.weeks) == 7
    assert len(covered_days(tiers)) == 60
    assert sum((last - first).days + 1 for first, last in tiers.day_ranges) == 11


@pytest.mark.django_db
def test_leaderboard_sums_over_weeks_equal_the_sums_over_days(org):
    """A click on each of 75 days for two ambassadors (a different count each day): both periods
    of every window equal the single-period sums, and the weekly rows equal the daily ones summed
    per week, also after a rebuild."""
    with tenant_scope(org):
        people = [AmbassadorFactory(organization=org) for _ in range(2)]
        first = date(2026, 1, 5)
        for offset in range(75):
            for n, person in enumerate(people):
                count = (offset * 7 + n * 3) % 11 + 1
                click_rollup(organization=org, campaign_id=1, ambassador_id=person.pk, channel="x",
                             day=first + timedelta(days=offset), total=count, clicks=count,
                             unique_clicks=count // 2)

        def weekly_from_daily():
            sums = {}
            for row in DailyAmbassadorClicks.objects.filter(organization=org):
                key = (row.ambassador_id, rollups.week_of(row.day))
                sums[key] = sums.get(key, 0) + row.clicks
            return sums

        weekly = {(row.ambassador_id, row.week): row.clicks for row in WeeklyAmbassadorClicks.objects.all()}
        assert weekly == weekly_from_daily() and len(weekly) == 2 * 11
        rollups.rebuild(org.pk)
        assert {(row.ambassador_id, row.week): row.clicks
                for row in WeeklyAmbassadorClicks.objects.all()} == weekly

        for start_offset, length in ((30, 30), (33, 30), (40, 7), (20, 9), (36, 14)):
            start = first + timedelta(days=start_offset)
            now = ReportFilter(org.pk, Period(start, start + timedelta(days=length - 1), PARIS, "custom"))
            before = now.with_period(now.period.previous())
            pair = base.click_sums_pair(now, before)
            assert pair == (base.click_sums(now), base.click_sums(before))
            assert all(pair)
            assert base.credit_sums_pair(now, before) == (base.credit_sums(now), base.credit_sums(before))
