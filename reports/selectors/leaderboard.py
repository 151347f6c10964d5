"""Leaderboards and the fair view, from rollups, credits and share events (never raw clicks).

The ranking is one SQL statement (`_ranked`): integer figures, so ranks are exact on both
databases; a page is LIMIT … OFFSET of the ordered board with each rank counted (1 + the rows
with more), never a window over every row; the days before today come from a ranking snapshot
(selectors/snapshots.py) plus today's rows. `leaderboard_page` serves the page and the API,
`top_and_mine` the portal, `leaderboard` every row (CSV, digests). The fair view sums in Python.

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

import uuid
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction

from ambassadors.models import Ambassador, AmbassadorGroup, Kind, Status
from tracking.models import AttributionModel
from tracking.selectors import active_version

from ..figures import Activity, ClickTotals, CreditTotals
from ..filters import ReportFilter
from .base import (
    CENT,
    AmbassadorInfo,
    ambassadors,
    click_pair_sql,
    click_period_sql,
    click_sums_pair,
    credit_pair_sql,
    credit_period_sql,
    credit_sums_pair,
    share_counts_pair,
    share_pair_sql,
    share_period_sql,
)
from .points import points_for, points_model, points_rules
from .snapshots import closed_part, snapshot_for

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
    position: int = 0  # the row's place in the listing, from 1 (ties ordered by name); 0: not listed

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


def _context(f: ReportFilter):
    """The ambassadors, the points rules and (credits version, reporting model): points are
    always computed under the reporting model (points_model)."""
    infos = ambassadors(f)
    rules = points_rules(f.organization_id)
    return infos, rules, active_version(f.organization_id)


PER_PAGE = 50


@dataclass(frozen=True)
class LeaderboardPage:
    """One page of a leaderboard, and the totals and size of the whole board."""

    rows: list[LeaderRow]
    totals: Totals
    number: int
    per_page: int

    @property
    def count(self) -> int:
        return self.totals.ambassadors

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_position(self) -> int:
        return (self.number - 1) * self.per_page + 1

    @property
    def last_position(self) -> int:
        return self.first_position + len(self.rows) - 1


def leaderboard(f: ReportFilter, metric: str = DEFAULT_METRIC) -> list[LeaderRow]:
    """Every ranked row for `metric` (one of METRICS), best first (exports, digests)."""
    rows, _ = _ranked(f, metric)
    return rows


def leaderboard_page(f: ReportFilter, metric: str = DEFAULT_METRIC, number: int = 1,
                     per_page: int = PER_PAGE) -> LeaderboardPage:
    """Page `number` (from 1; past the last page: the last) of the ranked rows, with the whole
    board's totals: what the ranking page and the API show. The ranking is computed whole in
    the database; only the page's rows come back."""
    if number < 1 or per_page < 1:
        raise ValueError("pages and their sizes start at 1")
    first = (number - 1) * per_page + 1
    rows, totals = _ranked(f, metric, first=first, last=first + per_page - 1)
    if not rows and number > 1:  # past the end: the board's size, then its last page
        _, totals = _ranked(f, metric, first=1, last=1)
        return leaderboard_page(f, metric, max(1, -(-totals.ambassadors // per_page)), per_page)
    return LeaderboardPage(rows=rows, totals=totals, number=number, per_page=per_page)


def top_and_mine(f: ReportFilter, metric: str, top: int, ambassador_id: int) -> tuple[list[LeaderRow], LeaderRow | None,
                                                                                       int]:
    """The first `top` rows, the ambassador's own row (None if they are not on the board) and
    how many rows the board has: the portal's standing, from one query."""
    rows, totals = _ranked(f, metric, first=1, last=top, also=ambassador_id)
    mine = next((row for row in rows if row.ambassador_id == ambassador_id), None)
    return [row for row in rows if row.position >= 1], mine, totals.ambassadors  # mine off the page: position 0


def leaderboard_totals(rows: list[LeaderRow]) -> Totals:
    """The sums of a leaderboard's rows (revenue: the same under every model)."""
    return Totals.like(Figures.sum_of(rows), ambassadors=len(rows))


# --- the ranking, in SQL ----------------------------------------------------------------------
# Every figure is an integer in the database (leads and customers in 1/10,000, revenue in cents,
# points in cents after exact integer arithmetic), so ranks and ties are exact on PostgreSQL and
# SQLite alike, and the ranking costs one statement however many ambassadors there are.

_ORDER = {"points": "points", "clicks": "clicks", "unique_clicks": "unique_clicks", "leads": "leads",
          "customers": "customers", "revenue": "revenue", "shares": "shares"}
_FIGURES = ("shares", "clicks", "unique_clicks", "leads", "customers", "revenue", "points")


def _scaled(value: Decimal, places: int) -> int:
    scaled = Decimal(value).scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {places} decimal places")
    return int(scaled)


def _micro_points(part: str, exprs: dict[tuple[str, str], str], rules) -> tuple[str, list[int]]:
    """Points × 1,000,000 as an exact integer expression: shares and unique clicks × the rule in
    cents × 10⁴, leads (1/10⁴) × the rule in cents, revenue (cents) × the rule in 1/10⁴."""
    return (f"({exprs['shares', part]} * %s + {exprs['unique_clicks', part]} * %s"
            f" + {exprs['point_leads', part]} * %s + {exprs['point_revenue', part]} * %s)",
            [_scaled(rules.per_share, 2) * 10_000, _scaled(rules.per_unique_click, 2) * 10_000,
             _scaled(rules.per_lead, 2), _scaled(rules.per_revenue_unit, 4)])


# Figure → (CTE, column stem) of the live pair SQL (reports.selectors.base), whose columns are
# `{stem}__now` and `{stem}__before`; a snapshot row's are `{stem}_now`, `{stem}_before`.
_LIVE = {"shares": ("s", "id"), "clicks": ("c", "clicks"), "unique_clicks": ("c", "unique_clicks"),
         "leads": ("r", "leads"), "customers": ("r", "customers"), "revenue": ("r", "revenue_cents")}
_SNAPSHOT_STEM = {"shares": "shares", "clicks": "clicks", "unique_clicks": "unique_clicks", "leads": "leads",
                  "customers": "customers", "revenue": "revenue_cents"}
_OPEN = {"s": "os", "c": "oc", "r": "oa"}  # the open days' CTE of each live one


def _sources(f: ReportFilter, active: tuple[int, str]) -> tuple[dict[str, tuple[str, list]], dict]:
    """The CTEs a ranking reads, and the SQL expression of each (figure, "now" | "before"),
    figures being _LIVE's and point_leads, point_revenue (the reporting model's credits, which
    points are computed from). Live sums of the rollups, or, when a ranking snapshot can serve
    (reports.selectors.snapshots), the snapshot's closed days plus the open days' rows."""
    reporting_model = active[1]
    model = f.model or reporting_model
    points_apart = model != reporting_model
    closed = closed_part(f)
    exprs: dict[tuple[str, str], str] = {}
    if closed is None:
        before_f = f.with_period(f.period.previous())
        sources = {"c": click_pair_sql(f, before_f, fields=("clicks", "unique_clicks")),
                   "r": credit_pair_sql(f, before_f, active=active),
                   "s": share_pair_sql(f, before_f)}
        if points_apart:
            sources["p"] = credit_pair_sql(replace(f, model=reporting_model), replace(before_f, model=reporting_model),
                                           active=active)
        for part in ("now", "before"):
            for figure, (cte, stem) in _LIVE.items():
                exprs[figure, part] = f"COALESCE({cte}.{stem}__{part}, 0)"
            point_cte = "p" if points_apart else "r"
            exprs["point_leads", part] = f"COALESCE({point_cte}.leads__{part}, 0)"
            exprs["point_revenue", part] = f"COALESCE({point_cte}.revenue_cents__{part}, 0)"
        return sources, exprs

    def rows_of(snapshot) -> tuple[str, list]:
        return ("SELECT * FROM reports_rankingsnapshotrow WHERE snapshot_id = %s", [snapshot.pk])

    sources = {"sn": rows_of(snapshot_for(f, closed, active, model))}
    if points_apart:
        sources["sp"] = rows_of(snapshot_for(f, closed, active, reporting_model))
    opened = closed.open_period is not None
    if opened:
        open_f = replace(f, group_id=None, kind=None).with_period(closed.open_period)
        sources.update(os=share_period_sql(open_f), oc=click_period_sql(open_f, ("clicks", "unique_clicks")),
                       oa=credit_period_sql(open_f, active=active))
        if points_apart:
            sources["op"] = credit_period_sql(replace(open_f, model=reporting_model), active=active)

    def now_and_before(snapshot_cte: str, stem: str, open_cte: str, open_stem: str) -> tuple[str, str]:
        now = f"COALESCE({snapshot_cte}.{stem}_now, 0)"
        if opened:
            now = f"({now} + COALESCE({open_cte}.{open_stem}__now, 0))"
        return now, f"COALESCE({snapshot_cte}.{stem}_before, 0)"

    for figure, (cte, live_stem) in _LIVE.items():
        exprs[figure, "now"], exprs[figure, "before"] = now_and_before("sn", _SNAPSHOT_STEM[figure], _OPEN[cte],
                                                                       live_stem)
    point_snapshot, point_open = ("sp", "op") if points_apart else ("sn", "oa")
    exprs["point_leads", "now"], exprs["point_leads", "before"] = now_and_before(point_snapshot, "leads", point_open,
                                                                                 "leads")
    exprs["point_revenue", "now"], exprs["point_revenue", "before"] = now_and_before(
        point_snapshot, "revenue_cents", point_open, "revenue_cents")
    return sources, exprs


def _round_micro(column: str) -> str:
    """Micro-points → points in cents, half away from zero (ROUND_HALF_UP) in integer arithmetic."""
    return f"(CASE WHEN {column} >= 0 THEN ({column} + 5000) / 10000 ELSE -((5000 - {column}) / 10000) END)"


def _people_sql(f: ReportFilter) -> tuple[str, list]:
    queryset = Ambassador.objects.filter(organization_id=f.organization_id)
    if f.group_id is not None:
        queryset = queryset.filter(groups__id=f.group_id)
    if f.kind is not None:
        queryset = queryset.filter(kind=f.kind)
    sql, params = (queryset.order_by().values_list("id", "public_id", "display_name", "kind", "status")
                   .query.sql_with_params())
    return sql, list(params)


def _ranked(f: ReportFilter, metric: str, *, first: int | None = None, last: int | None = None,
            also: int | None = None) -> tuple[list[LeaderRow], Totals]:
    """The board's rows at positions first..last (all without them), and `also`'s row, with the
    whole board's totals. Who is on the board and how ranks and movement work: the module doc."""
    if metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}")
    rules = points_rules(f.organization_id)
    sources, exprs = _sources(f, active_version(f.organization_id))
    params: list = []
    ctes = []
    for name, (sql, source_params) in sources.items():
        ctes.append(f"{name} AS ({sql})")
        params.extend(source_params)
    people_sql, people_params = _people_sql(f)
    micro_now, now_params = _micro_points("now", exprs, rules)
    micro_before, before_params = _micro_points("before", exprs, rules)
    columns = [", ".join(f"{exprs[figure, part]} AS {label}{figure}" for figure in _LIVE)
               for part, label in (("now", ""), ("before", "b_"))]
    joins = " ".join(f"LEFT JOIN {name} ON {name}.ambassador_id = people.id" for name in sources)
    params.extend([*now_params, *before_params, *people_params])  # in the order of the SQL text
    ctes.append(f"board AS (SELECT people.id, people.public_id, people.display_name AS name, "  # noqa: S608
                f"people.kind, people.status, {columns[0]}, {columns[1]}, {micro_now} AS micro_now, "
                f"{micro_before} AS micro_before "
                f"FROM ({people_sql}) AS people {joins})")

    def active_in(label: str) -> str:
        return (f"({label}shares <> 0 OR {label}clicks <> 0 OR {label}leads <> 0 OR {label}customers <> 0 "
                f"OR {label}revenue <> 0)")

    # Who is on the board (materialised once: the page, the counts and the totals read it).
    order = _ORDER[metric]
    before_value = "b_points" if metric == "points" else f"b_{order}"
    ctes.append(f"scored AS (SELECT board.*, {_round_micro('micro_now')} AS points, "  # noqa: S608
                f"{_round_micro('micro_before')} AS b_points, {active_in('')} AS active_now, "
                f"{active_in('b_')} AS active_before FROM board)")
    ctes.append(f"member AS MATERIALIZED (SELECT id, public_id, name, kind, status, {', '.join(_FIGURES)}, "  # noqa: S608
                f"{before_value} AS b_value, active_before FROM scored "
                f"WHERE status = %s OR active_now OR active_before)")
    params.append(Status.ACTIVE)
    by_name = 'lower(name) COLLATE "C"' if connection.vendor == "postgresql" else "lower(name)"
    listing = f"ORDER BY {order} DESC, {by_name}, id"
    sums = ", ".join(f"CAST(SUM({name}) AS bigint) AS total_{name}" for name in _FIGURES)
    columns = f"id, public_id, name, kind, status, {', '.join(_FIGURES)}, b_value, active_before"
    if first is None:  # every row: ranks are counted in Python from the ordered rows
        sql = f"WITH {', '.join(ctes)} SELECT {columns} FROM member {listing}"  # noqa: S608
        fetched = _run(sql, params)
        return _every_row(fetched, order)

    # A page: ranks from counts (rank = 1 + how many have more), never a window over every row.
    ctes.append(f"page AS (SELECT {columns} FROM member {listing} LIMIT %s OFFSET %s)")  # noqa: S608
    params.extend([last - first + 1, first - 1])
    picked = "SELECT page.*, TRUE AS on_page FROM page"
    if also is not None:
        picked += (f" UNION ALL SELECT {columns}, FALSE FROM member "  # noqa: S608
                   f"WHERE id = %s AND id NOT IN (SELECT id FROM page)")
        params.append(also)
    ctes.append(f"picked AS ({picked})")  # noqa: S608
    ctes.append(f"totals AS (SELECT COUNT(*) AS board_size, {sums}, "  # noqa: S608
                f"COUNT(*) FILTER (WHERE {order} > (SELECT MAX({order}) FROM page)) AS above_page FROM member)")
    if connection.vendor == "postgresql":  # a binary search in the sorted earlier values (width_bucket)
        ctes.append("earlier AS (SELECT array_agg(b_value ORDER BY b_value) AS sorted, COUNT(*) AS n FROM member "
                    "WHERE active_before)")
        earlier_above = "earlier.n - width_bucket(picked.b_value, earlier.sorted)"
        joined = "CROSS JOIN earlier"
    else:
        earlier_above = "(SELECT COUNT(*) FROM member m WHERE m.active_before AND m.b_value > picked.b_value)"
        joined = ""
    mine_above = "NULL"
    if also is not None:
        mine_above = (f"CASE WHEN NOT picked.on_page THEN (SELECT COUNT(*) FROM member m "  # noqa: S608
                      f"WHERE m.{order} > picked.{order}) END")
    sql = (f"WITH {', '.join(ctes)} SELECT picked.*, "  # noqa: S608
           f"CASE WHEN picked.active_before THEN {earlier_above} END, {mine_above}, totals.* "
           f"FROM picked CROSS JOIN totals {joined} {listing.replace('ORDER BY ', 'ORDER BY picked.')}")
    return _page_rows(_run(sql, params), order, first)


def _run(sql: str, params: list) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL work_mem = '32MB'")  # for this statement's hashes and sorts only
        cursor.execute(sql, params)
        return cursor.fetchall()


_WIDTH = 5 + len(_FIGURES) + 2  # id … status, the figures, b_value, active_before


def _row(values: tuple, rank: int, previous: int | None, position: int) -> LeaderRow:
    i, public_id, name, kind, status, shares, clicks, unique, leads, customers, revenue, points = values[:12]
    return LeaderRow(
        ambassador_id=i, public_id=str(public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(public_id)),
        name=name, kind=kind, status=status, shares=int(shares), clicks=int(clicks), unique_clicks=int(unique),
        leads=Decimal(int(leads)).scaleb(-4), customers=Decimal(int(customers)).scaleb(-4),
        revenue=Decimal(int(revenue)).scaleb(-2), points=Decimal(int(points)).scaleb(-2), rank=rank,
        previous_rank=previous, position=position, movement=None if previous is None else previous - rank)


def _totals(figures: tuple, board_size: int) -> Totals:
    shares, clicks, unique, leads, customers, revenue, points = (int(value or 0) for value in figures)
    return Totals(shares=shares, clicks=clicks, unique_clicks=unique, leads=Decimal(leads).scaleb(-4),
                  customers=Decimal(customers).scaleb(-4), revenue=Decimal(revenue).scaleb(-2),
                  points=Decimal(points).scaleb(-2), ambassadors=board_size)


def _metric_index(order: str) -> int:
    return 5 + _FIGURES.index(order)


def _every_row(fetched: list[tuple], order: str) -> tuple[list[LeaderRow], Totals]:
    """Competition ranks over the ordered rows, now and (among the rows active then) before."""
    column = _metric_index(order)
    earlier = sorted((row[_WIDTH - 2] for row in fetched if row[_WIDTH - 1]), reverse=True)
    earlier_rank: dict = {}
    for index, value in enumerate(earlier, start=1):
        earlier_rank.setdefault(value, index)
    rows, rank, previous_value = [], 0, object()
    for position, values in enumerate(fetched, start=1):
        if values[column] != previous_value:
            rank, previous_value = position, values[column]
        before = earlier_rank[values[_WIDTH - 2]] if values[_WIDTH - 1] else None
        rows.append(_row(values, rank, before, position))
    totals = _totals(tuple(sum(int(values[5 + k]) for values in fetched) for k in range(len(_FIGURES))),
                     len(fetched))
    return rows, totals


def _page_rows(fetched: list[tuple], order: str, first: int) -> tuple[list[LeaderRow], Totals]:
    """A page's rows (and `also`'s): rank = 1 + how many rows have a higher value. On the page,
    sorted best first, that is the rows before the page (all at least as high as the page's
    first value) plus the page's own higher rows; for the page's first value, the count the
    database made (above_page)."""
    if not fetched:
        return [], Totals(ambassadors=0)
    column = _metric_index(order)
    # Each row: the member columns (_WIDTH), on_page, earlier rows above, rows above `also`, totals.
    board_size, *figures, above_page = fetched[0][_WIDTH + 3:]
    page = [values for values in fetched if values[_WIDTH]]
    rows = []
    top_value = page[0][column] if page else None
    first_index_of: dict = {}
    for index, values in enumerate(page):
        first_index_of.setdefault(values[column], index)
    for index, values in enumerate(page):
        value = values[column]
        above = int(above_page) if value == top_value else first - 1 + first_index_of[value]
        earlier = values[_WIDTH + 1]
        rows.append(_row(values, above + 1, None if earlier is None else int(earlier) + 1, first + index))
    for values in fetched:
        if not values[_WIDTH]:  # `also`, off the page
            earlier = values[_WIDTH + 1]
            rows.append(_row(values, int(values[_WIDTH + 2]) + 1, None if earlier is None else int(earlier) + 1, 0))
    return rows, _totals(tuple(figures), int(board_size))


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


__all__ = ["METRICS", "PER_PAGE", "AmbassadorInfo", "GroupRow", "LeaderRow", "LeaderboardPage", "Totals", "fair_view",
           "leaderboard", "leaderboard_page", "leaderboard_totals", "top_and_mine"]
