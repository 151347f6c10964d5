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

import calendar
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone

from rewards.selectors.settings import reward_settings
from tenancy.models import Organization
from tracking.models import AttributionModel
from tracking.selectors import active_version
from tracking.services.attribution_settings import settings_for

from .charts import hbars
from .filters import ReportFilter
from .periods import Period
from .roi import ZERO
from .selectors.base import ambassadors, campaigns
from .selectors.roi import roi_list
from .selectors.summary import change_display, display, figures, key_figures, top_ambassadors

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


# --- revenue against cost over time ----------------------------------------------------------------

@dataclass(frozen=True)
class Bucket:
    """One step of the timeline: the period's figures (summary.figures: the cost function's
    cost) and the running totals since the period began."""

    start: date
    end: date
    label: str
    revenue: Decimal
    cost: Decimal
    cumulative_revenue: Decimal
    cumulative_cost: Decimal

    @property
    def cumulative_roi(self) -> Decimal | None:
        if not self.cumulative_cost:
            return None
        return ((self.cumulative_revenue - self.cumulative_cost) / self.cumulative_cost).quantize(Decimal("0.0001"))


def buckets_of(period: Period) -> list[tuple[date, date, str]]:
    """Days for a period of up to 31 days, Monday–Sunday weeks (cut at the period's ends) up to
    26 weeks, else calendar months (cut likewise)."""
    if period.days <= 31:
        return [(day, day, f"{day:%-d %b}") for day in period.each_day()]
    steps = []
    start = period.start
    while start <= period.end:
        if period.days <= 26 * 7:
            end = min(start + timedelta(days=6 - start.weekday()), period.end)
            label = f"{start:%-d %b}"
        else:
            end = min(start.replace(day=calendar.monthrange(start.year, start.month)[1]), period.end)
            label = f"{start:%b %Y}"
        steps.append((start, end, label))
        start = end + timedelta(days=1)
    return steps


def timeline(f: ReportFilter) -> list[Bucket]:
    """Revenue and cost of each step of f's period (summary.figures of the step: the same cost
    function as every page) and their running totals."""
    shared = {"people": ambassadors(f), "the_campaigns": campaigns(f), "active": active_version(f.organization_id)}
    out, revenue_sum, cost_sum = [], ZERO, ZERO
    for start, end, label in buckets_of(f.period):
        step = figures(f.with_period(Period(start, end, f.period.tz)), **shared)
        revenue_sum += step.revenue
        cost_sum += step.cost
        out.append(Bucket(start, end, label, step.revenue, step.cost, revenue_sum, cost_sum))
    return out


def break_even(steps: list[Bucket]) -> Bucket | None:
    """The first step at whose end the revenue so far covers the cost so far (None: not yet, or
    nothing happened)."""
    for step in steps:
        if step.cumulative_revenue and step.cumulative_revenue >= step.cumulative_cost:
            return step
    return None


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
               unit: str = "") -> dict:
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
        "y_ticks": [{"y": y(tick), "label": display(tick, "money") if step < 1 else f"{tick:,.0f}"} for tick in ticks],
        "x_ticks": [{"x": x(i), "label": label} for i, label in enumerate(labels) if i % every == 0],
        "lines": [{"name": name, "points": " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values)),
                   "n": n} for n, (name, values) in enumerate(series)],
        "marker": {"x": x(marker), "label": labels[marker], "end": marker > count / 2} if marker is not None else None,
    }


# --- the report ---------------------------------------------------------------------------------------

def report_context(organization: Organization, period: Period) -> dict:
    """Everything the print template shows (call inside the organisation's tenant scope)."""
    f = ReportFilter(organization.pk, period)
    key = key_figures(f)
    current = key.current
    cards = key.cards()
    cards += [{"name": name, "label": label, "display": display(getattr(current, name), "money"),
               "change_display": change_display(key.change.get(name), "%")}
              for name, label in COST_PARTS]
    rows = roi_list(f)
    top = top_ambassadors(f, TOP)
    steps = timeline(f)
    even = break_even(steps)
    currency = organization.currency
    chart = line_chart([step.label for step in steps],
                       [("Revenue so far", [step.cumulative_revenue for step in steps]),
                        ("Cost so far", [step.cumulative_cost for step in steps])],
                       marker=steps.index(even) if even else None, unit=currency)
    model = active_version(organization.pk)[1]
    attribution = settings_for(organization.pk)
    last = steps[-1] if steps else None
    return {
        "organization": organization,
        "period": period,
        "period_label": f"{period.start:%-d %B %Y} – {period.end:%-d %B %Y}",
        "previous": period.previous(),
        "generated_at": timezone.localtime(timezone.now(), organization.tzinfo),
        "currency": currency,
        "cards": cards,
        "figures": current,
        "roi_display": display(current.roi, "ratio"),
        "parts": {name: display(getattr(current, name), "money")
                  for name in ("spend", "rewards", "time_cost", "cost", "revenue")},
        "campaigns": [{"name": row.campaign.name, "status": row.campaign.get_status_display(),
                       **_roi_cells(row.figures)} for row in rows[:-1]],
        "campaign_total": _roi_cells(rows[-1].figures),
        "top": top,
        "top_chart": hbars([(row.name, row.revenue) for row in top], width=700, row=22, label_w=190),
        "timeline": steps,
        "timeline_chart": chart,
        "break_even": even,
        "final_roi": display(last.cumulative_roi, "ratio") if last else "—",
        "model_label": AttributionModel(model).label,
        "window_days": attribution.window_days,
        "point_value": display(reward_settings(organization.pk).point_value, "money"),
    }


def _roi_cells(fig) -> dict:
    return {"revenue": display(fig.revenue, "money"), "spend": display(fig.spend, "money"),
            "rewards": display(fig.rewards, "money"), "time_cost": display(fig.time_cost, "money"),
            "cost": display(fig.cost, "money"), "roi": display(fig.roi, "ratio"),
            "leads": display(fig.leads, "share"), "customers": display(fig.customers, "share"),
            "cost_per_lead": display(fig.cost_per_lead, "money")}


def render_html(organization: Organization, period: Period) -> str:
    return render_to_string(TEMPLATE, report_context(organization, period))


def render_pdf(organization: Organization, period: Period) -> bytes:
    """The PDF's bytes (inside the organisation's scope). WeasyPrint is imported here so that a
    web process that never makes a PDF doesn't load Pango."""
    from weasyprint import HTML

    html = render_html(organization, period)
    return HTML(string=html, url_fetcher=_refuse_urls).write_pdf()
