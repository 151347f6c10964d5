"""The audit log (owners and admins): every money and points action, who, when, what, before and
after; filtered by action, object and days (the organisation's time zone), and exported as CSV
with the same filters (cells a spreadsheet would run as formulas are neutralised)."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from common.csv_export import csv_response
from tenancy.models import Role
from tenancy.roles import role_required

from ..forms.audit import AuditFilterForm
from ..models import AuditEntry
from ..selectors import audit

PAGE_SIZE = 100


def _filtered(request):
    form = AuditFilterForm(request.GET or None, tzinfo=request.organization.tzinfo)
    if not form.is_bound:
        return form, audit.audit_entries()
    if not form.is_valid():
        return form, AuditEntry.objects.none()
    return form, audit.audit_entries(**form.filters())


@role_required(Role.ADMIN)
def audit_log(request, org_slug):
    form, entries = _filtered(request)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = audit.with_pairs(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    with timezone.override(request.organization.tzinfo):
        return render(request, "rewards/audit_list.html", {
            "form": form, "page": page, "query": query.urlencode()},
            status=400 if form.is_bound and not form.is_valid() else 200)


@role_required(Role.ADMIN)
def audit_log_csv(request, org_slug):
    form, entries = _filtered(request)
    if form.is_bound and not form.is_valid():
        with timezone.override(request.organization.tzinfo):
            return render(request, "rewards/audit_list.html", {"form": form, "page": None, "query": ""}, status=400)
    stamp = timezone.localtime(timezone.now(), request.organization.tzinfo)
    return csv_response(f"audit-log-{request.organization.slug}-{stamp:%Y-%m-%d}.csv", audit.CSV_HEADER,
                        audit.csv_rows(request.organization.pk, entries))
