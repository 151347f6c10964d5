"""DailyCreditRollup, kept in step with the Credit rows: whoever rewrites credits passes the
rows it removed and the rows it added, and the difference per rollup key is added with one
``INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x`` in the same transaction. Rewriting
identical credits adds nothing, so a retried attribution never counts twice.

Rows are tuples in tracking.services.attribution.CREDIT_COLUMNS order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import tzinfo

from django.db import connection

from tracking.models import CreditKind, DailyCreditRollup
from tracking.services import ambassador_rollups

assert DailyCreditRollup._meta.db_table == "tracking_dailycreditrollup"  # noqa: S101 - named in the SQL

# Positions in CREDIT_COLUMNS.
_ORG, _KIND, _MODEL, _AMBASSADOR, _CAMPAIGN, _AMOUNT, _SHARE, _AT, _VERSION = 0, 1, 4, 5, 7, 8, 9, 10, 11

Key = tuple  # (version, model, day, campaign_id, ambassador_id)


def deltas(removed: Iterable[tuple], added: Iterable[tuple], tz: tzinfo) -> dict[Key, list[int]]:
    """[leads, customers, revenue_cents] to add per key (zero keys left out)."""
    totals: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0])
    days: dict = {}  # converted_at → local day: a conversion's rows share their instant
    for rows, sign in ((removed, -1), (added, 1)):
        for row in rows:
            moment = row[_AT]
            day = days.get(moment)
            if day is None:
                day = days[moment] = moment.astimezone(tz).date()
            key = (row[_VERSION], row[_MODEL], day, row[_CAMPAIGN], row[_AMBASSADOR])
            kind = row[_KIND]
            if kind == CreditKind.LEAD:
                totals[key][0] += sign * int(row[_SHARE].scaleb(4))
            elif kind == CreditKind.CUSTOMER:
                totals[key][1] += sign * int(row[_SHARE].scaleb(4))
            else:
                totals[key][2] += sign * int(row[_AMOUNT].scaleb(2))
    return {key: values for key, values in totals.items() if any(values)}


_UPSERT_HEAD = """
    INSERT INTO tracking_dailycreditrollup (organization_id, version, model, day, campaign_id, ambassador_id,
                                            leads, customers, revenue_cents)
    VALUES """
_UPSERT_TAIL = """
    ON CONFLICT (organization_id, version, model, day, campaign_id, ambassador_id) DO UPDATE SET
        leads = tracking_dailycreditrollup.leads + excluded.leads,
        customers = tracking_dailycreditrollup.customers + excluded.customers,
        revenue_cents = tracking_dailycreditrollup.revenue_cents + excluded.revenue_cents
"""
_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s)"
# PostgreSQL: one array per column, so the statement has ten placeholders however many keys
# (a VALUES list of thousands of placeholders cost more to build than to run).
_PG_ROWS = """
    SELECT %s, * FROM unnest(%s::int8[], %s::text[], %s::date[], %s::int8[], %s::int8[],
                             %s::int8[], %s::int8[], %s::int8[])
"""
_CHUNK = 500


def apply(organization_id: int, changes: dict[Key, list[int]]) -> None:
    """Add the deltas, in key order (two transactions adding to the same keys then lock them
    in the same order and never deadlock)."""
    items = sorted(changes.items())
    if not items:
        return
    ambassador_rollups.add_credit_deltas(organization_id, items)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [list(column) for column in zip(*(key + tuple(values) for key, values in items), strict=True)]
            cursor.execute(_UPSERT_HEAD.replace("VALUES ", "") + _PG_ROWS + _UPSERT_TAIL, [organization_id, *columns])
            return
        for start in range(0, len(items), _CHUNK):
            chunk = items[start:start + _CHUNK]
            params: list = []
            for (version, model, day, campaign_id, ambassador_id), (leads, customers, cents) in chunk:
                params += [organization_id, version, model, day, campaign_id, ambassador_id, leads, customers, cents]
            cursor.execute(_UPSERT_HEAD + ", ".join([_ROW] * len(chunk)) + _UPSERT_TAIL, params)
