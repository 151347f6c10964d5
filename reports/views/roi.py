"""Pages and CSV exports of campaign ROI, the funnel and the model comparison (managers and up).

Each page reads its period and filters from the query string (reports.forms: the report
filter form); a bad value is answered 400 with the page and the message. Every table has a streamed CSV with the same
numbers (same selectors, same rounding) and the same query string."""

from __future__ import annotations

from decimal import Decimal

from django.http import Http404
from django.shortcuts import render

from ambassadors.models import Kind
from campaigns.models import Campaign
from common.csv_export import csv_response
from tenancy.models import Role
from tenancy.roles import role_required
from tracking.models import AttributionModel
from tracking.selectors import active_version

from ..charts import daily_bars, hbars
from ..figures import csv_header, percent_of
from ..forms import ParamError, ReportFilterForm, by_param, report_filter
from ..selectors.base import campaign_by_public_id
from ..selectors.comparison import MODELS, ComparisonError, model_comparison
from ..selectors.funnel import STEPS, funnel
from ..selectors.lead_modes import lead_modes
from ..selectors.pending_sales import pending_sales
from ..selectors.roi import campaign_roi, roi_list

FUNNEL_TABLES = ("steps", "campaigns", "channels", "daily", "modes")
DETAIL_TABLES = ("figures", "split", "ambassadors")


# --- shared -------------------------------------------------------------------------------------

def _filter_context(request, form: ReportFilterForm) -> dict:
    """What the filter form (templates/reports/roi_filters.html) shows: the choices and the
    values asked for."""
    get = request.GET
    return {
        "periods": form.choices("period"), "period_key": form.data["period"],
        "start": get.get("start", ""), "end": get.get("end", ""),
        "models": form.choices("model"), "model_key": get.get("model", ""),
        "campaign_choices": form.choices("campaign"), "campaigns_selected": get.getlist("campaign"),
        "groups": form.choices("group"), "group_key": get.get("group", ""), "kinds": Kind.choices,
        "kind_key": get.get("kind", ""), "query": get.urlencode(),
    }


def _model_label(organization_id: int, f) -> tuple[str, str]:
    model = f.model or active_version(organization_id)[1]
    return model, AttributionModel(model).label


def _page(request, template: str, build) -> object:
    """Render `template` with the filter form and what `build(f)` returns; 400 with the
    message for a bad parameter."""
    form = ReportFilterForm(request.organization, request.GET)
    context = _filter_context(request, form)
    try:
        f = form.report_filter()
        context.update(build(f))
    except ParamError as error:
        context.update(error=error.message, error_field=error.field)
        return render(request, template, context, status=400)
    context.update(f=f, period=f.period)
    context["model"], context["model_label"] = _model_label(request.organization.pk, f)
    return render(request, template, context)


def _csv_filter(request):
    try:
        return report_filter(request.organization, request.GET), None
    except ParamError as error:
        return None, _bad_csv(request, error.message)


def _bad_csv(request, message: str):
    return render(request, "reports/roi_bad_csv.html", {"error": message}, status=400)


def _campaign(request, public_id) -> Campaign:
    campaign = campaign_by_public_id(request.organization.pk, public_id)
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def _stamp(f) -> str:
    return f"{f.period.start:%Y%m%d}-{f.period.end:%Y%m%d}"


# --- ROI ----------------------------------------------------------------------------------------

ROI_HEADER = ["campaign", "campaign_id", "status", "revenue", "spend", "rewards", "time_cost", "cost", "profit",
              "roi", "leads", "customers", "shares", "cost_per_lead", "cost_per_customer", "revenue_per_share"]


UNALLOCATED = "Spend not allocated (no shares in the period; in no segment's cost)"


def roi_csv_rows(rows):
    """Exact values: money to the cent, ROI in % to 2 places (the ratio's 4), credited leads to 4.
    The campaign rows add up to the total row (reports.roi: the total is the sum of the rounded
    rows); under a kind or group filter each row's spend is the segment's share and the spend no
    segment carries follows the total on its own line, only when there is some (as on the page)."""
    for row in rows:
        fig = row.figures
        campaign = row.campaign
        yield [campaign.name if campaign else "Total (programme)", str(campaign.public_id) if campaign else "",
               campaign.status if campaign else "", fig.revenue, fig.spend, fig.rewards, fig.time_cost, fig.cost,
               fig.profit, percent_of(fig.roi), fig.leads, fig.customers, fig.shares, fig.cost_per_lead,
               fig.cost_per_customer, fig.revenue_per_share]
        if row.is_total and row.unallocated_spend:
            yield [UNALLOCATED, "", "", "", row.unallocated_spend, *[""] * 11]


@role_required(Role.MANAGER)
def roi_page(request, org_slug):
    def build(f):
        rows = roi_list(f)
        pending = pending_sales(f)  # the notice, and on each campaign's row (awaiting a rate, estimated)
        return {"rows": rows[:-1], "total": rows[-1], "pending": pending,
                "rows_pending": [(row, pending.by_campaign.get(row.campaign.pk)) for row in rows[:-1]]}
    return _page(request, "reports/roi.html", build)


@role_required(Role.MANAGER)
def roi_csv(request, org_slug):
    f, bad = _csv_filter(request)
    if bad:
        return bad
    return csv_response(f"roi-{_stamp(f)}.csv", csv_header(ROI_HEADER, request.organization.currency),
                        roi_csv_rows(roi_list(f)))


CAMPAIGN_SPEND = "campaign spend (not split)"
SEGMENT_SPEND = "campaign spend (this segment's share)"
TOTAL_COST = "total (cost = the lines above)"
UNALLOCATED_DETAIL = "spend not allocated (no shares in the period; not in the cost above)"


def detail_csv_table(detail, table: str, currency: str = "", *, filtered: bool = False):
    """A table of the campaign's ROI page as (header, rows); every header and item names its unit.
    `filtered`: under a kind or group filter (the spend line is then the segment's share)."""
    fig = detail.figures
    if table == "figures":
        header = ["item", "value"]
        rows = [("revenue", fig.revenue), ("spend", fig.spend), ("rewards", fig.rewards),
                ("time_cost", fig.time_cost), ("cost", fig.cost), ("profit", fig.profit), ("roi", percent_of(fig.roi)),
                ("leads", fig.leads), ("customers", fig.customers), ("shares", fig.shares),
                ("minutes_per_share", detail.campaign.minutes_per_share), ("cost_per_lead", fig.cost_per_lead),
                ("cost_per_customer", fig.cost_per_customer), ("revenue_per_share", fig.revenue_per_share)]
        if detail.unallocated_spend:  # under a filter: the campaign's spend no segment carries, not in cost
            rows.append(("unallocated_spend", detail.unallocated_spend))
        rows = [(csv_header([item], currency)[0], value) for item, value in rows]
        rows[10] = ("minutes_per_share (min)", rows[10][1])
    elif table == "split":
        # The page's table: the kinds' own costs + the spend line = the cost (the total line), to the cent.
        header = ["kind", "revenue", "rewards", "time_cost", "own_cost", "leads", "customers", "shares",
                  "revenue_per_share"]
        rows = [[s.kind, s.revenue, s.rewards, s.time_cost, s.own_cost, s.leads, s.customers, s.shares,
                 s.revenue_per_share] for s in detail.split]
        rows.append([SEGMENT_SPEND if filtered else CAMPAIGN_SPEND, "", "", "", detail.unsplit_spend, "", "", "", ""])
        rows.append([TOTAL_COST, fig.revenue, fig.rewards, fig.time_cost, fig.cost, fig.leads, fig.customers,
                     fig.shares, fig.revenue_per_share])
        if detail.unallocated_spend:
            rows.append([UNALLOCATED_DETAIL, "", "", "", detail.unallocated_spend, "", "", "", ""])
    else:
        header = ["ambassador", "ambassador_id", "kind", "shares", "hourly_rate", "time_cost", "leads", "revenue"]
        rows = [[a.name, a.public_id, a.kind, a.shares, a.hourly_rate, a.time_cost, a.leads, a.revenue]
                for a in detail.ambassadors]
    return csv_header(header, currency), rows


@role_required(Role.MANAGER)
def roi_detail_page(request, org_slug, public_id):
    campaign = _campaign(request, public_id)

    def build(f):
        detail = campaign_roi(f, campaign.pk)
        return {"detail": detail, "campaign": campaign, "fig": detail.figures,
                "split_own_cost": sum((s.own_cost for s in detail.split), Decimal("0.00"))}
    return _page(request, "reports/roi_detail.html", build)


@role_required(Role.MANAGER)
def roi_detail_csv(request, org_slug, public_id):
    campaign = _campaign(request, public_id)
    table = request.GET.get("table") or "figures"
    if table not in DETAIL_TABLES:
        return _bad_csv(request, f"Unknown table “{table}”; use one of {', '.join(DETAIL_TABLES)}.")
    f, bad = _csv_filter(request)
    if bad:
        return bad
    header, rows = detail_csv_table(campaign_roi(f, campaign.pk), table, request.organization.currency,
                                    filtered=f.filters_ambassadors)
    return csv_response(f"roi-{campaign.slug}-{table}-{_stamp(f)}.csv", header, rows)


# --- funnel -------------------------------------------------------------------------------------

STEP_UNITS = {"shares": "shares", "clicks": "clicks", "unique": "visitors", "leads": "leads (credited)",
              "customers": "customers (credited)"}
RATE_UNITS = {"clicks": "clicks per share", "revenue": None}  # the others: % of the step before


def funnel_csv_table(result, table: str, currency: str = ""):
    """A table of the funnel page as (header, rows): exact values, rates in % (2 places) except
    clicks per share and revenue per customer (money); every column or row names its unit."""
    step_keys = [key for key, _ in STEPS]
    if table == "steps":
        header = ["step", "label", "value", "value_unit", "rate_from_previous", "rate_unit"]
        rows = []
        for s in result.programme.steps:
            rate_unit = RATE_UNITS.get(s.key, "%") or f"{currency} per customer"
            rate = s.rate if s.key in RATE_UNITS else percent_of(s.rate)
            rows.append([s.key, s.label, s.value, STEP_UNITS.get(s.key, currency), rate,
                         "" if s.key == "shares" else rate_unit])
        return header, rows
    elif table == "campaigns":
        header = ["campaign", "campaign_id", *step_keys, *[f"rate_{key}" for key in step_keys[1:]]]
        rows = [[row.campaign.name, str(row.campaign.public_id), *[getattr(row.figures, key) for key in step_keys],
                 *[value if key in RATE_UNITS else percent_of(value) for key, value in row.figures.rates.items()]]
                for row in result.by_campaign]
    elif table == "channels":
        header = ["channel", "label", "shares", "clicks", "unique", "clicks_per_share", "share_of_clicks", "leads",
                  "customers", "revenue"]
        rows = [[c.channel, c.label, c.shares, c.clicks, c.unique, c.clicks_per_share, percent_of(c.share_of_clicks),
                 c.leads, c.customers, c.revenue] for c in result.channels]
    else:
        header = ["day", "shares", "clicks", "unique", "leads", "customers", "revenue"]
        rows = [[d.day.isoformat(), d.shares, d.clicks, d.unique, d.leads, d.customers, d.revenue]
                for d in result.daily]
    return csv_header(header, currency), rows


@role_required(Role.MANAGER)
def funnel_page(request, org_slug):
    def build(f):
        result = funnel(f)
        counted = [s for s in result.programme.steps if s.key != "revenue"]
        return {"funnel": result, "chart": daily_bars([(day.day, day.clicks) for day in result.daily], width=720,
                                                      height=120, name="clicks", label="Clicks"),
                "steps_chart": hbars([(s.label, s.value) for s in counted]),
                "channels_chart": hbars([(c.label, c.clicks) for c in result.channels]),
                "lead_modes": lead_modes(f)}
    return _page(request, "reports/funnel.html", build)


@role_required(Role.MANAGER)
def funnel_csv(request, org_slug):
    table = request.GET.get("table") or "steps"
    if table not in FUNNEL_TABLES:
        return _bad_csv(request, f"Unknown table “{table}”; use one of {', '.join(FUNNEL_TABLES)}.")
    f, bad = _csv_filter(request)
    if bad:
        return bad
    if table == "modes":  # the leads' tracking modes: not from the funnel's figures
        header = ["mode", "label", "leads (all, not only credited)", "share_of_leads (%)"]
        rows = [[m.mode, m.label, m.leads, percent_of(m.share)] for m in lead_modes(f)]
        return csv_response(f"funnel-{table}-{_stamp(f)}.csv", header, rows)
    header, rows = funnel_csv_table(funnel(f), table, request.organization.currency)
    return csv_response(f"funnel-{table}-{_stamp(f)}.csv", header, rows)


# --- model comparison ---------------------------------------------------------------------------

def models_csv_rows(comparison):
    for row in [*comparison.rows, comparison.total]:
        yield [row.name, row.public_id, row.kind,
               *[value for m in row.models for value in (m.leads, m.revenue)],
               row.leads_spread, row.revenue_spread, row.best_model, row.worst_model]


def models_csv_header(by: str) -> list[str]:
    return [by, f"{by}_id", "kind", *[f"{model}_{what}" for model in MODELS for what in ("leads", "revenue")],
            "leads_spread", "revenue_spread", "best_model", "worst_model"]


@role_required(Role.MANAGER)
def models_page(request, org_slug):
    query = request.GET.copy()
    query.pop("by", None)

    def build(f):
        by = by_param(request.GET)
        return {"comparison": model_comparison(f, by), "by": by, "query_without_by": query.urlencode(),
                "model_labels": [AttributionModel(m).label for m in MODELS]}
    return _page(request, "reports/models.html", build)


@role_required(Role.MANAGER)
def models_csv(request, org_slug):
    f, bad = _csv_filter(request)
    if bad:
        return bad
    try:
        by = by_param(request.GET)
        comparison = model_comparison(f, by)
    except (ParamError, ComparisonError) as error:
        return _bad_csv(request, str(error))
    header = csv_header(models_csv_header(by), request.organization.currency)
    return csv_response(f"models-by-{by}-{_stamp(f)}.csv", header, models_csv_rows(comparison))
