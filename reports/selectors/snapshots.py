"""Ranking snapshots (reports.models.RankingSnapshot): each ambassador's sums over the closed
days of a leaderboard's two periods, read through a cache that is never stale.

A leaderboard ranks every ambassador over a period and the one before it; summing months of
rollups for twenty thousand ambassadors on every view takes longer than a page may. The days
before today rarely change, so their per-ambassador sums are stored once, keyed by everything
they depend on (credits version and model, the days, and the organisation's history generation:
any write to a closed day raises it, tracking.services.history), and a view adds today's rows
to them. The first view of a key builds its snapshot (the same sums as the live query, by the
same SQL); a change to the past makes a new key, so an old snapshot can't be read by mistake.

Not used with a campaign filter (the rows are per ambassador over every campaign): those views
sum the rollups live. Group and kind filters need no snapshot of their own: they choose whose
rows are read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tracking.services import history

from ..filters import ReportFilter
from ..models import RankingSnapshot
from ..periods import Period, local_today
from .base import click_pair_sql, credit_pair_sql, share_pair_sql

KEEP_FOR = timedelta(hours=36)  # a snapshot older than this is deleted when another is built
KEEP_AT_MOST = 40  # per organisation (custom periods each make one)

# Snapshot column stem → (CTE, column stem) of the live pair SQL (reports.selectors.base).
FIGURES = {"shares": ("s", "id"), "clicks": ("c", "clicks"), "unique_clicks": ("c", "unique_clicks"),
           "leads": ("r", "leads"), "customers": ("r", "customers"), "revenue_cents": ("r", "revenue_cents")}
_COLUMNS = [f"{stem}_{part}" for stem in FIGURES for part in ("now", "before")]
_SOURCES = [f"COALESCE({cte}.{column}__{part}, 0)" for cte, column in FIGURES.values() for part in ("now", "before")]


@dataclass(frozen=True)
class Closed:
    """The closed part of a leaderboard's periods: the snapshot's key days, and the open days
    (after closed_end, up to the period's end) a view adds live (None: none)."""

    closed_end: date
    open_period: Period | None


def closed_part(f: ReportFilter, today: date | None = None) -> Closed | None:
    """None when a snapshot can't serve f: a campaign filter, or no closed day in f's period."""
    if f.campaign_ids is not None:
        return None
    today = today or local_today(f.period.tz)
    end = min(f.period.end, today - timedelta(days=1))
    if end < f.period.start:
        return None
    open_period = Period(end + timedelta(days=1), f.period.end, f.period.tz) if end < f.period.end else None
    return Closed(end, open_period)


def snapshot_for(f: ReportFilter, closed: Closed, active: tuple[int, str], model: str) -> RankingSnapshot:
    """The snapshot of f's closed days under credits `model`, built now if there is none."""
    before = f.period.previous()
    key = {"organization_id": f.organization_id, "version": active[0], "model": model,
           "before_start": before.start, "now_start": f.period.start, "closed_end": closed.closed_end,
           "time_zone": str(f.period.tz)}
    # The generation first, then the sums (a write between the two makes a newer generation and
    # the next view rebuilds; the other order could store old sums under a new generation).
    generation = history.generation(f.organization_id)
    found = RankingSnapshot.objects.filter(**key, history_generation=generation).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            snapshot = RankingSnapshot.objects.create(**key, history_generation=generation)
            snapshot.ambassadors = _fill(snapshot, f, closed, active, model)
            snapshot.save(update_fields=["ambassadors"])
    except IntegrityError:  # built meanwhile by another view (the unique key waited for its commit)
        return RankingSnapshot.objects.get(**key, history_generation=generation)
    _prune(f.organization_id, keep=snapshot.pk, generation=generation)
    return snapshot


def _fill(snapshot: RankingSnapshot, f: ReportFilter, closed: Closed, active: tuple[int, str], model: str) -> int:
    """INSERT … SELECT the sums (the leaderboard's live SQL over the closed days) into the rows."""
    everyone = replace(f, group_id=None, kind=None, model=model)
    now = everyone.with_period(Period(f.period.start, closed.closed_end, f.period.tz))
    before = everyone.with_period(f.period.previous())
    parts = {"c": click_pair_sql(now, before, fields=("clicks", "unique_clicks")),
             "r": credit_pair_sql(now, before, active=active),
             "s": share_pair_sql(now, before)}
    ctes, params = [], []
    for name, (sql, source_params) in parts.items():
        ctes.append(f"{name} AS ({sql})")
        params.extend(source_params)
    ctes.append("ids AS (SELECT ambassador_id FROM c UNION SELECT ambassador_id FROM r "
                "UNION SELECT ambassador_id FROM s)")
    joins = " ".join(f"LEFT JOIN {name} ON {name}.ambassador_id = ids.ambassador_id" for name in parts)
    sql = (f"INSERT INTO reports_rankingsnapshotrow (snapshot_id, ambassador_id, {', '.join(_COLUMNS)}) "  # noqa: S608
           f"WITH {', '.join(ctes)} SELECT %s, ids.ambassador_id, {', '.join(_SOURCES)} FROM ids {joins}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, snapshot.pk])
        return cursor.rowcount


def _prune(organization_id: int, *, keep: int, generation: int) -> None:
    """Delete the organisation's snapshots of an older history, those older than KEEP_FOR, and
    any beyond the KEEP_AT_MOST newest."""
    mine = RankingSnapshot.objects.filter(organization_id=organization_id).exclude(pk=keep)
    mine.filter(history_generation__lt=generation).delete()
    mine.filter(created_at__lt=timezone.now() - KEEP_FOR).delete()
    surplus = list(mine.order_by("-created_at", "-pk").values_list("pk", flat=True)[KEEP_AT_MOST - 1:])
    if surplus:
        RankingSnapshot.objects.filter(pk__in=surplus).delete()
