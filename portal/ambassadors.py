"""The managers' ambassadors list: the ambassadors' filters (ambassadors.selectors) with
performance columns over a chosen period (reports.selectors.ambassador), sorted on the server
and paginated; each name links to the profile, each row to the performance drill-down. It lives
in the portal because it composes two apps (ambassadors below reports).

    ?q=…&status=…&kind=…&group=…            which ambassadors (as before)
    ?period=…&start=…&end=…&model=…           the period and model of the figures (reports.forms)
    ?sort=name|clicks|leads|revenue|points|earned, "-" first for descending (default name)
    ?page=n

A bad period, model or sort is answered 400 with the page and a message saying what was wrong."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.shortcuts import render

from ambassadors import selectors
from ambassadors.models import AmbassadorGroup, Kind, Status
from reports.forms import ParamError, ReportFilterForm, report_filter
from reports.selectors.ambassador import NO_FIGURES, SORTS, SortError, list_figures, sort_param, sorted_ids
from tenancy.models import Role
from tenancy.roles import role_required

PAGE_SIZE = 50
PERIOD_PARAMS = ("period", "start", "end", "model")


@role_required(Role.MANAGER)
def ambassador_list(request, org_slug):
    get = request.GET
    filters = {k: get.get(k, "") for k in ("status", "kind", "group", "q")}
    form = ReportFilterForm(request.organization, get)
    context = {
        "filters": filters, "kinds": Kind.choices, "groups": AmbassadorGroup.objects.all(),
        "periods": form.choices("period"), "period_key": form.data["period"], "start": get.get("start", ""),
        "end": get.get("end", ""), "models": form.choices("model"), "model_key": get.get("model", ""),
        "sort": get.get("sort", ""), "ambassadors": [], "error": None,
    }
    counts = selectors.status_counts()
    context["statuses"] = [(value, label, counts[value]) for value, label in Status.choices]
    try:
        f = report_filter(request.organization, {name: get.get(name, "") for name in PERIOD_PARAMS})
        column, descending = sort_param(get.get("sort"))
    except ParamError as error:
        context.update(error=error.message, error_field=error.field)
        return render(request, "ambassadors/list.html", context, status=400)
    except SortError as error:
        context.update(error=str(error), error_field="sort")
        return render(request, "ambassadors/list.html", context, status=400)

    matching = selectors.ambassadors_for_list(status=filters["status"], kind=filters["kind"],
                                              group_id=filters["group"], q=filters["q"])
    ids_and_names = list(matching.values_list("id", "display_name"))
    if column == "name":  # figures only for the page shown
        order = sorted_ids(ids_and_names, {}, column, descending)
        page = Paginator(order, PAGE_SIZE).get_page(get.get("page"))
        figures = list_figures(f, list(page.object_list)) if page.object_list else {}
    else:  # figures of everyone, to sort by them
        figures = list_figures(f)
        page = Paginator(sorted_ids(ids_and_names, figures, column, descending), PAGE_SIZE).get_page(get.get("page"))
    shown = {a.pk: a for a in matching.filter(id__in=list(page.object_list))}
    rows = []
    for pk in page.object_list:
        ambassador = shown[pk]
        ambassador.performance = figures.get(pk, NO_FIGURES)
        rows.append(ambassador)

    query = get.copy()
    query.pop("page", None)
    query.pop("sort", None)
    headers = _sort_headers(query, column, descending)
    period_query = {name: get[name] for name in PERIOD_PARAMS if get.get(name)}
    context.update(
        ambassadors=rows, page=page, period=f.period, name_header=headers[0], sort_headers=headers[1:],
        query_without_page=_without(get, "page"), period_query=urlencode(period_query))
    return render(request, "ambassadors/list.html", context)


def _without(params, name: str) -> str:
    query = params.copy()
    query.pop(name, None)
    return query.urlencode()


def _sort_headers(query, column: str, descending: bool) -> list[dict]:
    """Per sortable column (name first): its label, the query string that sorts by it (the
    current column flips direction; a figure column starts with the highest first) and its
    aria-sort state."""
    headers = []
    for name, label in SORTS.items():
        if name == column:
            value, state = (name if descending else f"-{name}"), ("descending" if descending else "ascending")
        else:
            value, state = (name if name == "name" else f"-{name}"), "none"
        params = query.copy()
        params["sort"] = value
        headers.append({"name": name, "label": label, "query": params.urlencode(), "aria": state})
    return headers
