"""The board-ready PDF of the programme report for a period: key figures (the overview's), revenue
against cost over time with the cumulative ROI and the break-even point, the top ambassadors (a
bar chart and a table), the campaigns' ROI and how ROI is worked out.

Every figure comes from the selectors the pages use (summary.key_figures, roi.roi_list,
summary.top_ambassadors, the cost function through summary.figures), formatted as on the pages,
so the PDF and the overview of the same period show the same numbers, and its parts add up as
theirs do: the campaign rows to the programme row, spend + rewards + time to the cost (each
rounded once; reports.roi), with spend no segment carries on its own line if a filter ever
leaves some unallocated. Sales awaiting an exchange rate or converted at an estimated rate are
counted in a notice (reports.selectors.pending_sales), never silently left out. The charts are SVG drawn
on the server (no script runs in WeasyPrint), their geometry computed here from those figures.

The HTML is templates/reports/print/programme.html (a print template, not a web page: its CSS is
inline, and WeasyPrint fetches nothing: every URL is refused, so a name in the data can never
make it read a file or the network). Fonts: DejaVu (Debian's fonts-dejavu-core), A4, the
organisation and period in every page's header, page numbers in the footer."""

from __future__ import annotations

import logging

from django.template.loader import render_to_string
from django.utils import timezone

from rewards.selectors.settings import reward_settings
from tenancy.models import Organization
from tracking.models import AttributionModel
from tracking.selectors import active_version
from tracking.services.attribution_settings import settings_for

from .charts import hbars, line_chart
from .figures import locale_of
from .filters import ReportFilter
from .periods import Period
from .selectors.pending_sales import pending_sales
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
    chart = None  # one week or month: no line to draw, the period's revenue and cost as two bars instead
    if len(points) > 1:
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
        "pending": pending_sales(f),  # sales in another currency awaiting a rate or estimated: said, not dropped
        "top": top,
        "top_chart": hbars([(row.name, row.revenue) for row in top], width=700, row=22, label_w=190),
        "timeline": steps,
        "timeline_rows": list(zip(labels, points, strict=True)),
        "timeline_chart": chart,
        "period_bars": hbars([("Revenue", current.revenue), ("Cost", current.cost)], width=700, row=28, label_w=120),
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
