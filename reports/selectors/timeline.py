"""Revenue against cost over time: did the programme pay for itself, and since when.

The period is cut into weeks (Monday to Sunday; up to 92 days) or calendar months (longer periods), the
first and last clipped to the period. For each: the revenue credited in it, its cost, and the running
totals from the period's first day: cumulative revenue, cumulative cost, cumulative ROI
((cumulative revenue − cumulative cost) ÷ cumulative cost). The break-even point is the first of them
whose cumulative revenue reaches its cumulative cost (once something was spent or earned).

Cost is the one cost function's (reports.roi.costs, through reports.selectors.roi.costs_of): spend by the
cost's date, rewards by the day earned, time by the day of each share. Every part of it is a sum over
days, so a bucket's cost is costs_of() of the bucket's days, and the running cost is the exact sum of the
buckets' exact costs, rounded once by roi_of(), as on the ROI page: the last bucket's cumulative figures
are the ROI page's programme total for the same filter, to the cent.

Queries: ambassadors, campaigns, shares (by day) and credits (by day) once; spend and rewards once per
bucket (reward_sums is the ROI's own reader of the earnings ledger, not re-implemented here).

ambassador_trend(): one ambassador's clicks, leads and revenue per week (the portal's "my last weeks"), from
the per-ambassador daily rollups, restricted to that ambassador in SQL (two queries).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum

from tracking.models import DailyAmbassadorClicks, DailyAmbassadorCredits
from tracking.selectors import active_version

from ..figures import CreditTotals
from ..filters import ReportFilter
from ..periods import Period
from ..roi import Cost, RoiFigures, roi_of
from .base import _credits, ambassadors, campaigns, credit_sums, share_counts
from .roi import costs_of

WEEKLY_UP_TO_DAYS = 92  # a quarter in weeks (≤ 14 points); anything longer in months


@dataclass(frozen=True)
class TimelinePoint:
    start: date
    end: date  # both included, inside the period
    revenue: Decimal  # credited in this bucket, to the cent
    cost: Decimal  # spend + rewards + time of this bucket, rounded once
    cumulative_revenue: Decimal
    cumulative_cost: Decimal
    cumulative_roi: Decimal | None  # a ratio (0.25 = 25 %), 4 places; None while nothing was spent
    cumulative: RoiFigures  # every figure of the period's start … this bucket's end

    @property
    def broke_even(self) -> bool:
        return (self.cumulative_cost > 0 or self.cumulative_revenue > 0) and \
            self.cumulative_revenue >= self.cumulative_cost


@dataclass(frozen=True)
class Timeline:
    grain: str  # "week" | "month"
    period: Period
    points: list[TimelinePoint]
    break_even: TimelinePoint | None  # the first bucket whose cumulative revenue ≥ cumulative cost

    @property
    def total(self) -> RoiFigures | None:
        """The period's figures (the last bucket's cumulative ones): the ROI page's programme total."""
        return self.points[-1].cumulative if self.points else None

    @property
    def in_profit_at_end(self) -> bool:
        return bool(self.points) and self.points[-1].broke_even


def grain_for(period: Period) -> str:
    return "week" if period.days <= WEEKLY_UP_TO_DAYS else "month"


def buckets(period: Period, grain: str) -> list[tuple[date, date]]:
    """(first day, last day) of each week (Monday–Sunday) or calendar month touching the period,
    clipped to it, in order."""
    if grain not in ("week", "month"):
        raise ValueError(f"grain {grain!r}: 'week' or 'month'")
    result = []
    first = period.start
    while first <= period.end:
        if grain == "week":
            last = first + timedelta(days=6 - first.weekday())
        else:
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            last = following - timedelta(days=1)
        last = min(last, period.end)
        result.append((first, last))
        first = last + timedelta(days=1)
    return result


def timeline(f: ReportFilter, grain: str | None = None) -> Timeline:
    """Revenue, cost and their running totals per week or month of f's period (grain_for() unless
    given), for f's campaigns, group, kind and model, and the break-even bucket (or None)."""
    grain = grain or grain_for(f.period)
    spans = buckets(f.period, grain)
    people = ambassadors(f)
    the_campaigns = campaigns(f)
    shares_by_day = share_counts(f, ("campaign_id", "ambassador_id", "day"))
    credits_by_day = credit_sums(f, ("day",))

    points = []
    running_cost = Cost.zero()
    running_credits = CreditTotals.zero()
    running_shares = 0
    break_even = None
    for first, last in spans:
        bucket = f.with_period(Period(first, last, f.period.tz, "custom"))
        shares: dict[tuple[int, int], int] = {}
        for (campaign_id, ambassador_id, day), count in shares_by_day.items():
            if first <= _as_date(day) <= last:
                shares[campaign_id, ambassador_id] = shares.get((campaign_id, ambassador_id), 0) + count
        cost = costs_of(bucket, shares=shares, people=people, the_campaigns=the_campaigns).total
        credited = sum((totals for (day,), totals in credits_by_day.items() if first <= _as_date(day) <= last),
                       CreditTotals.zero())
        count = sum(shares.values())
        running_cost += cost
        running_credits += credited
        running_shares += count
        own = roi_of(cost, credited, count)
        cumulative = roi_of(running_cost, running_credits, running_shares)
        point = TimelinePoint(start=first, end=last, revenue=own.revenue, cost=own.cost,
                              cumulative_revenue=cumulative.revenue, cumulative_cost=cumulative.cost,
                              cumulative_roi=cumulative.roi, cumulative=cumulative)
        if break_even is None and point.broke_even:
            break_even = point
        points.append(point)
    return Timeline(grain=grain, period=f.period, points=points, break_even=break_even)


def _as_date(value) -> date:
    """TruncDate gives a date on PostgreSQL and, on some SQLite versions, a string."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass(frozen=True)
class TrendWeek:
    start: date  # the Monday (or the first day shown, for a clipped week)
    end: date
    clicks: int  # creditable clicks
    leads: Decimal  # credited, 4 places
    revenue: Decimal  # credited, to the cent


TREND_WEEKS = 12


def ambassador_trend(organization_id: int, ambassador_id: int, end: date, *, weeks: int = TREND_WEEKS,
                     model: str | None = None) -> list[TrendWeek]:
    """One ambassador's creditable clicks, credited leads and revenue per week (Monday to Sunday), for the
    `weeks` weeks up to the one holding `end` (that week cut at `end`), oldest first, every week present
    (zeros when nothing happened). Credits of the active version, under `model` or the reporting model."""
    first = end - timedelta(days=end.weekday()) - timedelta(weeks=weeks - 1)
    clicks = dict(DailyAmbassadorClicks.objects
                  .filter(organization_id=organization_id, ambassador_id=ambassador_id, day__gte=first, day__lte=end)
                  .values("day").order_by().annotate(n=Sum("clicks")).values_list("day", "n"))
    version, reporting_model = active_version(organization_id)
    credits = {row[0]: _credits(*row[1:]) for row in DailyAmbassadorCredits.objects
               .filter(organization_id=organization_id, ambassador_id=ambassador_id, version=version,
                       model=model or reporting_model, day__gte=first, day__lte=end)
               .values("day").order_by().annotate(l=Sum("leads"), c=Sum("customers"), r=Sum("revenue_cents"))
               .values_list("day", "l", "c", "r")}
    result = []
    for index in range(weeks):
        monday = first + timedelta(weeks=index)
        last = min(monday + timedelta(days=6), end)
        days = [monday + timedelta(days=n) for n in range((last - monday).days + 1)]
        credited = sum((credits[day] for day in days if day in credits), CreditTotals.zero())
        result.append(TrendWeek(start=monday, end=last, clicks=sum(int(clicks.get(day) or 0) for day in days),
                                leads=credited.leads, revenue=credited.revenue))
    return result
