"""Leaderboards and the fair view, from rollups, credits and share events (never raw clicks).

Who is on a leaderboard: every active (approved) ambassador the filter covers, plus any other
ambassador covered (paused, removed …) with activity in the period or the one before.
Activity: a share, a creditable click, or a lead / customer / revenue credited.

Ranks are "competition" ranks: equal values share a rank and the next one skips ("1, 2, 2, 4");
equal rows are listed by name. The previous rank is the rank in the previous period of the
same length among the rows that had activity then (None if they had none: "new"); movement is
previous rank − rank (+2: up two places).

Leads, customers and revenue are credited under the filter's model (default the
organisation's reporting model). The model moves revenue between ambassadors, never the total.
Points always follow the organisation's reporting model (see points.py).

The fair view compares groups and kinds by averages per *active* ambassador: an ambassador is
active in a period if they shared at least once or got at least one creditable click (bot and
self clicks don't make anyone active, so clicking one's own link can't game the averages).
Credits can come in without activity (a lead from an older click), so an average over zero
active ambassadors is None, not a division by zero."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from ambassadors.models import Ambassador, AmbassadorGroup, Kind, Status
from tracking.models import AttributionModel
from tracking.selectors import active_version

from ..figures import Activity, ClickTotals, CreditTotals
from ..filters import ReportFilter
from .base import CENT, AmbassadorInfo, ambassadors, click_sums_pair, credit_sums_pair, share_counts_pair
from .points import points_for, points_model, points_rules

METRICS = {
    "points": "Points",
    "clicks": "Clicks",
    "unique_clicks": "Unique clicks",
    "leads": "Leads",
    "customers": "Customers",
    "revenue": "Revenue",
    "shares": "Shares",
}
DEFAULT_METRIC = "points"
FAIR_FIELDS = ("shares", "clicks", "leads", "revenue", "points")


@dataclass(frozen=True, slots=True)
class Figures(Activity):
    """An ambassador's activity and points in a period (has_activity, is_active: see Activity)."""

    points: Decimal = Decimal("0.00")


@dataclass(frozen=True, kw_only=True)
class LeaderRow(Figures):
    ambassador_id: int
    public_id: str
    name: str
    kind: str
    status: str
    rank: int
    previous_rank: int | None
    movement: int | None  # +n: up n places; -n: down; 0: same; None: no activity last period

    @property
    def kind_label(self) -> str:
        return Kind(self.kind).label.split(" (")[0]

    def value(self, metric: str):
        return getattr(self, metric)


@dataclass(frozen=True, kw_only=True)
class Totals(Figures):
    """The sum of a leaderboard's rows, and how many there are."""

    ambassadors: int


@dataclass(frozen=True)
class GroupRow:
    section: str  # "group" | "kind" | "all"
    key: str  # group id, "none" (no group), the kind, or "all"
    name: str
    ambassadors: int
    active: int
    shares: int
    clicks: int
    leads: Decimal
    revenue: Decimal
    points: Decimal
    avg_shares: Decimal | None
    avg_clicks: Decimal | None
    avg_leads: Decimal | None
    avg_revenue: Decimal | None
    avg_points: Decimal | None


_ZERO_POINTS = Decimal("0.00")


def _figures(f: ReportFilter, rules, active: tuple[int, str], *,
             points_before: bool = True) -> tuple[dict[int, Figures], dict[int, Figures]]:
    """Figures per ambassador with anything in f's period, and in the period before (ranks and
    movement): one grouped query per source covers both; `active`: (credits version,
    reporting model), read once per report. `points_before=False` leaves the earlier period's
    points at 0 (only a points ranking needs them)."""
    before_f = f.with_period(f.period.previous())
    reporting_model = active[1]
    shares = share_counts_pair(f, before_f)
    clicks = click_sums_pair(f, before_f, fields=("clicks", "unique_clicks"))
    credits = credit_sums_pair(f, before_f, active=active)
    model = f.model or reporting_model
    point_credits = (credits if model == reporting_model
                     else credit_sums_pair(replace(f, model=reporting_model), replace(before_f, model=reporting_model),
                                           active=active))
    result = []
    no_clicks, no_credits = ClickTotals.zero(), CreditTotals.zero()
    for index in (0, 1):
        figures = {}
        with_points = index == 0 or points_before
        period_shares, period_clicks = shares[index], clicks[index]
        period_credits, period_point_credits = credits[index], point_credits[index]
        for key in set(period_shares) | set(period_clicks) | set(period_credits) | set(period_point_credits):
            click = period_clicks.get(key) or no_clicks
            credit = period_credits.get(key) or no_credits
            share_count = period_shares.get(key, 0)
            points = _ZERO_POINTS
            if with_points:
                point_credit = period_point_credits.get(key) or no_credits
                points = points_for(rules, share_count, click.unique_clicks, point_credit.leads, point_credit.revenue)
            figures[key[0]] = Figures(share_count, click.clicks, click.unique_clicks, credit.leads, credit.customers,
                                      credit.revenue, points)
        result.append(figures)
    return result[0], result[1]


def _ranks(values: dict[int, object], names: dict[int, str]) -> tuple[list[int], dict[int, int]]:
    """Ids ordered best first (ties by name, then id) and their competition ranks."""
    order = sorted(values, key=lambda i: (_neg(values[i]), names[i].casefold(), i))
    ranks, previous_value, previous_rank = {}, object(), 0
    for position, ambassador_id in enumerate(order, start=1):
        if values[ambassador_id] != previous_value:
            previous_rank, previous_value = position, values[ambassador_id]
        ranks[ambassador_id] = previous_rank
    return order, ranks


def _neg(value):
    return -value


def _context(f: ReportFilter):
    """The ambassadors, the points rules and (credits version, reporting model): points are
    always computed under the reporting model (points_model)."""
    infos = ambassadors(f)
    rules = points_rules(f.organization_id)
    return infos, rules, active_version(f.organization_id)


def leaderboard(f: ReportFilter, metric: str = DEFAULT_METRIC) -> list[LeaderRow]:
    """The ranked rows for `metric` (one of METRICS), best first."""
    if metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}")
    infos, rules, active = _context(f)
    now, before = _figures(f, rules, active, points_before=metric == "points")
    empty = Figures()
    ids = [i for i, info in infos.items()
           if info.status == Status.ACTIVE or now.get(i, empty).has_activity or before.get(i, empty).has_activity]
    names = {i: infos[i].name for i in ids}
    order, ranks = _ranks({i: getattr(now.get(i, empty), metric) for i in ids}, names)
    earlier = [i for i in ids if before.get(i, empty).has_activity]
    _, previous_ranks = _ranks({i: getattr(before[i], metric) for i in earlier}, names)
    rows = []
    for i in order:
        info, figures = infos[i], now.get(i, empty)
        previous = previous_ranks.get(i)
        rows.append(LeaderRow(
            ambassador_id=i, public_id=info.public_id, name=info.name, kind=info.kind, status=info.status,
            shares=figures.shares, clicks=figures.clicks, unique_clicks=figures.unique_clicks,
            leads=figures.leads, customers=figures.customers, revenue=figures.revenue, points=figures.points,
            rank=ranks[i], previous_rank=previous, movement=None if previous is None else previous - ranks[i]))
    return rows


def leaderboard_totals(rows: list[LeaderRow]) -> Totals:
    """The sums of a leaderboard's rows (revenue: the same under every model)."""
    return Totals.like(Figures.sum_of(rows), ambassadors=len(rows))


def fair_view(f: ReportFilter) -> list[GroupRow]:
    """Per group (then "No group" if any), per kind, then everyone: ambassadors, active
    ambassadors, totals, and averages per active ambassador (2 places, half-up)."""
    infos, rules, active = _context(f)
    now, _ = _figures(f, rules, active)
    empty = Figures()
    ids = [i for i, info in infos.items() if info.status == Status.ACTIVE or now.get(i, empty).has_activity]
    groups = AmbassadorGroup.objects.filter(organization_id=f.organization_id).order_by("name", "id")
    if f.group_id is not None:
        groups = groups.filter(id=f.group_id)
    groups = list(groups.values_list("id", "name"))
    members: dict[int, set[int]] = {group_id: set() for group_id, _ in groups}
    grouped: set[int] = set()
    links = Ambassador.groups.through.objects.filter(ambassador__organization_id=f.organization_id,
                                                     ambassadorgroup_id__in=list(members))
    id_set = set(ids)
    for ambassador_id, group_id in links.values_list("ambassador_id", "ambassadorgroup_id"):
        if ambassador_id in id_set:
            members[group_id].add(ambassador_id)
            grouped.add(ambassador_id)

    rows = [_group_row("group", str(group_id), name, members[group_id], now) for group_id, name in groups]
    ungrouped = id_set - grouped
    if ungrouped and f.group_id is None:
        rows.append(_group_row("group", "none", "No group", ungrouped, now))
    kinds = [value for value in Kind.values if f.kind in (None, value)]
    for kind in kinds:
        rows.append(_group_row("kind", kind, Kind(kind).label.split(" (")[0],
                               {i for i in ids if infos[i].kind == kind}, now))
    rows.append(_group_row("all", "all", "All ambassadors", id_set, now))
    return rows


def _group_row(section: str, key: str, name: str, ids: set[int], figures: dict[int, Figures]) -> GroupRow:
    empty = Figures()
    members = [figures.get(i, empty) for i in ids]
    active = sum(1 for member in members if member.is_active)
    total = Figures.sum_of(members)
    totals = {"shares": total.shares, "clicks": total.clicks, "leads": total.leads, "revenue": total.revenue,
              "points": total.points}
    averages = {f"avg_{field}": (Decimal(totals[field]) / active).quantize(CENT, rounding=ROUND_HALF_UP)
                if active else None for field in FAIR_FIELDS}
    return GroupRow(section=section, key=key, name=name, ambassadors=len(ids), active=active, **totals, **averages)


def model_label(f: ReportFilter, reporting_model: str | None = None) -> str:
    return AttributionModel(f.model or reporting_model or points_model(f)).label


__all__ = ["METRICS", "AmbassadorInfo", "GroupRow", "LeaderRow", "Totals", "fair_view", "leaderboard",
           "leaderboard_totals"]
