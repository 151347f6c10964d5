"""The history generation (tracking.models.HistoryGeneration): which writes change a closed
day, and raising the organisation's counter when one does.

A day counts as closed for a write if it is before the organisation's local day of
now + HISTORY_MARGIN: a write to today in the last minutes before midnight may commit after
midnight, when a cache of "every day before today" could already have read around it, so it
raises the counter too. The counter is raised in the writer's transaction, after its rows: a
reader that sees the new generation sees the rows as well.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo

from django.db import connection
from django.utils import timezone

from tenancy.models import Organization

HISTORY_MARGIN = timedelta(minutes=10)
ZONE_CACHE_SECONDS = 60  # an organisation's time zone, per process: rollup writers ask on every batch
_zones: dict[int, tuple[tzinfo, float]] = {}


def _zone(organization_id: int) -> tzinfo:
    cached = _zones.get(organization_id)
    now = time.monotonic()
    if cached is not None and cached[1] > now:
        return cached[0]
    tz = Organization.objects.only("time_zone").get(pk=organization_id).tzinfo
    _zones[organization_id] = (tz, now + ZONE_CACHE_SECONDS)
    return tz


def horizon(tz: tzinfo, now: datetime | None = None) -> date:
    """The first local day a write may change without raising the counter."""
    return ((now or timezone.now()) + HISTORY_MARGIN).astimezone(tz).date()


def touches_history(organization_id: int, days: Iterable[date | str], *, tz: tzinfo | None = None) -> bool:
    days = [date.fromisoformat(day) if isinstance(day, str) else day for day in days]
    if not days:
        return False
    return min(days) < horizon(tz or _zone(organization_id))


def raise_generation(organization_id: int) -> None:
    """History changed: raise the organisation's counter (one upsert, in the caller's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_historygeneration (organization_id, generation, changed_at) VALUES (%s, 1, %s) "
            "ON CONFLICT (organization_id) DO UPDATE SET generation = tracking_historygeneration.generation + 1, "
            "changed_at = excluded.changed_at", [organization_id, timezone.now()])


def note_days(organization_id: int, days: Iterable[date | str], *, tz: tzinfo | None = None) -> None:
    """A writer changed the sums of these local days: raise the counter if any is closed."""
    if touches_history(organization_id, days, tz=tz):
        raise_generation(organization_id)


def note_moments(organization_id: int, moments: Iterable[datetime]) -> None:
    """A writer changed rows stamped with these instants (shares): raise the counter if any
    falls on a closed day."""
    moments = list(moments)
    if not moments:
        return
    tz = _zone(organization_id)
    if min(moments).astimezone(tz).date() < horizon(tz):
        raise_generation(organization_id)


def generation(organization_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT generation FROM tracking_historygeneration WHERE organization_id = %s",
                       [organization_id])
        row = cursor.fetchone()
    return row[0] if row else 0
