"""Geometry for server-rendered SVG charts: no chart library, no script. Drawing coordinates
only; the figures shown come from the selectors. Two kinds, each computed here only:

* hbars(): horizontal bars, one per (label, value) (templates/reports/_hbars.html);
* daily_bars(): a vertical bar per day (the dashboard's, the funnel's and the portal's "my clicks")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal


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
