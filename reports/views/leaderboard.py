"""The leaderboard page (ranking and fair view), its CSV, and the points rules page."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from common.csv_export import csv_response
from tenancy.models import Role
from tenancy.roles import role_required
from tracking.models import AttributionModel
from tracking.selectors import active_version

from ..figures import csv_header
from ..forms import LeaderboardFilterForm, ParamError, PointsRulesForm, metric_param, report_filter
from ..selectors.leaderboard import METRICS, fair_view, leaderboard, leaderboard_page
from ..selectors.points import points_rules
from ..services import RulesError, update_points_rules

VIEWS = ("ranking", "fair")
LEADER_HEADER = ["rank", "previous_rank", "movement", "ambassador_id", "name", "kind", "status", "shares", "clicks",
                 "unique_clicks", "leads", "customers", "revenue", "points"]
FAIR_HEADER = ["section", "key", "name", "ambassadors", "active", "shares", "clicks", "leads", "revenue", "points",
               "avg_shares", "avg_clicks", "avg_leads", "avg_revenue", "avg_points"]


def parse(request, form=None):
    """(ReportFilter, metric, view) from the query string (through the page's filter form, if
    given); ParamError on a bad parameter."""
    f = form.report_filter() if form is not None else report_filter(request.organization, request.GET)
    metric = metric_param(request.GET)
    view = request.GET.get("view") or "ranking"
    if view not in VIEWS:
        raise ParamError("view", f"Unknown view “{view}”; use ranking or fair.")
    return f, metric, view


def leader_csv_row(row) -> list:
    return [row.rank, row.previous_rank, row.movement, row.public_id, row.name, row.kind, row.status, row.shares,
            row.clicks, row.unique_clicks, row.leads, row.customers, row.revenue, row.points]


def fair_csv_row(row) -> list:
    return [row.section, row.key, row.name, row.ambassadors, row.active, row.shares, row.clicks, row.leads,
            row.revenue, row.points, row.avg_shares, row.avg_clicks, row.avg_leads, row.avg_revenue, row.avg_points]


def _page_number(value: str | None) -> int:
    """The page asked for: a bad or missing number is the first page, as Django's get_page does
    (the selector serves the last page for a number past it)."""
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return number if number >= 1 else 1


@role_required(Role.MANAGER)
def report_leaderboard(request, org_slug):
    organization = request.organization
    context = {"metrics": METRICS, "error": None, "rows": None, "fair": None}
    status = 200
    reporting_model = active_version(organization.pk)[1]
    form = LeaderboardFilterForm(organization, request.GET, reporting_model=reporting_model)
    try:
        f, metric, view = parse(request, form)
    except ParamError as error:
        context["error"] = error
        status = 400
        metric, view = request.GET.get("metric") or "points", request.GET.get("view") or "ranking"
    else:
        context.update(filter=f, period=f.period, model=f.model or reporting_model,
                       model_label=AttributionModel(f.model or reporting_model).label.lower())
        if view == "fair":
            context["fair"] = fair_view(f)
        else:
            page = leaderboard_page(f, metric, _page_number(request.GET.get("page")))
            context.update(rows=page.rows, totals=page.totals, page=page)
    query = request.GET.copy()
    query.pop("view", None)
    query.pop("page", None)  # a page number belongs to one view, metric and filter
    base = reverse("report_leaderboard", args=[org_slug])
    fair_query, ranking_query = query.copy(), query.copy()
    fair_query["view"] = "fair"
    context.update(
        form=form, metric=metric, metric_label=METRICS.get(metric, metric), view=view,
        reporting_model=reporting_model, rules=points_rules(organization.pk),
        ranking_url=f"{base}?{ranking_query.urlencode()}", fair_url=f"{base}?{fair_query.urlencode()}",
        query_without_page=ranking_query.urlencode(),
        csv_url=f"{reverse('report_leaderboard_csv', args=[org_slug])}?{request.GET.urlencode()}")
    return render(request, "reports/leaderboard.html", context, status=status)


@role_required(Role.MANAGER)
def report_leaderboard_csv(request, org_slug):
    try:
        f, metric, view = parse(request)
    except ParamError as error:
        return render(request, "reports/leaderboard_error.html", {"error": error}, status=400)
    stamp = f"{f.period.start:%Y%m%d}-{f.period.end:%Y%m%d}"
    currency = request.organization.currency  # each column names its unit: "revenue (EUR)", "leads (credited)"
    if view == "fair":
        return csv_response(f"leaderboard-fair-{stamp}.csv", csv_header(FAIR_HEADER, currency),
                            map(fair_csv_row, fair_view(f)))
    return csv_response(f"leaderboard-{metric}-{stamp}.csv", csv_header(LEADER_HEADER, currency),
                        map(leader_csv_row, leaderboard(f, metric)))


@role_required(Role.ADMIN)
def manage_points_rules(request, org_slug):
    rules = points_rules(request.organization.pk)
    form = PointsRulesForm(request.POST or None, instance=rules)
    if request.method == "POST" and form.is_valid():
        try:
            update_points_rules(request.organization.pk, **{name: form.cleaned_data[name] for name in form.fields})
        except RulesError as error:
            for field, field_messages in error.errors.items():
                for message in field_messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, "Saved. Points everywhere are now computed with these rules.")
            return redirect("points_rules", org_slug=org_slug)
    return render(request, "reports/points_rules.html", {"form": form, "rules": rules})
