"""A manager's drill-down into one ambassador's performance (reports/selectors/ambassador.py),
by period, campaign and channel, with its CSV. Managers and up; another organisation's
ambassador is a 404 (the ambassador is looked up in the request's organisation only).

    ?period=…&start=…&end=…&model=…&campaign=…  (reports.forms.report_filter)
    &grain=day|week|month                          (default from the period's length)"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from common.csv_export import csv_response
from tenancy.models import Role
from tenancy.roles import role_required
from tracking.models import AttributionModel

from ..charts import chart_spec
from ..forms import ParamError, ReportFilterForm, report_filter
from ..selectors.ambassador import GRAINS, GrainError, ambassador_by_public_id, ambassador_performance

TABLES = ("periods", "campaigns", "channels")
CSV_FIELDS = ["shares", "clicks", "unique_clicks", "leads", "customers", "revenue", "points", "time_cost", "earned",
              "reward_points"]


def ambassador_in_org(organization, public_id):
    """The organisation's ambassador with this public id, or a 404 (never another organisation's)."""
    ambassador = ambassador_by_public_id(organization.pk, public_id)
    if ambassador is None:
        raise Http404("No such ambassador.")
    return ambassador


def performance_for(request, ambassador):
    """The selector's answer for the query string; ParamError for a bad parameter."""
    f = report_filter(request.organization, request.GET)
    try:
        return ambassador_performance(f, ambassador.pk, grain=request.GET.get("grain") or None)
    except GrainError as error:
        raise ParamError("grain", str(error)) from None


@role_required(Role.MANAGER)
def ambassador_performance_page(request, org_slug, public_id):
    ambassador = ambassador_in_org(request.organization, public_id)
    form = ReportFilterForm(request.organization, request.GET)
    get = request.GET
    context = {
        "ambassador": ambassador, "grains": GRAINS.items(), "grain_key": get.get("grain", ""),
        "periods": form.choices("period"), "period_key": form.data["period"], "start": get.get("start", ""),
        "end": get.get("end", ""), "models": form.choices("model"), "model_key": get.get("model", ""),
        "campaign_choices": form.choices("campaign"), "campaigns_selected": get.getlist("campaign"),
        "query": get.urlencode(),
    }
    try:
        performance = performance_for(request, ambassador)
    except ParamError as error:
        context.update(error=error.message, error_field=error.field)
        return render(request, "reports/ambassador.html", context, status=400)
    context.update(perf=performance, fig=performance.totals, period=performance.filter.period,
                   model_label=AttributionModel(performance.model).label,
                   grain_label=GRAINS[performance.grain].lower(), chart=trend_chart(performance))
    return render(request, "reports/ambassador.html", context)


def trend_chart(performance) -> dict:
    """The {% chart %} spec of the trend by period: clicks and credited leads as bars, credited
    revenue as a line on the second axis (in the organisation's currency)."""
    currency = performance.currency
    lines = performance.by_period
    return chart_spec(
        "bar", chart_id="ambassador-trend", title=f"{performance.ambassador.name} by {performance.grain}",
        x_label=GRAINS[performance.grain], y_label="Clicks and leads", unit="count", y2_label="Revenue",
        y2_unit=currency, labels=[line.label for line in lines],
        series=[
            {"label": "Clicks", "values": [line.figures.clicks for line in lines], "axis": "y"},
            {"label": "Leads (credited)", "values": [line.figures.leads for line in lines], "axis": "y"},
            {"label": "Revenue (credited)", "values": [line.figures.revenue for line in lines], "axis": "y2",
             "kind": "line"},
        ],
        notes=["Clicks leave out bots, link previews and the ambassador's own clicks; leads and revenue are what "
               "their links were credited with (a lead shared with other ambassadors counts in part)."])


def _csv_row(line) -> list:
    fig = line.figures
    return [line.key, line.label, *[getattr(fig, name) for name in CSV_FIELDS]]


@role_required(Role.MANAGER)
def ambassador_performance_csv(request, org_slug, public_id):
    ambassador = ambassador_in_org(request.organization, public_id)
    table = request.GET.get("table") or "periods"
    if table not in TABLES:
        return render(request, "reports/roi_bad_csv.html",
                      {"error": f"Unknown table “{table}”; use one of {', '.join(TABLES)}."}, status=400)
    try:
        performance = performance_for(request, ambassador)
    except ParamError as error:
        return render(request, "reports/roi_bad_csv.html", {"error": error.message}, status=400)
    lines = {"periods": performance.by_period, "campaigns": performance.by_campaign,
             "channels": performance.by_channel}[table]
    key = {"periods": "period_start", "campaigns": "campaign_id", "channels": "channel"}[table]
    period = performance.filter.period
    return csv_response(f"ambassador-{ambassador.public_id}-{table}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv",
                        [key, "label", *CSV_FIELDS], map(_csv_row, lines))
