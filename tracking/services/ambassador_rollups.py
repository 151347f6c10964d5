"""Per-ambassador daily rollups (DailyAmbassadorClicks, DailyAmbassadorCredits): the detailed
rollups summed over campaigns and channels, so a leaderboard over a 1,000-ambassador
programme reads ~30,000 rows for a month instead of ~300,000 (bench/reports).

Writers add signed deltas in the transaction that changes the detailed rollup
(click processing, attribution); `rebuild()` recomputes them from the detailed rollups (the
migration that created them, and tests that write detailed rollups directly)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection
from django.db.models import Sum

from tracking.models import DailyAmbassadorClicks, DailyAmbassadorCredits, DailyClickRollup, DailyCreditRollup

CLICK_FIELDS = ("total", "clicks", "unique_clicks", "bot_clicks", "self_clicks")
CREDIT_FIELDS = ("leads", "customers", "revenue_cents")

assert DailyAmbassadorClicks._meta.db_table == "tracking_dailyambassadorclicks"  # noqa: S101 - named in the SQL
assert DailyAmbassadorCredits._meta.db_table == "tracking_dailyambassadorcredits"  # noqa: S101

_CLICKS_HEAD = """
    INSERT INTO tracking_dailyambassadorclicks (organization_id, ambassador_id, day, total, clicks, unique_clicks,
                                                bot_clicks, self_clicks)
"""
_CLICKS_PG = "SELECT %s, * FROM unnest(%s::int8[], %s::date[], %s::int8[], %s::int8[], %s::int8[], %s::int8[], " \
             "%s::int8[])"
_CLICKS_TAIL = """
    ON CONFLICT (organization_id, day, ambassador_id) DO UPDATE SET
        total = tracking_dailyambassadorclicks.total + excluded.total,
        clicks = tracking_dailyambassadorclicks.clicks + excluded.clicks,
        unique_clicks = tracking_dailyambassadorclicks.unique_clicks + excluded.unique_clicks,
        bot_clicks = tracking_dailyambassadorclicks.bot_clicks + excluded.bot_clicks,
        self_clicks = tracking_dailyambassadorclicks.self_clicks + excluded.self_clicks
"""
_CREDITS_HEAD = """
    INSERT INTO tracking_dailyambassadorcredits (organization_id, version, model, ambassador_id, day, leads,
                                                 customers, revenue_cents)
"""
_CREDITS_PG = "SELECT %s, * FROM unnest(%s::int8[], %s::text[], %s::int8[], %s::date[], %s::int8[], %s::int8[], " \
              "%s::int8[])"
_CREDITS_TAIL = """
    ON CONFLICT (organization_id, version, model, day, ambassador_id) DO UPDATE SET
        leads = tracking_dailyambassadorcredits.leads + excluded.leads,
        customers = tracking_dailyambassadorcredits.customers + excluded.customers,
        revenue_cents = tracking_dailyambassadorcredits.revenue_cents + excluded.revenue_cents
"""
_SQLITE_CHUNK = 100


def _upsert(organization_id: int, rows: list[tuple], head: str, pg_rows: str, tail: str) -> None:
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [list(column) for column in zip(*rows, strict=True)]
            cursor.execute(head + pg_rows + tail, [organization_id, *columns])
            return
        width = len(rows[0]) + 1
        for start in range(0, len(rows), _SQLITE_CHUNK):
            chunk = rows[start:start + _SQLITE_CHUNK]
            values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(chunk))
            params = [value for row in chunk for value in (organization_id, *row)]
            cursor.execute(head + "VALUES " + values + tail, params)


def add_click_deltas(organization_id: int, deltas: Iterable[tuple[tuple, list[int]]]) -> None:
    """Deltas keyed like DailyClickRollup's (campaign_id, ambassador_id, channel, day), counts in
    CLICK_FIELDS order; summed per (ambassador, day) and added in key order."""
    summed: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(CLICK_FIELDS))
    for (_, ambassador_id, _, day), counts in deltas:
        row = summed[(ambassador_id, day)]
        for index, count in enumerate(counts):
            row[index] += count
    _upsert(organization_id, [(*key, *counts) for key, counts in sorted(summed.items()) if any(counts)],
            _CLICKS_HEAD, _CLICKS_PG, _CLICKS_TAIL)


def add_credit_deltas(organization_id: int, deltas: Iterable[tuple[tuple, list[int]]]) -> None:
    """Deltas keyed like DailyCreditRollup's (version, model, day, campaign_id, ambassador_id)."""
    summed: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(CREDIT_FIELDS))
    for (version, model, day, _, ambassador_id), counts in deltas:
        row = summed[(version, model, ambassador_id, day)]
        for index, count in enumerate(counts):
            row[index] += count
    _upsert(organization_id, [(*key, *counts) for key, counts in sorted(summed.items()) if any(counts)],
            _CREDITS_HEAD, _CREDITS_PG, _CREDITS_TAIL)


def rebuild(organization_id: int) -> None:
    """Recompute both tables of one organisation from the detailed rollups."""
    DailyAmbassadorClicks.objects.filter(organization_id=organization_id).delete()
    DailyAmbassadorCredits.objects.filter(organization_id=organization_id).delete()
    clicks = (DailyClickRollup.objects.filter(organization_id=organization_id).values("ambassador_id", "day")
              .order_by().annotate(**{name: Sum(name) for name in CLICK_FIELDS}))
    DailyAmbassadorClicks.objects.bulk_create(
        [DailyAmbassadorClicks(organization_id=organization_id, **row) for row in clicks], batch_size=2000)
    credits = (DailyCreditRollup.objects.filter(organization_id=organization_id)
               .values("version", "model", "ambassador_id", "day").order_by()
               .annotate(**{name: Sum(name) for name in CREDIT_FIELDS}))
    DailyAmbassadorCredits.objects.bulk_create(
        [DailyAmbassadorCredits(organization_id=organization_id, **row) for row in credits], batch_size=2000)
