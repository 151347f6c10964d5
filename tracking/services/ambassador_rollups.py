"""Summary rollups. Per ambassador, daily (DailyAmbassadorClicks, DailyAmbassadorCredits) and
weekly (Weekly…): the detailed rollups summed over campaigns and channels, so a leaderboard
over a 1,000-ambassador programme reads ~30,000 rows for a month instead of ~300,000, and
with the weekly rows fewer again. Per campaign (DailyCampaignCredits): credits summed over
ambassadors, for campaign ROI (bench/reports).

Writers add signed deltas in the transaction that changes the detailed rollup
(click processing, attribution); `rebuild()` recomputes them from the detailed rollups (the
migration that created them, and tests that write detailed rollups directly)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from django.db import connection

from tracking.models import (
    DailyAmbassadorClicks,
    DailyAmbassadorCredits,
    DailyCampaignCredits,
    DailyClickRollup,
    DailyCreditRollup,
    WeeklyAmbassadorClicks,
    WeeklyAmbassadorCredits,
)

CLICK_FIELDS = ("total", "clicks", "unique_clicks", "bot_clicks", "self_clicks")
CREDIT_FIELDS = ("leads", "customers", "revenue_cents")

_TABLES = {
    DailyAmbassadorClicks: "tracking_dailyambassadorclicks",
    DailyAmbassadorCredits: "tracking_dailyambassadorcredits",
    DailyCampaignCredits: "tracking_dailycampaigncredits",
    WeeklyAmbassadorClicks: "tracking_weeklyambassadorclicks",
    WeeklyAmbassadorCredits: "tracking_weeklyambassadorcredits",
}
for _model, _table in _TABLES.items():  # the SQL below names them
    assert _model._meta.db_table == _table  # noqa: S101


def week_of(day: date | str) -> date:
    """The Monday of `day`'s week (a date or an ISO string): a weekly rollup row's `week`."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return day - timedelta(days=day.weekday())


def _upsert_sql(table: str, key: tuple[str, ...], fields: tuple[str, ...]) -> tuple[str, str, str]:
    """(INSERT head, PostgreSQL unnest rows, ON CONFLICT tail) adding signed deltas."""
    columns = ("organization_id", *key, *fields)
    head = f"INSERT INTO {table} ({', '.join(columns)}) "
    types = {"version": "int8", "model": "text", "ambassador_id": "int8", "day": "date", "week": "date"}
    pg_rows = "SELECT %s, * FROM unnest(" + ", ".join(  # noqa: S608 - names are this module's constants
        f"%s::{types.get(name, 'int8')}[]" for name in (*key, *fields)) + ")"
    conflict = ", ".join(("organization_id", *key))
    tail = f" ON CONFLICT ({conflict}) DO UPDATE SET " + ", ".join(
        f"{name} = {table}.{name} + excluded.{name}" for name in fields)
    return head, pg_rows, tail


# Conflict targets in the unique constraints' column order.
_DAILY_CLICKS = _upsert_sql("tracking_dailyambassadorclicks", ("day", "ambassador_id"), CLICK_FIELDS)
_WEEKLY_CLICKS = _upsert_sql("tracking_weeklyambassadorclicks", ("week", "ambassador_id"), CLICK_FIELDS)
_DAILY_CREDITS = _upsert_sql("tracking_dailyambassadorcredits", ("version", "model", "day", "ambassador_id"),
                             CREDIT_FIELDS)
_WEEKLY_CREDITS = _upsert_sql("tracking_weeklyambassadorcredits", ("version", "model", "week", "ambassador_id"),
                              CREDIT_FIELDS)
_DAILY_CAMPAIGN_CREDITS = _upsert_sql("tracking_dailycampaigncredits", ("version", "model", "day", "campaign_id"),
                                      CREDIT_FIELDS)
_SQLITE_CHUNK = 100


def _upsert(organization_id: int, rows: list[tuple], sql: tuple[str, str, str]) -> None:
    if not rows:
        return
    head, pg_rows, tail = sql
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


def _summed(deltas, key_of, width: int) -> list[tuple]:
    """Deltas summed per key, in key order (concurrent writers lock rows in the same order),
    without keys whose deltas cancel out."""
    summed: dict[tuple, list[int]] = defaultdict(lambda: [0] * width)
    for key, counts in deltas:
        row = summed[key_of(key)]
        for index, count in enumerate(counts):
            row[index] += count
    return [(*key, *counts) for key, counts in sorted(summed.items()) if any(counts)]


def add_click_deltas(organization_id: int, deltas: Iterable[tuple[tuple, list[int]]]) -> None:
    """Deltas keyed like DailyClickRollup's (campaign_id, ambassador_id, channel, day), counts in
    CLICK_FIELDS order; summed per (day, ambassador) and per (week, ambassador)."""
    deltas = list(deltas)
    width = len(CLICK_FIELDS)
    _upsert(organization_id, _summed(deltas, lambda k: (k[3], k[1]), width), _DAILY_CLICKS)
    _upsert(organization_id, _summed(deltas, lambda k: (week_of(k[3]), k[1]), width), _WEEKLY_CLICKS)


def add_credit_deltas(organization_id: int, deltas: Iterable[tuple[tuple, list[int]]]) -> None:
    """Deltas keyed like DailyCreditRollup's (version, model, day, campaign_id, ambassador_id):
    summed per ambassador (daily, weekly) and per campaign (daily)."""
    deltas = list(deltas)
    width = len(CREDIT_FIELDS)
    _upsert(organization_id, _summed(deltas, lambda k: (k[0], k[1], k[2], k[4]), width), _DAILY_CREDITS)
    _upsert(organization_id, _summed(deltas, lambda k: (k[0], k[1], week_of(k[2]), k[4]), width),
            _WEEKLY_CREDITS)
    _upsert(organization_id, _summed(deltas, lambda k: (k[0], k[1], k[2], k[3]), width), _DAILY_CAMPAIGN_CREDITS)


def rebuild(organization_id: int) -> None:
    """Recompute the summary tables of one organisation from the detailed rollups."""
    for model in _TABLES:
        model.objects.filter(organization_id=organization_id).delete()
    clicks = DailyClickRollup.objects.filter(organization_id=organization_id).values_list(
        "campaign_id", "ambassador_id", "channel", "day", *CLICK_FIELDS)
    add_click_deltas(organization_id, [(tuple(row[:4]), list(row[4:])) for row in clicks.iterator()])
    credits = DailyCreditRollup.objects.filter(organization_id=organization_id).values_list(
        "version", "model", "day", "campaign_id", "ambassador_id", *CREDIT_FIELDS)
    add_credit_deltas(organization_id, [(tuple(row[:5]), list(row[5:])) for row in credits.iterator()])
