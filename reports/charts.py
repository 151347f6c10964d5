"""Geometry for server-rendered SVG charts (templates/reports/_hbars.html): no chart library,
no script. Drawing coordinates only; the figures shown come from the selectors."""

from __future__ import annotations

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
