"""The rollup tables, kept in step with the rows they sum: this module owns every one of them.

Two detailed rollups, written by the transaction that writes the rows they count, so reports
never count clicks or sum credits on a page view:

* DailyClickRollup: clicks per campaign × ambassador × channel × local day (click processing);
* DailyCreditRollup: credits per version × model × local day × campaign × ambassador (attribution);
* DailyChannelCredits: credits per version × model × local day × campaign × channel (attribution,
  from the same rows: `channel_credit_deltas`, `add_channel_credits`).

And summaries derived from each, in the same transaction: per ambassador, daily and weekly
(DailyAmbassadorClicks/Credits, WeeklyAmbassadorClicks/Credits: a leaderboard over a
1,000-ambassador programme reads ~30,000 rows for a month instead of ~300,000, and with the
weekly rows fewer again), per campaign (DailyCampaignCredits, for campaign ROI) and per campaign
and channel (DailyChannelClicks, for the channel split). A
summary's key is the detailed key's columns it keeps (a `week` is its `day`'s Monday); the
others are summed over.

One write path: a writer computes signed deltas per detailed key from the rows it removed and
added (`click_deltas`, `credit_deltas`); `add_clicks` / `add_credits` add them to the detailed
table and its summaries, each through `upsert`: one ``INSERT … ON CONFLICT DO UPDATE SET
x = x + excluded.x`` per table, keys in key order (two transactions adding to the same keys lock
them in the same order and never deadlock). Rewriting identical rows adds nothing, so a retried
write never counts twice. `delete_stale_versions` drops the credit rollups of dropped versions;
`rebuild()` recomputes the summaries from the detailed rollups (the migrations that created
them, and tests that write detailed rollups directly).

The rows the deltas are computed from have named fields: ClickRow (a Click as click processing
inserts it, CLICK_COLUMNS) and CreditRow (a Credit as attribution writes it, CREDIT_COLUMNS).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import NamedTuple

from django.db import connection, models

from tracking.models import (
    Credit,
    CreditKind,
    DailyAmbassadorClicks,
    DailyAmbassadorCredits,
    DailyCampaignCredits,
    DailyChannelClicks,
    DailyChannelCredits,
    DailyClickRollup,
    DailyCreditRollup,
    WeeklyAmbassadorClicks,
    WeeklyAmbassadorCredits,
)
from tracking.services import history

# --- the rows rollups count -------------------------------------------------------------------


@dataclass(slots=True)
class ClickRow:
    """A Click row as click processing inserts it (fields in CLICK_COLUMNS order, the COPY's).
    Mutable: is_unique is decided after classification."""

    organization_id: int
    click_id: str
    link_id: int
    campaign_id: int
    ambassador_id: int
    clicked_at: datetime
    day: date
    visitor_id: str
    ip_hash: str
    user_agent: str
    referrer_host: str
    channel: str
    is_head: bool
    is_bot: bool
    bot_reason: str
    is_self: bool
    is_unique: bool
    device: str
    browser: str
    os: str


CLICK_COLUMNS = tuple(field.name for field in fields(ClickRow))
click_values: Callable[[ClickRow], tuple] = attrgetter(*CLICK_COLUMNS)  # a row's values, in that order


class CreditRow(NamedTuple):
    """A Credit row as attribution writes it (fields in CREDIT_COLUMNS order, the COPY's)."""

    organization_id: int
    kind: str
    customer_id: int
    sale_id: int | None
    model: str
    ambassador_id: int
    link_id: int
    campaign_id: int
    amount: Decimal
    lead_share: Decimal
    converted_at: datetime
    version: int
    channel: str  # the channel of the touch(es) the row stands on (tracking.models.CreditChannel)
    # A sale in another currency: this credit's cents of the sale's original amount (issue 17); else None.
    original_amount: Decimal | None = None


CREDIT_COLUMNS = CreditRow._fields

# --- the tables -------------------------------------------------------------------------------

CLICK_SUMS = ("total", "clicks", "unique_clicks", "bot_clicks", "self_clicks")
CREDIT_SUMS = ("leads", "customers", "revenue_cents")

_PG_TYPES = {"BigIntegerField": "int8", "PositiveIntegerField": "int4", "CharField": "text", "DateField": "date"}
_SQLITE_PARAMS = 900  # Django assumes SQLite's historical limit of 999 parameters

Key = tuple  # a rollup key: the table's `key` columns, in that order
Deltas = Mapping[Key, Sequence[int]]  # signed deltas per key, in the table's `sums` order


class Table:
    """One rollup table and the statements that add deltas to it.

    `key`: the columns of its unique constraint after the organisation, in the constraint's
    order (the conflict target, and the order in which rows are written and so locked). `sums`:
    the columns it adds up. A summary table names its `source` (the detailed table): its key
    is picked from the source's key by name, `week` being the Monday of the source's `day`."""

    def __init__(self, model: type[models.Model], sums: tuple[str, ...], source: Table | None = None):
        (constraint,) = model._meta.constraints  # a rollup's only constraint is its key
        assert constraint.fields[0] == "organization"  # noqa: S101
        self.model = model
        self.name = model._meta.db_table
        self.key = tuple(constraint.fields[1:])
        self.sums = sums
        self.summaries: list[Table] = []
        # Counts that may not go negative (PositiveIntegerField): a row with a negative count may
        # not even be proposed for insertion, so decrements update the rows that exist.
        self.unsigned = any(isinstance(model._meta.get_field(name), models.PositiveIntegerField) for name in sums)
        self.project: Callable[[Key], Key] | None = None
        if source is not None:
            source.summaries.append(self)
            self.project = _projection(source.key, self.key)

        columns = ("organization_id", *self.key, *sums)
        types = [_PG_TYPES[model._meta.get_field(name).get_internal_type()] for name in (*self.key, *sums)]
        self.width = len(columns)
        head = f"INSERT INTO {self.name} ({', '.join(columns)}) "
        tail = (f" ON CONFLICT ({', '.join(columns[:1 + len(self.key)])}) DO UPDATE SET "
                + ", ".join(f"{name} = {self.name}.{name} + excluded.{name}" for name in sums))
        # PostgreSQL: one array per column, so a handful of placeholders however many keys (a
        # VALUES list of thousands of placeholders costs more to build than to run). `%b`: the
        # binary arrays of a psycopg cursor with server-side binding (click processing's).
        self.pg_sql = {placeholder: head + "SELECT %s, * FROM unnest("  # noqa: S608 - names are the models'
                       + ", ".join(f"{placeholder}::{t}[]" for t in types) + ")" + tail
                       for placeholder in ("%s", "%b")}
        self.sqlite_head, self.sqlite_tail = head + "VALUES ", tail
        self.decrement_sql = None if not self.unsigned else (
            f"UPDATE {self.name} SET "  # noqa: S608
            + ", ".join(f"{name} = {name} + %s" for name in sums)
            + " WHERE " + " AND ".join(f"{name} = %s" for name in columns[:1 + len(self.key)]))

    def __repr__(self) -> str:
        return f"<Table {self.name}>"


def week_of(day: date | str) -> date:
    """The Monday of `day`'s week (a date or an ISO string): a weekly rollup row's `week`."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return day - timedelta(days=day.weekday())


def _projection(source_key: tuple[str, ...], key: tuple[str, ...]) -> Callable[[Key], Key]:
    """Source key → summary key."""
    pick = itemgetter(*(source_key.index("day" if name == "week" else name) for name in key))
    if "week" not in key:
        return pick
    at = key.index("week")

    def project(source: Key) -> Key:
        picked = pick(source)
        return (*picked[:at], week_of(picked[at]), *picked[at + 1:])
    return project


DAILY_CLICKS = Table(DailyClickRollup, CLICK_SUMS)
DAILY_AMBASSADOR_CLICKS = Table(DailyAmbassadorClicks, CLICK_SUMS, source=DAILY_CLICKS)
WEEKLY_AMBASSADOR_CLICKS = Table(WeeklyAmbassadorClicks, CLICK_SUMS, source=DAILY_CLICKS)
DAILY_CREDITS = Table(DailyCreditRollup, CREDIT_SUMS)
DAILY_AMBASSADOR_CREDITS = Table(DailyAmbassadorCredits, CREDIT_SUMS, source=DAILY_CREDITS)
WEEKLY_AMBASSADOR_CREDITS = Table(WeeklyAmbassadorCredits, CREDIT_SUMS, source=DAILY_CREDITS)
DAILY_CAMPAIGN_CREDITS = Table(DailyCampaignCredits, CREDIT_SUMS, source=DAILY_CREDITS)
DAILY_CHANNEL_CLICKS = Table(DailyChannelClicks, CLICK_SUMS, source=DAILY_CLICKS)
# A detailed table of its own (DailyCreditRollup has no channel), written after DAILY_CREDITS.
DAILY_CHANNEL_CREDITS = Table(DailyChannelCredits, CREDIT_SUMS)

# --- the one write path -----------------------------------------------------------------------


def upsert(table: Table, organization_id: int, deltas: Deltas, *, cursor=None) -> None:
    """Add signed deltas to `table`, key by key in key order; keys whose deltas are all zero
    are left out. `cursor`: a psycopg cursor of Django's connection (PostgreSQL, inside the
    caller's transaction) to send binary arrays through; Django's cursor otherwise."""
    increments: list[tuple] = []
    decrements: list[tuple] = []
    for key, counts in sorted(deltas.items()):
        if not table.unsigned:
            if any(counts):
                increments.append((*key, *counts))
            continue
        if any(count > 0 for count in counts):
            increments.append((*key, *(max(count, 0) for count in counts)))
        if any(count < 0 for count in counts):
            decrements.append((*(min(count, 0) for count in counts), organization_id, *key))
    if not increments and not decrements:
        return
    if connection.vendor == "postgresql":
        if cursor is None:
            with connection.cursor() as django_cursor:
                _upsert_pg(table, organization_id, increments, decrements, django_cursor, "%s")
        else:
            _upsert_pg(table, organization_id, increments, decrements, cursor, "%b")
        return
    # SQLite: VALUES lists in chunks (dates go through Django's adapter: ISO text).
    with connection.cursor() as django_cursor:
        per_chunk = _SQLITE_PARAMS // table.width
        for start in range(0, len(increments), per_chunk):
            chunk = increments[start:start + per_chunk]
            values = ", ".join(["(" + ", ".join(["%s"] * table.width) + ")"] * len(chunk))
            params = [value for row in chunk for value in (organization_id, *row)]
            django_cursor.execute(table.sqlite_head + values + table.sqlite_tail, params)
        if decrements:
            django_cursor.executemany(table.decrement_sql, decrements)


def _upsert_pg(table: Table, organization_id: int, increments: list[tuple], decrements: list[tuple], cursor,
               placeholder: str) -> None:
    if increments:
        columns = [list(column) for column in zip(*increments, strict=True)]
        cursor.execute(table.pg_sql[placeholder], [organization_id, *columns])
    if decrements:
        cursor.executemany(table.decrement_sql, decrements)


def _summed(deltas: Iterable[tuple[Key, Sequence[int]]], project: Callable[[Key], Key]) -> dict[Key, list[int]]:
    """Deltas summed per projected key."""
    summed: dict[Key, list[int]] = {}
    for key, counts in deltas:
        key = project(key)
        row = summed.get(key)
        if row is None:
            summed[key] = list(counts)
        else:
            for index, count in enumerate(counts):
                row[index] += count
    return summed


def add_summaries(table: Table, organization_id: int, deltas: Deltas, *, cursor=None) -> None:
    """Add deltas keyed like the detailed `table`'s to each of its summaries (and raise the
    history generation if a closed day changed: tracking.services.history)."""
    for summary in table.summaries:
        upsert(summary, organization_id, _summed(deltas.items(), summary.project), cursor=cursor)
    _note_days(table, organization_id, deltas)


def _note_days(table: Table, organization_id: int, deltas: Deltas) -> None:
    position = table.key.index("day")
    history.note_days(organization_id, {key[position] for key, counts in deltas.items() if any(counts)})


def _add(table: Table, organization_id: int, deltas: Deltas, cursor=None) -> None:
    # The summaries first, then the detailed table: every writer in the same order.
    add_summaries(table, organization_id, deltas, cursor=cursor)
    upsert(table, organization_id, deltas, cursor=cursor)
    if not table.summaries:  # add_summaries noted the days already otherwise
        _note_days(table, organization_id, deltas)


# --- clicks -----------------------------------------------------------------------------------


def click_deltas(rows: Iterable[ClickRow], uniqueness: Iterable[tuple[bool, Key]] = ()) -> dict[Key, list[int]]:
    """Deltas per DailyClickRollup key (campaign_id, ambassador_id, channel, day), counts in
    CLICK_SUMS order, from the Click rows inserted and the uniqueness changes of earlier clicks
    ((unique now, their key))."""
    deltas: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for row in rows:
        delta = deltas[(row.campaign_id, row.ambassador_id, row.channel, row.day)]
        delta[0] += 1
        if row.is_bot:
            delta[3] += 1
        elif row.is_self:
            delta[4] += 1
        else:
            delta[1] += 1
            if row.is_unique:
                delta[2] += 1
    for unique, key in uniqueness:
        deltas[key][2] += 1 if unique else -1
    return deltas


def add_clicks(organization_id: int, deltas: Deltas, *, cursor=None) -> None:
    """Add click deltas (see click_deltas) to DailyClickRollup and its summaries. Increments go
    through one upsert per table; decrements of DailyClickRollup (a late click made an earlier
    one non-unique) update rows that exist already, its counts being unsigned."""
    _add(DAILY_CLICKS, organization_id, deltas, cursor)


# --- credits ----------------------------------------------------------------------------------


def credit_deltas(removed: Iterable[CreditRow], added: Iterable[CreditRow], tz: tzinfo) -> dict[Key, list[int]]:
    """Deltas per DailyCreditRollup key (version, model, day, campaign_id, ambassador_id), in
    CREDIT_SUMS order: leads and customers in 1/10,000, revenue in cents (zero keys left out)."""
    return _credit_deltas(removed, added, tz, lambda row, day: (row.version, row.model, day, row.campaign_id,
                                                                  row.ambassador_id))


def channel_credit_deltas(removed: Iterable[CreditRow], added: Iterable[CreditRow],
                          tz: tzinfo) -> dict[Key, list[int]]:
    """Deltas per DailyChannelCredits key (version, model, day, campaign_id, channel), as
    credit_deltas."""
    return _credit_deltas(removed, added, tz, lambda row, day: (row.version, row.model, day, row.campaign_id,
                                                                  row.channel))


def _credit_deltas(removed: Iterable[CreditRow], added: Iterable[CreditRow], tz: tzinfo,
                   key_of: Callable[[CreditRow, date], Key]) -> dict[Key, list[int]]:
    totals: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0])
    days: dict = {}  # converted_at → local day: a conversion's rows share their instant
    for rows, sign in ((removed, -1), (added, 1)):
        for row in rows:
            moment = row.converted_at
            day = days.get(moment)
            if day is None:
                day = days[moment] = moment.astimezone(tz).date()
            key = key_of(row, day)
            kind = row.kind
            if kind == CreditKind.LEAD:
                totals[key][0] += sign * int(row.lead_share.scaleb(4))
            elif kind == CreditKind.CUSTOMER:
                totals[key][1] += sign * int(row.lead_share.scaleb(4))
            else:
                totals[key][2] += sign * int(row.amount.scaleb(2))
    return {key: values for key, values in totals.items() if any(values)}


def add_credits(organization_id: int, deltas: Deltas) -> None:
    """Add credit deltas (see credit_deltas) to DailyCreditRollup and its summaries."""
    _add(DAILY_CREDITS, organization_id, deltas)


def add_channel_credits(organization_id: int, deltas: Deltas) -> None:
    """Add channel credit deltas (see channel_credit_deltas) to DailyChannelCredits. Writers call
    it after add_credits (one order for every writer)."""
    _add(DAILY_CHANNEL_CREDITS, organization_id, deltas)


def delete_stale_versions(organization_id: int, live: list[int]) -> None:
    """Delete the credit rollups of every version not in `live` (their credits are gone)."""
    for table in (DAILY_CREDITS, *DAILY_CREDITS.summaries, DAILY_CHANNEL_CREDITS):
        table.model.objects.filter(organization_id=organization_id).exclude(version__in=live).delete()
    history.raise_generation(organization_id)


# --- rebuilding -------------------------------------------------------------------------------


def rebuild(organization_id: int) -> None:
    """Recompute the summary tables of one organisation from the detailed rollups."""
    history.raise_generation(organization_id)
    for table in (DAILY_CLICKS, DAILY_CREDITS):
        for summary in table.summaries:
            summary.model.objects.filter(organization_id=organization_id).delete()
    for table in (DAILY_CLICKS, DAILY_CREDITS):
        width = len(table.key)
        rows = table.model.objects.filter(organization_id=organization_id).values_list(*table.key, *table.sums)
        deltas = {tuple(row[:width]): row[width:] for row in rows.iterator()}
        add_summaries(table, organization_id, deltas)


def rebuild_channel_credits(organization_id: int, tz: tzinfo) -> None:
    """Recompute DailyChannelCredits of one organisation from its Credit rows (every version)."""
    history.raise_generation(organization_id)
    DAILY_CHANNEL_CREDITS.model.objects.filter(organization_id=organization_id).delete()
    rows = Credit.objects.filter(organization_id=organization_id).values_list(*CREDIT_COLUMNS)
    upsert(DAILY_CHANNEL_CREDITS, organization_id,
           channel_credit_deltas((), map(CreditRow._make, rows.iterator()), tz))
