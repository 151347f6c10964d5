"""Fraud case pages (admins): the cases with their reasons, one case with its signals and the
entries it holds, and the decision: release (not fraud: the entries go back to pending, or
approved when due) or confirm (fraud: the entries are canceled). rewards.services.fraud decides
and audits; these parse and render."""

from functools import wraps

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from common.service_errors import form_errors
from tenancy.models import Role
from tenancy.roles import role_required

from ..forms.fraud import CaseDecisionForm
from ..models import CaseStatus, FraudCase
from ..selectors import fraud as selectors
from ..services import fraud


def _in_org_time(view):
    """Pages show times in the organisation's time zone."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        with timezone.override(request.organization.tzinfo):
            return view(request, *args, **kwargs)
    return wrapped


@role_required(Role.ADMIN)
@_in_org_time
def case_list(request, org_slug):
    status = request.GET.get("status", CaseStatus.OPEN)
    if status not in CaseStatus.values:
        status = CaseStatus.OPEN
    counts = selectors.status_counts()
    return render(request, "rewards/fraud_list.html", {
        "cases": selectors.cases(status)[:200], "status": status,
        "statuses": [(value, label, counts[value]) for value, label in CaseStatus.choices]})


def _detail(request, case, form=None, status=200):
    return render(request, "rewards/fraud_detail.html", {
        "case": case, "signals": case.signals.order_by("created_at", "pk"),
        "entries": selectors.case_entries(case)[:500], "held": selectors.held_totals(case),
        "form": form or CaseDecisionForm(), "is_open": case.status == CaseStatus.OPEN}, status=status)


@role_required(Role.ADMIN)
@_in_org_time
def case_detail(request, org_slug, public_id):
    case = get_object_or_404(FraudCase.objects.select_related("ambassador", "closed_by"), public_id=public_id)
    return _detail(request, case)


@require_POST
@role_required(Role.ADMIN)
@_in_org_time
def case_release(request, org_slug, public_id):
    """Not fraud: the held entries go back (approved where due)."""
    return _decide(request, org_slug, public_id, "release")


@require_POST
@role_required(Role.ADMIN)
@_in_org_time
def case_confirm(request, org_slug, public_id):
    """Fraud: the held entries are canceled (a note is required)."""
    return _decide(request, org_slug, public_id, "confirm")


def _decide(request, org_slug, public_id, decision):
    case = get_object_or_404(FraudCase.objects.select_related("ambassador", "closed_by"), public_id=public_id)
    form = CaseDecisionForm(request.POST)
    if form.is_valid():
        with form_errors(form):
            if decision == "confirm":
                fraud.confirm(case, request.user, form.cleaned_data["note"])
                messages.success(request, f"Fraud confirmed: {case.ambassador.display_name}'s held entries are "
                                          "canceled.")
            else:
                fraud.release(case, request.user, form.cleaned_data["note"])
                messages.success(request, f"Case released: {case.ambassador.display_name}'s held entries are back "
                                          "(approved where their holding period is over).")
            return redirect("fraud_case", org_slug=org_slug, public_id=case.public_id)
    case.refresh_from_db()
    return _detail(request, case, form=form, status=409 if case.status != CaseStatus.OPEN else 400)
