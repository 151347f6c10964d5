"""Charts. Two families, each built here only; the figures shown come from the selectors.

* chart_spec(): the description of an interactive chart for web pages: `{% load charts %}{% chart spec %}`
  (reports/templatetags/charts.py, templates/reports/_chart.html) renders a <figure> with a <canvas>, the
  spec as JSON (json_script) and the same numbers as a table (the text alternative); static/js/charts.js
  draws it with Chart.js (MIT, from npm: package.json, served by staticfiles from node_modules/).
* Geometry for server-rendered SVG charts, no script (e-mails, the PDF):
  hbars(): horizontal bars, one per (label, value) (templates/reports/_hbars.html);
  daily_bars(): a vertical bar per day (the dashboard's, the funnel's and the portal's "my clicks");
  line_chart(): lines over labelled steps with both axes, round y ticks and a marker (the PDF's revenue
  against cost, reports/pdf.py)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from .figures import TWO_PLACES, format_number

CHART_KINDS = ("line", "bar", "stacked-bar")
SERIES_KINDS = ("line", "bar")
AXES = ("y", "y2")
_CHART_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


def chart_spec(kind: str, *, chart_id: str, title: str, x_label: str, y_label: str, labels: list,
               series: list[dict], y2_label: str | None = None, unit: str = "", y2_unit: str = "",
               notes: list[str] | None = None, marker: dict | None = None, y_reverse: bool = False,
               y_integer: bool = False) -> dict:
    """A chart for `{% chart %}`: kind "line", "bar" or "stacked-bar"; `labels` the x values (shown as
    given, str()); `series` dicts {"label", "values" (Decimal | int | None, one per label), "axis" ("y"
    or "y2", default "y"), "kind" (optional "line"/"bar" for a mixed chart), "unit" (optional, default the
    axis's)}. Axis titles carry their unit: y_label="Revenue", unit="EUR" → "Revenue (EUR)". `notes` are
    sentences shown under the chart (e.g. the break-even point in words); `marker` {"at": one of the
    labels, "text": …} draws a labelled vertical line there; `y_reverse` puts the smallest value on
    top (ranks), `y_integer` ticks whole numbers only. Decimals become strings in the JSON (exact,
    never floats); the browser turns them into numbers only to draw. Raises ValueError on bad input."""
    if kind not in CHART_KINDS:
        raise ValueError(f"unknown chart kind {kind!r}: one of {', '.join(CHART_KINDS)}")
    if not isinstance(chart_id, str) or not _CHART_ID.match(chart_id):
        raise ValueError(f"chart_id {chart_id!r}: lower-case letters, digits and hyphens, starting with a letter")
    for name, text in (("title", title), ("x_label", x_label), ("y_label", y_label)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{name} must be a non-empty string")
    labels = [str(label) for label in labels]
    if not series:
        raise ValueError("a chart needs at least one series")
    uses_y2 = False
    out_series = []
    for index, item in enumerate(series):
        if not isinstance(item, dict) or not isinstance(item.get("label"), str) or not item["label"].strip():
            raise ValueError(f"series {index}: a dict with a non-empty 'label'")
        unknown = set(item) - {"label", "values", "axis", "kind", "unit"}
        if unknown:
            raise ValueError(f"series {item['label']!r}: unknown keys {sorted(unknown)}")
        values = list(item.get("values") or [])
        if len(values) != len(labels):
            raise ValueError(f"series {item['label']!r} has {len(values)} values for {len(labels)} labels")
        axis = item.get("axis", "y")
        if axis not in AXES:
            raise ValueError(f"series {item['label']!r}: axis {axis!r} is not 'y' or 'y2'")
        uses_y2 = uses_y2 or axis == "y2"
        series_kind = item.get("kind") or ("line" if kind == "line" else "bar")
        if series_kind not in SERIES_KINDS:
            raise ValueError(f"series {item['label']!r}: kind {series_kind!r} is not 'line' or 'bar'")
        series_unit = item.get("unit")
        if series_unit is None:
            series_unit = y2_unit if axis == "y2" else unit
        out_series.append({"label": item["label"], "values": [_json_number(item["label"], v) for v in values],
                           "axis": axis, "kind": series_kind, "unit": series_unit})
    if uses_y2 and not (y2_label and y2_label.strip()):
        raise ValueError("a series on the second axis needs y2_label")
    if marker is not None and (not isinstance(marker, dict) or str(marker.get("at")) not in labels):
        raise ValueError(f"marker {marker!r}: a dict whose 'at' is one of the labels")
    y_axis = {"label": y_label, "unit": unit, "title": _with_unit(y_label, unit), "reverse": bool(y_reverse),
              "integer": bool(y_integer)}
    y2_axis = {"label": y2_label, "unit": y2_unit, "title": _with_unit(y2_label, y2_unit)} if uses_y2 else None
    units = [u for u in dict.fromkeys([unit, y2_unit if uses_y2 else ""]) if u]
    return {
        "id": chart_id,
        "kind": kind,
        "title": title,
        "caption": f"{title} ({', '.join(units)})" if units else title,
        "x": {"label": x_label, "title": x_label},
        "y": y_axis,
        "y2": y2_axis,
        "labels": labels,
        "series": out_series,
        "notes": [str(note) for note in (notes or [])],
        "marker": {"at": str(marker["at"]), "text": str(marker.get("text", ""))} if marker else None,
    }


def _with_unit(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label


def _json_number(series_label: str, value):
    """Decimal → str (exact), int → int, None → None (a gap). Floats and anything else are refused: money
    and rates are Decimals here, always."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"series {series_label!r}: {value!r} is not a number")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"series {series_label!r}: {value} is not a finite number")
        return str(value)
    if isinstance(value, int):
        return value
    raise ValueError(f"series {series_label!r}: {value!r} ({type(value).__name__}) is not a Decimal, int or None")


def hbars(items: list[tuple[str, object]], width: int = 720, row: int = 26, label_w: int = 170) -> dict:
    """A server-rendered horizontal bar chart: (label, value) pairs, bars scaled to the largest.
    `width` is the SVG's own unit width: a chart drawn in half the page wants a smaller one, so
    its text keeps a readable size."""
    top = max((Decimal(value) for _, value in items), default=Decimal(0)) or Decimal(1)
    bars = [{"label": label, "value": value, "y": i * row,
             "w": round(float(Decimal(value) / top) * (width - label_w - 70), 1)}  # drawing only, not a figure
            for i, (label, value) in enumerate(items)]
    return {"bars": bars, "width": width, "height": row * max(len(items), 1), "label_w": label_w, "row": row}


def daily_bars(points: list[tuple[date, int | Decimal]], *, width: int = 600, height: int = 90, name: str = "",
               label: str = "") -> dict:
    """A bar per day, scaled to the highest day: (day, value) pairs → x, y, width and height of
    each bar as SVG numbers (strings with 2 places), with the total, the peak and its day (the
    chart's accessible description). `name` and `label` are passed through for the template."""
    count = max(len(points), 1)
    peak = max((value for _, value in points), default=0)
    slot = Decimal(width) / count
    bars = []
    for index, (day, value) in enumerate(points):
        bar_height = (Decimal(value) / Decimal(peak) * (height - 2)) if peak else Decimal(0)
        bars.append({"day": day, "value": value, "x": _svg(slot * index), "width": _svg(max(slot * Decimal("0.8"), 1)),
                     "y": _svg(height - bar_height), "height": _svg(bar_height)})
    total = sum((value for _, value in points), 0)
    peak_day = max(points, key=lambda point: point[1])[0] if points and peak else None
    return {"name": name, "label": label, "bars": bars, "total": total, "peak": peak, "peak_day": peak_day,
            "width": width, "height": height}


def _svg(value: Decimal) -> str:
    return f"{Decimal(value):.2f}"


# --- The charts the report pages show (specs for {% chart %}) -----------------------------------------------

def revenue_cost_spec(tl, currency: str, *, organization=None, chart_id: str = "roi-timeline") -> dict:
    """Revenue vs cost over time (reports.selectors.timeline.Timeline): each week's or month's revenue and
    cost as bars, the running totals as lines, the cumulative ROI (%) on the second axis, a line at the
    break-even bucket, and the break-even stated in words under the chart."""
    from .figures import format_money, format_percent, locale_of, roi_percent

    locale = locale_of(organization)
    weekly = tl.grain == "week"
    same_year = tl.period.start.year == tl.period.end.year

    def label(point) -> str:
        if not weekly:
            return f"{point.start:%b %Y}"
        return f"{point.start:%-d %b}" if same_year else f"{point.start:%-d %b %Y}"

    def when(point) -> str:
        return f"the week of {point.start:%-d %b %Y}" if weekly else f"{point.start:%B %Y}"

    labels = [label(point) for point in tl.points]
    money = lambda amount: format_money(amount, currency, locale=locale)  # noqa: E731
    notes = []
    if tl.break_even is not None:
        point = tl.break_even
        notes.append(f"Break-even in {when(point)}: cumulative revenue {money(point.cumulative_revenue)} reached "
                     f"cumulative cost {money(point.cumulative_cost)}.")
        if not tl.in_profit_at_end:
            last = tl.points[-1]
            notes.append(f"Cumulative cost is above cumulative revenue again at the end of the period "
                         f"({money(last.cumulative_cost)} against {money(last.cumulative_revenue)}).")
    elif tl.points and (tl.points[-1].cumulative_cost or tl.points[-1].cumulative_revenue):
        last = tl.points[-1]
        notes.append(f"No break-even in this period: cumulative cost {money(last.cumulative_cost)} is above "
                     f"cumulative revenue {money(last.cumulative_revenue)} "
                     f"(cumulative ROI {format_percent(last.cumulative_roi, locale=locale)}).")
    else:
        notes.append("Nothing was spent or earned in this period.")
    notes.append(f"Running totals count from the period's first day, {tl.period.start:%-d %b %Y}; cost is spend + "
                 "rewards + the ambassadors' time, as in the ROI table.")
    return chart_spec(
        "bar", chart_id=chart_id, title="Revenue vs cost over time",
        x_label="Week (first day)" if weekly else "Month", y_label="Amount", unit=currency,
        y2_label="Cumulative ROI", y2_unit="%", labels=labels,
        series=[
            {"label": "Revenue", "values": [p.revenue for p in tl.points]},
            {"label": "Cost", "values": [p.cost for p in tl.points]},
            {"label": "Cumulative revenue", "kind": "line", "values": [p.cumulative_revenue for p in tl.points]},
            {"label": "Cumulative cost", "kind": "line", "values": [p.cumulative_cost for p in tl.points]},
            {"label": "Cumulative ROI", "kind": "line", "axis": "y2",
             "values": [roi_percent(p.cumulative_roi) for p in tl.points]},
        ],
        notes=notes,
        marker={"at": label(tl.break_even), "text": "Break-even"} if tl.break_even is not None else None)


def funnel_spec(programme, *, chart_id: str = "funnel-chart") -> dict:
    """The funnel (reports.selectors.funnel.FunnelFigures): the count at each step as bars, and each step's
    rate from the one before, in %, as a line on the second axis. Clicks per share is a multiplier, not a
    percentage, and revenue is money: both are said in the notes, not drawn."""
    from .figures import format_per, roi_percent

    steps = [step for step in programme.steps if step.key != "revenue"]
    names = {"shares": "Shares", "clicks": "Clicks", "unique": "Unique visitors", "leads": "Leads",
             "customers": "Customers"}
    rates = [None if step.key in ("shares", "clicks") else roi_percent(step.rate) for step in steps]
    clicks = next(step for step in steps if step.key == "clicks")
    notes = [f"Clicks per share: {format_per(clicks.rate, 'per share')}. Rates are each step's count as a "
             "percentage of the step before; leads and customers are credited (fractions under split models)."]
    return chart_spec("bar", chart_id=chart_id, title="The funnel with step rates", x_label="Step",
                      y_label="Number at the step", unit="count", y2_label="Rate from the step before", y2_unit="%",
                      labels=[names.get(step.key, step.label) for step in steps],
                      series=[{"label": "Number", "values": [step.value for step in steps]},
                              {"label": "Rate from the step before", "values": rates, "axis": "y2", "kind": "line"}],
                      notes=notes, y_integer=True)


def leaderboard_movement_spec(rows, metric_label: str, *, top: int = 10,
                              chart_id: str = "leaderboard-movement") -> dict:
    """The leaderboard's movement (reports.selectors.leaderboard.LeaderRow): for the top rows, a line from
    each ambassador's rank in the previous period to the rank now (rank 1 on top); an ambassador without
    activity then has no previous rank (a single point)."""
    shown = list(rows)[:top]
    series = [{"label": row.name, "values": [row.previous_rank, row.rank], "unit": ""} for row in shown]  # axis: rank
    up = [row for row in shown if row.movement and row.movement > 0]
    notes = [f"Ranked by {metric_label.lower()}; the top {len(shown)} now. A line going up is places gained."]
    if up:
        best = max(up, key=lambda row: row.movement)
        notes.append(f"Biggest climb: {best.name}, from {best.previous_rank} to {best.rank}.")
    return chart_spec("line", chart_id=chart_id, title="Leaderboard movement: rank now and in the previous period",
                      x_label="Period", y_label="Rank", unit="place, 1 = top",
                      labels=["Previous period", "This period"],
                      series=series or [{"label": "Nobody ranked", "values": [None, None]}], notes=notes,
                      y_reverse=True, y_integer=True)


def ambassador_trend_spec(weeks, currency: str, *, chart_id: str = "my-trend") -> dict:
    """An ambassador's weeks (reports.selectors.timeline.ambassador_trend): clicks and credited leads as
    bars, credited revenue as a line on the second axis."""
    same_year = bool(weeks) and weeks[0].start.year == weeks[-1].start.year
    labels = [f"{week.start:%-d %b}" if same_year else f"{week.start:%-d %b %Y}" for week in weeks]
    return chart_spec("bar", chart_id=chart_id, title=f"My last {len(weeks)} weeks", x_label="Week (Monday)",
                      y_label="Clicks and leads", unit="count", y2_label="Revenue credited", y2_unit=currency,
                      labels=labels,
                      series=[{"label": "Clicks", "values": [week.clicks for week in weeks]},
                              {"label": "Leads credited", "values": [week.leads for week in weeks]},
                              {"label": "Revenue credited", "values": [week.revenue for week in weeks], "axis": "y2",
                               "kind": "line"}],
                      notes=["Clicks leave out bots and your own clicks; leads and revenue are what your links "
                             "were credited with (a lead shared with other ambassadors counts in part)."],
                      y_integer=True)


def nice_step(top: Decimal, ticks: int = 4) -> Decimal:
    """A round tick step (1, 2, 2.5 or 5 × 10^n) so that `ticks` steps reach at least `top`."""
    if top <= 0:
        return Decimal(1)
    raw = top / ticks
    power = Decimal(10) ** (raw.adjusted())
    for factor in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        if factor * power >= raw:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


def line_chart(labels: list[str], series: list[tuple[str, list[Decimal]]], *, width: int = 700, height: int = 240,
               left: int = 70, bottom: int = 34, top: int = 12, right: int = 24, marker: int | None = None,
               unit: str = "", locale=None) -> dict:
    """Geometry of a line chart with axes: x labels (thinned to at most 12), y ticks at round
    values with their labels (in `unit`), one polyline per series, an optional vertical marker at
    the index `marker`. Drawing coordinates only (floats are fine here: nothing is summed)."""
    peak = max((value for _, values in series for value in values), default=Decimal(0))
    step = nice_step(Decimal(peak))
    ticks = [step * n for n in range(5)]
    y_max = ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom
    count = max(len(labels), 1)

    def x(index: int) -> float:
        return round(left + (plot_w * index / (count - 1) if count > 1 else plot_w / 2), 1)

    def y(value: Decimal) -> float:
        return round(top + plot_h - float(max(Decimal(value), Decimal(0)) / y_max) * plot_h, 1)

    every = max(1, -(-count // 12))
    return {
        "width": width, "height": height, "left": left, "top": top, "right": width - right,
        "bottom": top + plot_h, "unit": unit,
        "y_ticks": [{"y": y(tick), "label": format_number(tick, TWO_PLACES if step < 1 else None, locale=locale)}
                    for tick in ticks],
        "x_ticks": [{"x": x(i), "label": label} for i, label in enumerate(labels) if i % every == 0],
        "lines": [{"name": name, "points": " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values)),
                   "dots": [{"x": x(i), "y": y(v)} for i, v in enumerate(values)], "n": n}
                  for n, (name, values) in enumerate(series)],
        "marker": {"x": x(marker), "label": labels[marker], "end": marker > count / 2} if marker is not None else None,
    }
