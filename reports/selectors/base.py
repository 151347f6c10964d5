"""The building blocks every report sums: clicks, credits, shares, spend, ambassadors.

Each `*_sums(f, by)` returns {key: totals}, where key is a tuple of the `by` fields' values
(ambassador_id, campaign_id, channel, day, model …) in that order; () sums everything. Totals
are reports.figures' value objects (ClickTotals, CreditTotals), share counts ints, spend Decimals.
Days are local days of the organisation; filters (campaigns, group, kind) apply everywhere."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import BigIntegerField, Count, F, Q, Sum
from django.db.models.functions import Cast, TruncDate

from ambassadors.models import Ambassador
from campaigns.models import Campaign, CampaignCost, ShareEvent
from tracking.models import (
    DailyAmbassadorClicks,
    DailyAmbassadorCredits,
    DailyCampaignCredits,
    DailyClickRollup,
    DailyCreditRollup,
    WeeklyAmbassadorClicks,
    WeeklyAmbassadorCredits,
)
from tracking.selectors import active_version

from ..figures import ClickTotals, CreditTotals
from ..filters import ReportFilter
from ..periods import Period, week_tiers

CLICK_FIELDS = ("clicks", "unique_clicks", "total", "bot_clicks", "self_clicks")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class AmbassadorInfo:
    id: int
    public_id: str
    name: str
    email: str
    kind: str
    status: str
    hourly_rate: Decimal


def ambassadors(f: ReportFilter) -> dict[int, AmbassadorInfo]:
    """The ambassadors the filter covers (every status: a removed ambassador keeps their history)."""
    queryset = Ambassador.objects.filter(organization_id=f.organization_id)
    if f.group_id is not None:
        queryset = queryset.filter(groups__id=f.group_id)
    if f.kind is not None:
        queryset = queryset.filter(kind=f.kind)
    return {row[0]: AmbassadorInfo(row[0], str(row[1]), row[2], row[3], row[4], row[5], row[6])
            for row in queryset.values_list("id", "public_id", "display_name", "email", "kind", "status",
                                            "hourly_rate")}


def campaigns(f: ReportFilter) -> dict[int, Campaign]:
    queryset = Campaign.objects.filter(organization_id=f.organization_id)
    if f.campaign_ids is not None:
        queryset = queryset.filter(id__in=f.campaign_ids)
    return {campaign.id: campaign for campaign in queryset}


def campaign_by_public_id(organization_id: int, public_id) -> Campaign | None:
    """The organisation's campaign with this public id (a UUID or its text); None if there is none."""
    try:
        parsed = public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(str(public_id))
    except ValueError:
        return None
    return Campaign.objects.filter(organization_id=organization_id, public_id=parsed).first()


def _ambassador_ids(f: ReportFilter):
    """The filter's ambassadors as a subquery (one SQL statement, no long IN list)."""
    queryset = Ambassador.objects.filter(organization_id=f.organization_id)
    if f.group_id is not None:
        queryset = queryset.filter(groups__id=f.group_id)
    if f.kind is not None:
        queryset = queryset.filter(kind=f.kind)
    return queryset.values("id")


def _scoped(queryset, f: ReportFilter, *, ambassador_field="ambassador_id", campaign_field="campaign_id"):
    if f.campaign_ids is not None:
        queryset = queryset.filter(**{f"{campaign_field}__in": f.campaign_ids})
    if f.filters_ambassadors:
        queryset = queryset.filter(**{f"{ambassador_field}__in": _ambassador_ids(f)})
    return queryset


def _group(queryset, by, **aggregates) -> list[dict]:
    """GROUP BY `by` (rows of dicts); with no fields, one row of totals (`.values()` with no
    fields would group by every column instead)."""
    if not by:
        return [queryset.order_by().aggregate(**aggregates)]
    return list(queryset.values(*by).order_by().annotate(**aggregates))


# Sums that need neither campaign nor channel read the per-ambassador rollups (~50x fewer rows).
AMBASSADOR_CLICK_KEYS = {"ambassador_id", "day"}
AMBASSADOR_CREDIT_KEYS = {"ambassador_id", "day", "model"}
# …and sums by campaign without an ambassador filter read the per-campaign credits.
CAMPAIGN_CREDIT_KEYS = {"campaign_id", "day", "model"}


def _credit_table(f: ReportFilter, by) -> type:
    if f.campaign_ids is None and set(by) <= AMBASSADOR_CREDIT_KEYS:
        return DailyAmbassadorCredits
    if not f.filters_ambassadors and set(by) <= CAMPAIGN_CREDIT_KEYS:
        return DailyCampaignCredits
    return DailyCreditRollup


def click_sums(f: ReportFilter, by: tuple[str, ...] = ("ambassador_id",)) -> dict[tuple, ClickTotals]:
    table = (DailyAmbassadorClicks if f.campaign_ids is None and set(by) <= AMBASSADOR_CLICK_KEYS
             else DailyClickRollup)
    rows = _group(_scoped(table.objects.filter(organization_id=f.organization_id,
                                               day__gte=f.period.start, day__lte=f.period.end), f),
                  by, **{name: Sum(name) for name in CLICK_FIELDS})
    return {tuple(row[field] for field in by): ClickTotals(**{name: row[name] or 0 for name in CLICK_FIELDS})
            for row in rows}


def _credits(leads, customers, revenue_cents) -> CreditTotals:
    """The rollups' integers (leads and customers in 1/10,000, revenue in cents) as CreditTotals."""
    return CreditTotals(Decimal(leads or 0).scaleb(-4), Decimal(customers or 0).scaleb(-4),
                        Decimal(revenue_cents or 0).scaleb(-2))


def credit_sums(f: ReportFilter, by: tuple[str, ...] = ("ambassador_id",), *, all_models: bool = False,
                active: tuple[int, str] | None = None) -> dict[tuple, CreditTotals]:
    """Leads, customers (fractional under split models) and revenue credited, of the active
    credits version (never a half-recomputed one) and the filter's model (or every model).
    `active`: tracking.selectors.active_version()'s answer when the caller already has it (one
    read per report, so that all of a report's sums are of the same version)."""
    version, reporting_model = active or active_version(f.organization_id)
    table = _credit_table(f, by)
    queryset = table.objects.filter(organization_id=f.organization_id, version=version,
                                    day__gte=f.period.start, day__lte=f.period.end)
    if not all_models:
        queryset = queryset.filter(model=f.model or reporting_model)
    rows = _group(_scoped(queryset, f), by, leads=Sum("leads"), customers=Sum("customers"),
                  revenue_cents=Sum("revenue_cents"))
    return {tuple(row[field] for field in by): _credits(row["leads"], row["customers"], row["revenue_cents"])
            for row in rows}


def share_counts(f: ReportFilter, by: tuple[str, ...] = ("ambassador_id",)) -> dict[tuple, int]:
    """Shares recorded in the period (ShareEvent; `day` is the local day of shared_at)."""
    queryset = _scoped(ShareEvent.objects.filter(organization_id=f.organization_id, shared_at__gte=f.period.start_at,
                                                 shared_at__lt=f.period.end_at), f)
    if "day" in by:
        queryset = queryset.annotate(day=TruncDate("shared_at", tzinfo=f.period.tz))
    rows = _group(queryset, by, shares=Count("id"))
    return {tuple(row[field] for field in by): row["shares"] for row in rows}


def rated_share_sums(f: ReportFilter, by: tuple[str, ...] = ("campaign_id",)) -> dict[tuple, tuple[int, Decimal]]:
    """Shares in the period and the sum of their sharers' hourly rates, by `by`: (shares,
    Σ shares × rate). The cost of an ambassador's time is shares × minutes × rate, so a
    campaign's is this sum × its minutes: one row per campaign, not one per ambassador."""
    queryset = _scoped(ShareEvent.objects.filter(organization_id=f.organization_id, shared_at__gte=f.period.start_at,
                                                 shared_at__lt=f.period.end_at), f)
    rows = _group(queryset, by, shares=Count("id"), rate_sum=Sum("ambassador__hourly_rate"))
    return {tuple(row[field] for field in by): (row["shares"], row["rate_sum"] or Decimal("0.00")) for row in rows}


# --- a period and the one before it, in one query per source (leaderboards rank both) -------------

def _union(now: ReportFilter, before: ReportFilter) -> ReportFilter:
    if before.period.end + timedelta(days=1) != now.period.start or replace(before, period=now.period) != now:
        raise ValueError("the periods must be adjacent and the filters otherwise equal")
    return now.with_period(Period(before.period.start, now.period.end, now.period.tz, now.period.key))


def _pair_sql(queryset, by: tuple[str, ...], names: tuple[str, ...], aggregate, in_now: Q) -> tuple[str, list]:
    """GROUP BY `by` with each name summed twice, inside and outside `in_now`, as SQL: columns
    `by`…, then `{name}__now`, `{name}__before` for each name."""
    if not by:
        raise ValueError("group by at least one field")
    columns = {}
    for name in names:
        # As bigint: PostgreSQL's SUM of bigint is numeric, which arrives as a slower Decimal.
        columns[f"{name}__now"] = Cast(aggregate(name, filter=in_now), BigIntegerField())
        columns[f"{name}__before"] = Cast(aggregate(name, filter=~in_now), BigIntegerField())
    sql, params = (queryset.values(*by).order_by().annotate(**columns).values_list(*by, *columns)
                   .query.sql_with_params())
    return sql, list(params)


def _fetch(statement: tuple[str, list]) -> list[tuple]:
    """Plain tuples straight from the cursor (a leaderboard has thousands of rows, and the ORM's
    per-row conversions cost more than the query)."""
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        return cursor.fetchall()


def _split(rows: list[tuple], by: tuple[str, ...], names: tuple[str, ...], make) -> tuple[dict, dict]:
    """Rows of (*key, name1 now, name1 before, name2 now, …) → ({key: make(name1, name2, …)} now,
    … before). A key is in a period's dict when its first column isn't NULL there (it had rows in it)."""
    width = len(by)
    result: tuple[dict, dict] = ({}, {})
    for row in rows:
        key = row[:width]
        for index in (0, 1):
            if row[width + index] is not None:
                result[index][key] = make(*row[width + index::2])
    return result


def _count(value) -> int:
    return int(value or 0)


def _tiered_pair_sql(daily, weekly, f: ReportFilter, now_start, by: tuple[str, ...],
                     names: tuple[str, ...]) -> tuple[str, list]:
    """As _pair_sql over a per-ambassador rollup, reading whole weeks from its weekly twin
    and only the days at the edges from the daily one (week_tiers: no week straddles the two
    periods' boundary), about a third of the rows for a month and the month before."""
    tiers = week_tiers(f.period.start, f.period.end, split=now_start)
    parts, params = [], []
    if tiers.day_ranges:
        in_ranges = Q()
        for first, last in tiers.day_ranges:
            in_ranges |= Q(day__gte=first, day__lte=last)
        parts.append(daily.filter(in_ranges).annotate(d=F("day")))
    if tiers.weeks:
        parts.append(weekly.filter(week__in=tiers.weeks).annotate(d=F("week")))
    selects = []
    for queryset in parts:
        sql, part_params = queryset.order_by().values_list(*by, "d", *names).query.sql_with_params()
        selects.append(sql)  # no parentheses: SQLite refuses them around a compound's parts
        params.extend(part_params)
    sources = " UNION ALL ".join(selects)
    split = connection.ops.adapt_datefield_value(now_start)
    sums, sum_params = [], []
    for name in names:
        sums.append(f"CAST(SUM({name}) FILTER (WHERE d >= %s) AS bigint) AS {name}__now, "
                    f"CAST(SUM({name}) FILTER (WHERE d < %s) AS bigint) AS {name}__before")
        sum_params.extend([split, split])
    keys = ", ".join(by)
    sql = f"SELECT {keys}, {', '.join(sums)} FROM ({sources}) AS tiers GROUP BY {keys}"  # noqa: S608 - field names
    return sql, [*sum_params, *params]


def _ambassador_tiers(f: ReportFilter, by: tuple[str, ...]) -> bool:
    """Whether the per-ambassador daily and weekly rollups can answer sums by `by`."""
    return f.campaign_ids is None and by == ("ambassador_id",)


def click_pair_sql(now: ReportFilter, before: ReportFilter, by: tuple[str, ...] = ("ambassador_id",), *,
                   fields: tuple[str, ...] = CLICK_FIELDS) -> tuple[str, list]:
    """The SQL of click_sums_pair: columns `by`…, `{field}__now`, `{field}__before` per field."""
    f = _union(now, before)
    if _ambassador_tiers(f, by):
        return _tiered_pair_sql(_scoped(DailyAmbassadorClicks.objects.filter(organization_id=f.organization_id), f),
                                _scoped(WeeklyAmbassadorClicks.objects.filter(organization_id=f.organization_id), f),
                                f, now.period.start, by, fields)
    table = (DailyAmbassadorClicks if f.campaign_ids is None and set(by) <= AMBASSADOR_CLICK_KEYS
             else DailyClickRollup)
    queryset = _scoped(table.objects.filter(organization_id=f.organization_id, day__gte=f.period.start,
                                            day__lte=f.period.end), f)
    return _pair_sql(queryset, by, fields, Sum, Q(day__gte=now.period.start))


def click_sums_pair(now: ReportFilter, before: ReportFilter, by: tuple[str, ...] = ("ambassador_id",), *,
                    fields: tuple[str, ...] = CLICK_FIELDS) -> tuple[dict, dict]:
    """click_sums(now, by) and click_sums(before, by) in one query (only `fields`); `before` is
    the period just before."""
    rows = _fetch(click_pair_sql(now, before, by, fields=fields))
    if fields == CLICK_FIELDS[:len(fields)]:  # the usual case, positional: thousands of rows
        def make(*values) -> ClickTotals:
            return ClickTotals(*[int(value or 0) for value in values])
    else:
        def make(*values) -> ClickTotals:
            return ClickTotals(**{name: int(value or 0) for name, value in zip(fields, values, strict=True)})
    return _split(rows, by, fields, make)


CREDIT_COLUMNS = ("leads", "customers", "revenue_cents")


def credit_pair_sql(now: ReportFilter, before: ReportFilter, by: tuple[str, ...] = ("ambassador_id",), *,
                    active: tuple[int, str] | None = None) -> tuple[str, list]:
    """The SQL of credit_sums_pair: columns `by`…, then `{name}__now`, `{name}__before` for leads,
    customers (both in 1/10,000) and revenue_cents."""
    f = _union(now, before)
    version, reporting_model = active or active_version(f.organization_id)
    of_model = {"organization_id": f.organization_id, "version": version, "model": f.model or reporting_model}
    if _ambassador_tiers(f, by):
        return _tiered_pair_sql(_scoped(DailyAmbassadorCredits.objects.filter(**of_model), f),
                                _scoped(WeeklyAmbassadorCredits.objects.filter(**of_model), f),
                                f, now.period.start, by, CREDIT_COLUMNS)
    table = _credit_table(f, by)
    queryset = _scoped(table.objects.filter(**of_model, day__gte=f.period.start, day__lte=f.period.end), f)
    return _pair_sql(queryset, by, CREDIT_COLUMNS, Sum, Q(day__gte=now.period.start))


def credit_sums_pair(now: ReportFilter, before: ReportFilter, by: tuple[str, ...] = ("ambassador_id",), *,
                     active: tuple[int, str] | None = None) -> tuple[dict, dict]:
    """credit_sums(now, by) and credit_sums(before, by) in one query."""
    return _split(_fetch(credit_pair_sql(now, before, by, active=active)), by, CREDIT_COLUMNS, _credits)


def share_pair_sql(now: ReportFilter, before: ReportFilter,
                   by: tuple[str, ...] = ("ambassador_id",)) -> tuple[str, list]:
    """The SQL of share_counts_pair: columns `by`…, `id__now`, `id__before` (counts, 0 for none)."""
    f = _union(now, before)
    queryset = _scoped(ShareEvent.objects.filter(organization_id=f.organization_id, shared_at__gte=f.period.start_at,
                                                 shared_at__lt=f.period.end_at), f)
    return _pair_sql(queryset, by, ("id",), Count, Q(shared_at__gte=now.period.start_at))


def share_counts_pair(now: ReportFilter, before: ReportFilter,
                      by: tuple[str, ...] = ("ambassador_id",)) -> tuple[dict, dict]:
    """share_counts(now, by) and share_counts(before, by) in one query."""
    parts = _split(_fetch(share_pair_sql(now, before, by)), by, ("id",), _count)
    # COUNT is 0, not NULL, for a period without rows: keep the keys that have shares.
    return tuple({key: value for key, value in part.items() if value} for part in parts)


# --- one period, per ambassador, as SQL (the open days a ranking snapshot doesn't hold) ---------

def _period_sql(queryset, names: tuple[str, ...], aggregate) -> tuple[str, list]:
    """GROUP BY ambassador_id with each name summed as `{name}__now` (the pair SQL's columns)."""
    columns = {f"{name}__now": Cast(aggregate(name), BigIntegerField()) for name in names}
    sql, params = (queryset.values("ambassador_id").order_by().annotate(**columns)
                   .values_list("ambassador_id", *columns).query.sql_with_params())
    return sql, list(params)


def click_period_sql(f: ReportFilter, fields: tuple[str, ...] = CLICK_FIELDS) -> tuple[str, list]:
    queryset = _scoped(DailyAmbassadorClicks.objects.filter(organization_id=f.organization_id, day__gte=f.period.start,
                                                            day__lte=f.period.end), f)
    return _period_sql(queryset, fields, Sum)


def credit_period_sql(f: ReportFilter, *, active: tuple[int, str] | None = None) -> tuple[str, list]:
    version, reporting_model = active or active_version(f.organization_id)
    queryset = _scoped(DailyAmbassadorCredits.objects.filter(
        organization_id=f.organization_id, version=version, model=f.model or reporting_model,
        day__gte=f.period.start, day__lte=f.period.end), f)
    return _period_sql(queryset, CREDIT_COLUMNS, Sum)


def share_period_sql(f: ReportFilter) -> tuple[str, list]:
    queryset = _scoped(ShareEvent.objects.filter(organization_id=f.organization_id, shared_at__gte=f.period.start_at,
                                                 shared_at__lt=f.period.end_at), f)
    return _period_sql(queryset, ("id",), Count)


def spend_sums(f: ReportFilter, by: tuple[str, ...] = ("campaign_id",)) -> dict[tuple, Decimal]:
    """The campaigns' cost ledger in the period (by the cost's date)."""
    queryset = CampaignCost.objects.filter(organization_id=f.organization_id, date__gte=f.period.start,
                                           date__lte=f.period.end)
    if f.campaign_ids is not None:
        queryset = queryset.filter(campaign_id__in=f.campaign_ids)
    field_map = {"campaign_id": "campaign_id", "day": "date", "category": "category"}
    rows = _group(queryset, [field_map[field] for field in by], amount=Sum("amount"))
    return {tuple(row[field_map[field]] for field in by): row["amount"] or Decimal("0.00") for row in rows}


def merge(*sources: dict[tuple, object]) -> set[tuple]:
    """Every key found in any of the sources."""
    keys: set[tuple] = set()
    for source in sources:
        keys.update(source)
    return keys


def group_by_first(source: dict[tuple, object]) -> dict[object, dict[tuple, object]]:
    """{(a, b): v} → {a: {(b,): v}}."""
    grouped: dict[object, dict[tuple, object]] = defaultdict(dict)
    for key, value in source.items():
        grouped[key[0]][key[1:]] = value
    return grouped
