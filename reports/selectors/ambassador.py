"""One ambassador's performance, for managers: the drill-down page (by period, campaign and
channel) and the performance columns of the ambassadors list (every ambassador, sortable).

What each figure is (the pages say the same):

* shares: ShareEvents recorded in the period; clicks: creditable clicks; unique visitors:
  unique creditable clicks per link and 24 hours (the click rollups);
* leads, customers, revenue: credited under the report's model (default the organisation's
  reporting model), from the credit rollups;
* points: the activity score of the leaderboard (reports.selectors.points.points_for: shares,
  unique clicks, and leads and revenue under the reporting model, whatever model is shown);
* time cost: the ROI's time cost of this ambassador's shares (reports.roi.costs, the one cost
  function: shares × the campaign's minutes per share / 60 × the hourly rate, exact, rounded
  to the cent once per figure);
* earned: the rewards ledger's money in the organisation's currency, not canceled or refunded
  (rewards.models.LIVE_STATUSES: pending, approved, in a payout, paid, held), by the day
  earned; reward points: the ledger's points entries of the same statuses. Money in another
  currency is listed apart, never added.

By channel: clicks, unique visitors and shares (and their time cost) are recorded per channel;
leads, customers and revenue are not recorded per channel yet (issue 15), so they are None there.

Reads: one grouped query per source (click rollups, credit rollups, share events, ledger)
restricted to this ambassador through indexed columns, never raw clicks; the list reads the
per-ambassador rollups, grouped by ambassador, as the leaderboard does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from ambassadors.models import Ambassador
from campaigns.channels import Channel
from campaigns.models import Campaign, ShareEvent, TrackedLink
from rewards.models import LIVE_STATUSES, EarningEntry, RewardUnit
from rewards.selectors.money import cents
from tenancy.models import Organization
from tracking.models import (
    DailyAmbassadorClicks,
    DailyAmbassadorCredits,
    DailyClickRollup,
    DailyCreditRollup,
    WeeklyAmbassadorClicks,
    WeeklyAmbassadorCredits,
)
from tracking.selectors import active_version

from ..figures import Activity
from ..filters import ReportFilter
from ..roi import ZERO, costs, money
from .base import AmbassadorInfo, _fetch, _tiered_pair_sql
from .points import points_for, points_rules

GRAINS = {"day": "Day", "week": "Week", "month": "Month"}
MAX_DAYS_BY_DAY = 92  # a day grain beyond this makes an unreadable table: use weeks or months

ZERO_MONEY = Decimal("0.00")


class GrainError(ValueError):
    """A grain that can't be used for the period; the message says why (for a 400)."""


def default_grain(days: int) -> str:
    return "day" if days <= 14 else "week" if days <= 120 else "month"


def check_grain(grain: str | None, days: int) -> str:
    """The grain asked for (default from the period's length); GrainError with a message."""
    if not grain:
        return default_grain(days)
    if grain not in GRAINS:
        raise GrainError(f"Unknown grain “{grain}”; use one of {', '.join(GRAINS)}.")
    if grain == "day" and days > MAX_DAYS_BY_DAY:
        raise GrainError(f"By day works for periods up to {MAX_DAYS_BY_DAY} days; use week or month.")
    return grain


def bucket_of(day: date, grain: str) -> date:
    """The first day of the day's bucket: the day itself, its week's Monday, its month's 1st."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def buckets(start: date, end: date, grain: str) -> list[date]:
    """Every bucket the days start..end touch, in order."""
    result, current = [], bucket_of(start, grain)
    while current <= end:
        result.append(current)
        if grain == "month":
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            current += timedelta(days=7 if grain == "week" else 1)
    return result


def bucket_label(first: date, grain: str) -> str:
    if grain == "week":
        return f"Week of {first:%-d %b %Y}"
    if grain == "month":
        return f"{first:%b %Y}"
    return f"{first:%-d %b %Y}"


@dataclass(frozen=True, slots=True)
class Performance(Activity):
    """Activity (shares, clicks, unique clicks, leads, customers, revenue) with the activity
    points, the time cost and the ledger's earnings. Fields that are not known for a row (by
    channel: what credits and the ledger don't record per channel) are None."""

    points: Decimal | None = ZERO_MONEY
    time_cost: Decimal = ZERO_MONEY
    earned: Decimal | None = ZERO_MONEY
    reward_points: int | None = 0


@dataclass(frozen=True)
class Line:
    key: str  # the bucket's first day (ISO), the campaign's public id, or the channel
    label: str
    figures: Performance


@dataclass(frozen=True)
class AmbassadorPerformance:
    ambassador: AmbassadorInfo
    filter: ReportFilter
    grain: str
    model: str  # the model leads, customers and revenue are credited under
    reporting_model: str  # the model points follow
    currency: str
    totals: Performance
    by_period: list[Line]
    by_campaign: list[Line]
    by_channel: list[Line]
    other_currencies: dict[str, Decimal] = field(default_factory=dict)  # money earned in other currencies
    channel_credits: bool = False  # whether leads, customers and revenue are known per channel


@dataclass
class _Sums:
    """Running sums of one row, before the figures are made."""

    shares: int = 0
    clicks: int = 0
    unique_clicks: int = 0
    leads: Decimal = Decimal("0.0000")
    customers: Decimal = Decimal("0.0000")
    revenue: Decimal = ZERO_MONEY
    point_leads: Decimal = Decimal("0.0000")  # under the reporting model (points)
    point_revenue: Decimal = ZERO_MONEY
    shares_by_campaign: dict[int, int] = field(default_factory=dict)  # time cost
    earned: Decimal = ZERO_MONEY
    reward_points: Decimal = ZERO


def _credit(value) -> Decimal:
    return Decimal(value or 0).scaleb(-4)


def ambassador_by_public_id(organization_id: int, public_id) -> Ambassador | None:
    """The organisation's ambassador with this public id (a UUID or its text); None if there is none."""
    try:
        parsed = public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(str(public_id))
    except ValueError:
        return None
    return Ambassador.objects.filter(organization_id=organization_id, public_id=parsed).first()


def ambassador_performance(f: ReportFilter, ambassador_id: int, *, grain: str | None = None) -> AmbassadorPerformance:
    """The ambassador's figures in f's period: totals, per bucket of `grain` (every bucket of the
    period, zeros included), per campaign (those with anything, highest revenue first) and per
    channel (those with anything, most clicks first). f's campaign filter applies; its group and
    kind don't (the page is about one ambassador). Call inside the organisation's tenant scope."""
    grain = check_grain(grain, f.period.days)
    row = (Ambassador.objects.filter(organization_id=f.organization_id, pk=ambassador_id)
           .values_list("id", "public_id", "display_name", "email", "kind", "status", "hourly_rate").get())
    person = AmbassadorInfo(row[0], str(row[1]), *row[2:])
    version, reporting_model = active_version(f.organization_id)
    model = f.model or reporting_model
    # Only the campaigns the ambassador has a link in can have their clicks, shares and credits
    # (credits are per link): a handful, which keeps every index lookup below short.
    linked = TrackedLink.objects.filter(organization_id=f.organization_id, ambassador_id=ambassador_id)
    the_campaigns = Campaign.objects.filter(organization_id=f.organization_id, id__in=linked.values("campaign_id"))
    if f.campaign_ids is not None:
        the_campaigns = the_campaigns.filter(id__in=f.campaign_ids)
    campaign_info = {pk: (str(public_id), name, minutes) for pk, public_id, name, minutes in
                     the_campaigns.values_list("id", "public_id", "name", "minutes_per_share")}
    campaign_ids = list(campaign_info)
    start, end, tz = f.period.start, f.period.end, f.period.tz

    per_bucket = {first: _Sums() for first in buckets(start, end, grain)}
    per_campaign: dict[int, _Sums] = {}
    per_channel: dict[str, _Sums] = {}
    total = _Sums()

    def rows_of(campaign_id: int, day: date | None, channel: str | None) -> list[_Sums]:
        rows = [total, per_campaign.setdefault(campaign_id, _Sums())]
        if day is not None:
            rows.append(per_bucket[bucket_of(day, grain)])
        if channel is not None:
            rows.append(per_channel.setdefault(channel, _Sums()))
        return rows

    # Clicks: the campaign × ambassador × channel × day rollup, reached through its unique index
    # (organisation, campaign, ambassador, …): one index range per campaign of the organisation.
    clicks = (DailyClickRollup.objects
              .filter(organization_id=f.organization_id, campaign_id__in=campaign_ids, ambassador_id=ambassador_id,
                      day__gte=start, day__lte=end)
              .values_list("campaign_id", "channel", "day").order_by()
              .annotate(clicks=Sum("clicks"), unique_clicks=Sum("unique_clicks")))
    for campaign_id, channel, day, click_count, unique_count in clicks:
        for row in rows_of(campaign_id, day, channel):
            row.clicks += click_count or 0
            row.unique_clicks += unique_count or 0

    # Credits of the shown model and of the reporting model (points), one query. The rollup's key is
    # (organisation, version, model, day, campaign, ambassador): the days as a list (not a range) and
    # the ambassador's campaigns make one short index lookup per (model, day, campaign) instead of
    # a scan of every ambassador's rows of the period.
    credits = (DailyCreditRollup.objects
               .filter(organization_id=f.organization_id, version=version, model__in={model, reporting_model},
                       day__in=f.period.each_day(), ambassador_id=ambassador_id, campaign_id__in=campaign_ids)
               .values_list("campaign_id", "day", "model").order_by()
               .annotate(leads=Sum("leads"), customers=Sum("customers"), revenue_cents=Sum("revenue_cents")))
    for campaign_id, day, row_model, leads, customers, revenue_cents in credits:
        revenue = Decimal(revenue_cents or 0).scaleb(-2)
        for row in rows_of(campaign_id, day, None):
            if row_model == model:
                row.leads += _credit(leads)
                row.customers += _credit(customers)
                row.revenue += revenue
            if row_model == reporting_model:
                row.point_leads += _credit(leads)
                row.point_revenue += revenue

    # Shares (by the organisation's local day), through the share's ambassador index.
    shares = (ShareEvent.objects
              .filter(organization_id=f.organization_id, ambassador_id=ambassador_id, campaign_id__in=campaign_ids,
                      shared_at__gte=f.period.start_at, shared_at__lt=f.period.end_at)
              .annotate(day=TruncDate("shared_at", tzinfo=tz))
              .values_list("campaign_id", "channel", "day").order_by().annotate(n=Count("id")))
    for campaign_id, channel, day, count in shares:
        for row in rows_of(campaign_id, day, channel):
            row.shares += count
            row.shares_by_campaign[campaign_id] = row.shares_by_campaign.get(campaign_id, 0) + count

    # The ledger: money in the organisation's currency and points, not canceled or refunded.
    currency = Organization.objects.values_list("currency", flat=True).get(pk=f.organization_id)
    other_currencies: dict[str, Decimal] = {}
    entries = (EarningEntry.objects
               .filter(organization_id=f.organization_id, ambassador_id=ambassador_id, status__in=LIVE_STATUSES,
                       earned_at__gte=f.period.start_at, earned_at__lt=f.period.end_at)
               .annotate(day=TruncDate("earned_at", tzinfo=tz))
               .values_list("campaign_id", "day", "unit", "currency").order_by().annotate(amount=Sum("amount")))
    for campaign_id, day, unit, entry_currency, amount in entries:
        if f.campaign_ids is not None and campaign_id not in campaign_info:
            continue
        if unit == RewardUnit.MONEY and entry_currency != currency:
            other_currencies[entry_currency] = other_currencies.get(entry_currency, ZERO_MONEY) + cents(amount)
            continue
        targets = [total, per_bucket[bucket_of(day, grain)]]
        if campaign_id is not None:
            targets.append(per_campaign.setdefault(campaign_id, _Sums()))
        for row in targets:
            if unit == RewardUnit.MONEY:
                row.earned += cents(amount)
            else:
                row.reward_points += Decimal(amount or 0)

    rules = points_rules(f.organization_id)
    minutes = {pk: info[2] for pk, info in campaign_info.items()}
    rates = {ambassador_id: person.hourly_rate}

    def time_cost(row: _Sums) -> Decimal:
        """This row's shares through the one cost function (no spend, no rewards: time only)."""
        cost = costs(minutes=minutes, rates=rates, spend={}, rewards={},
                     shares={(campaign_id, ambassador_id): count
                             for campaign_id, count in row.shares_by_campaign.items()})
        return money(cost.total.time)

    def figures(row: _Sums, *, credited: bool = True, earned: bool = True) -> Performance:
        return Performance(
            shares=row.shares, clicks=row.clicks, unique_clicks=row.unique_clicks,
            leads=row.leads if credited else None, customers=row.customers if credited else None,
            revenue=row.revenue if credited else None,
            points=(points_for(rules, row.shares, row.unique_clicks, row.point_leads, row.point_revenue)
                    if credited else None),
            time_cost=time_cost(row), earned=row.earned if earned else None,
            reward_points=round(row.reward_points) if earned else None)

    by_period = [Line(first.isoformat(), bucket_label(first, grain), figures(row)) for first, row in per_bucket.items()]
    by_campaign = [Line(campaign_info[pk][0], campaign_info[pk][1], figures(row))
                   for pk, row in per_campaign.items() if pk in campaign_info]
    by_campaign.sort(key=lambda line: (-line.figures.revenue, -line.figures.clicks, line.label.casefold(), line.key))
    labels = dict(Channel.choices)
    by_channel = [Line(channel, labels.get(channel, channel), figures(row, credited=False, earned=False))
                  for channel, row in per_channel.items()]
    by_channel.sort(key=lambda line: (-line.figures.clicks, -line.figures.shares, line.label.casefold()))
    return AmbassadorPerformance(
        ambassador=person, filter=f, grain=grain, model=model, reporting_model=reporting_model, currency=currency,
        totals=figures(total), by_period=by_period, by_campaign=by_campaign, by_channel=by_channel,
        other_currencies=dict(sorted(other_currencies.items())))


# --- every ambassador at once: the ambassadors list's sortable columns ------------------------------

SORTS = {
    "name": "Name",
    "clicks": "Clicks",
    "leads": "Leads",
    "revenue": "Revenue",
    "points": "Points",
    "earned": "Earned",
}
DEFAULT_SORT = "name"


class SortError(ValueError):
    """An unknown ?sort=; the message says which are known (for a 400)."""


def sort_param(value: str | None) -> tuple[str, bool]:
    """(column, descending) of ?sort=column or ?sort=-column; SortError with a message."""
    value = value or DEFAULT_SORT
    descending = value.startswith("-")
    column = value[1:] if descending else value
    if column not in SORTS:
        raise SortError(f"Unknown sort “{value}”; use one of {', '.join(SORTS)} (with a leading - for descending).")
    return column, descending


@dataclass(frozen=True, slots=True)
class ListFigures:
    clicks: int = 0
    leads: Decimal = Decimal("0.0000")
    revenue: Decimal = ZERO_MONEY
    points: Decimal = ZERO_MONEY
    earned: Decimal = ZERO_MONEY


NO_FIGURES = ListFigures()


def _tiered(daily, weekly, f: ReportFilter, names: tuple[str, ...]) -> dict[int, tuple[int, ...]]:
    """{ambassador id: (sum of each name)} over f's period from a per-ambassador daily rollup and
    its weekly twin (reports.selectors.base's tiered reading, with the whole period as "now")."""
    rows = _fetch(_tiered_pair_sql(daily, weekly, f, f.period.start, ("ambassador_id",), names))
    return {row[0]: tuple(int(value or 0) for value in row[1::2]) for row in rows}


def list_figures(f: ReportFilter, ambassador_ids: list[int] | None = None) -> dict[int, ListFigures]:
    """{ambassador id: figures in f's period} for every ambassador with anything (the others
    have NO_FIGURES), or only for `ambassador_ids`: creditable clicks, leads and revenue under
    f's model, activity points (the leaderboard's) and money earned in the organisation's
    currency (not canceled or refunded). f's period and model only (no campaign or group
    filter). One grouped query per source (credits: per model) over the per-ambassador daily and
    weekly rollups and the ledger: the same sums as click_sums / credit_sums / share_counts by
    ambassador."""
    version, reporting_model = active_version(f.organization_id)
    model = f.model or reporting_model
    org = f.organization_id

    def mine(queryset, field_name="ambassador_id"):
        return queryset if ambassador_ids is None else queryset.filter(**{f"{field_name}__in": ambassador_ids})

    # Whole weeks from the weekly rollups, the days at the edges from the daily ones (as the
    # leaderboard reads them): about a fifth of the rows of a 90-day period.
    clicks = _tiered(mine(DailyAmbassadorClicks.objects.filter(organization_id=org)),
                     mine(WeeklyAmbassadorClicks.objects.filter(organization_id=org)), f,
                     ("clicks", "unique_clicks"))
    credits: dict[tuple[int, str], tuple[Decimal, Decimal]] = {}
    for row_model in {model, reporting_model}:
        of_model = {"organization_id": org, "version": version, "model": row_model}
        for pk, (leads, revenue_cents) in _tiered(mine(DailyAmbassadorCredits.objects.filter(**of_model)),
                                                  mine(WeeklyAmbassadorCredits.objects.filter(**of_model)), f,
                                                  ("leads", "revenue_cents")).items():
            credits[pk, row_model] = (_credit(leads), Decimal(revenue_cents).scaleb(-2))
    shares = dict(mine(ShareEvent.objects.filter(organization_id=org, shared_at__gte=f.period.start_at,
                                                 shared_at__lt=f.period.end_at))
                  .values_list("ambassador_id").order_by().annotate(Count("id")))
    currency = Organization.objects.values_list("currency", flat=True).get(pk=org)
    earned = {pk: cents(amount) for pk, amount in mine(EarningEntry.objects.filter(
        organization_id=org, status__in=LIVE_STATUSES, unit=RewardUnit.MONEY, currency=currency,
        earned_at__gte=f.period.start_at, earned_at__lt=f.period.end_at))
        .values_list("ambassador_id").order_by().annotate(Sum("amount"))}
    rules = points_rules(org)
    no_credit = (Decimal("0.0000"), ZERO_MONEY)
    result = {}
    for pk in set(clicks) | set(shares) | {key[0] for key in credits} | set(earned):
        click_count, unique = clicks.get(pk, (0, 0))
        leads, revenue = credits.get((pk, model), no_credit)
        point_leads, point_revenue = credits.get((pk, reporting_model), no_credit)
        result[pk] = ListFigures(clicks=click_count, leads=leads, revenue=revenue,
                                 points=points_for(rules, shares.get(pk, 0), unique, point_leads, point_revenue),
                                 earned=earned.get(pk, ZERO_MONEY))
    return result


def sorted_ids(ids_and_names: list[tuple[int, str]], figures: dict[int, ListFigures], column: str,
               descending: bool) -> list[int]:
    """The ambassadors' ids in the order asked for; ties (and the name sort) by name, then id."""
    by_name = sorted(ids_and_names, key=lambda pair: (pair[1].casefold(), pair[0]))
    if column == "name":
        ids = [pk for pk, _ in by_name]
        return ids[::-1] if descending else ids
    order = sorted(by_name, key=lambda pair: getattr(figures.get(pair[0], NO_FIGURES), column),
                   reverse=descending)  # stable: equal values stay in name order
    return [pk for pk, _ in order]
