"""The board-ready PDF of the programme report for a period: key figures (the overview's), revenue
against cost over time with the cumulative ROI and the break-even point, the top ambassadors (a
bar chart and a table), the campaigns' ROI and how ROI is worked out.

Every figure comes from the selectors the pages use (summary.key_figures, roi.roi_list,
summary.top_ambassadors, the cost function through summary.figures), formatted as on the pages,
so the PDF and the overview of the same period show the same numbers. The charts are SVG drawn
on the server (no script runs in WeasyPrint), their geometry computed here from those figures.

The HTML is templates/reports/print/programme.html (a print template, not a web page: its CSS is
inline, and WeasyPrint fetches nothing: every URL is refused, so a name in the data can never
make it read a file or the network). Fonts: DejaVu (Debian's fonts-dejavu-core), A4, the
organisation and period in every page's header, page numbers in the footer."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone

from rewards.selectors.settings import reward_settings
from tenancy.models import Organization
from tracking.models import AttributionModel
from tracking.selectors import active_version
from tracking.services.attribution_settings import settings_for

from .charts import hbars
from .figures import TWO_PLACES, format_number, locale_of
from .filters import ReportFilter
from .periods import Period
from .roi import ZERO
from .selectors.roi import roi_list
from .selectors.summary import change_display, display, key_figures, top_ambassadors
from .selectors.timeline import timeline

log = logging.getLogger(__name__)
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per layout step otherwise

TEMPLATE = "reports/print/programme.html"
TOP = 10  # ambassadors in the chart and the table
# Figures shown in the key-figures grid besides the overview's cards (same formatting).
COST_PARTS = [("spend", "Spend"), ("rewards", "Rewards"), ("time_cost", "Ambassadors' time")]


class NoFetching(ValueError):
    """WeasyPrint asked for a URL: the report is self-contained, nothing is fetched."""


def _refuse_urls(url: str, *args, **kwargs):
    raise NoFetching(f"The programme report fetches nothing (asked for {url[:80]!r}).")


# --- chart geometry -------------------------------------------------------------------------------

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
    peak = max((value for _, values in series for value in values), default=ZERO)
    step = nice_step(Decimal(peak))
    ticks = [step * n for n in range(5)]
    y_max = ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom
    count = max(len(labels), 1)

    def x(index: int) -> float:
        return round(left + (plot_w * index / (count - 1) if count > 1 else plot_w / 2), 1)

    def y(value: Decimal) -> float:
        return round(top + plot_h - float(Decimal(value) / y_max) * plot_h, 1)

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


# --- the report ---------------------------------------------------------------------------------------

def report_context(organization: Organization, period: Period) -> dict:
    """Everything the print template shows (call inside the organisation's tenant scope)."""
    f = ReportFilter(organization.pk, period)
    key = key_figures(f)
    current = key.current
    cards = key.cards(organization)
    cards += [{"name": name, "label": label, "display": display(getattr(current, name), "money", organization),
               "change_display": change_display(key.change.get(name), "%")}
              for name, label in COST_PARTS]
    rows = roi_list(f)
    top = top_ambassadors(f, TOP)
    steps = timeline(f)  # the ROI page's revenue against cost: weeks or months, running totals, break-even
    points = steps.points
    labels = [f"{point.start:%-d %b}" if steps.grain == "week" else f"{point.start:%b %Y}" for point in points]
    chart = line_chart(labels, [("Revenue so far", [point.cumulative_revenue for point in points]),
                                ("Cost so far", [point.cumulative_cost for point in points])],
                       marker=points.index(steps.break_even) if steps.break_even else None,
                       unit=organization.currency, locale=locale_of(organization))
    model = active_version(organization.pk)[1]
    last = points[-1] if points else None
    return {
        "organization": organization,
        "period": period,
        "period_label": f"{period.start:%-d %B %Y} – {period.end:%-d %B %Y}",
        "previous": period.previous(),
        "generated_at": timezone.localtime(timezone.now(), organization.tzinfo),
        "currency": organization.currency,
        "cards": cards,
        "figures": current,
        "campaigns": rows[:-1],
        "campaign_total": rows[-1],
        "top": top,
        "top_chart": hbars([(row.name, row.revenue) for row in top], width=700, row=22, label_w=190),
        "timeline": steps,
        "timeline_rows": list(zip(labels, points, strict=True)),
        "timeline_chart": chart,
        "break_even": steps.break_even,
        "final_roi": last.cumulative_roi if last else None,
        "model_label": AttributionModel(model).label,
        "window_days": settings_for(organization.pk).window_days,
        "point_value": reward_settings(organization.pk).point_value,
    }


def render_html(organization: Organization, period: Period) -> str:
    return render_to_string(TEMPLATE, report_context(organization, period))


def render_pdf(organization: Organization, period: Period) -> bytes:
    """The PDF's bytes (inside the organisation's scope). WeasyPrint is imported here so that a
    web process that never makes a PDF doesn't load Pango."""
    from weasyprint import HTML

    html = render_html(organization, period)
    return HTML(string=html, url_fetcher=_refuse_urls).write_pdf()
