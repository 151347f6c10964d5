"""Payout pages. Admins: the runs (and what a new run would pay and leave out), making a run with
exclusions, a run's review, confirm, cancel, the payout files, mark paid. The ambassador: their
payout details (masked; changing them needs the password). Thin: the rules are
rewards.services.payouts / payout_files / payout_details'."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ambassadors.models import Ambassador
from ambassadors.selectors import ambassador_of
from common.service_errors import form_errors
from tenancy.models import Role
from tenancy.roles import role_required

from ..forms.payouts import PayoutDetailsForm, RunForm
from ..services import RewardError, payout_details, payout_files, payouts


def _run_or_404(request, public_id):
    run = payouts.run_by_public_id(request.organization.pk, public_id)
    if run is None:
        raise Http404("No such payout run.")
    return run


def _candidates(plan) -> list[tuple[str, str]]:
    by_id = {a.pk: a for a in Ambassador.objects.filter(pk__in={due.ambassador_id for due in plan.included})}
    amounts: dict[int, list[str]] = {}
    for due in plan.included:
        amounts.setdefault(due.ambassador_id, []).append(f"{due.amount:.2f} {due.currency}")
    ordered = sorted(by_id.values(), key=lambda a: (a.display_name.lower(), a.pk))
    return [(str(a.public_id), f"{a.display_name} ({a.email}): {', '.join(amounts[a.pk])}") for a in ordered]


def _runs_page(request, form=None, *, status=200):
    organization_id = request.organization.pk
    plan = payouts.preview(organization_id)
    form = form or RunForm(candidates=_candidates(plan))
    return render(request, "rewards/payouts_list.html", {
        "runs": payouts.runs(organization_id)[:100], "open_run": payouts.open_run(organization_id),
        "plan": plan, "form": form}, status=status)


@role_required(Role.ADMIN)
def payout_runs(request, org_slug):
    return _runs_page(request)


@require_POST
@role_required(Role.ADMIN)
def payout_run_create(request, org_slug):
    organization_id = request.organization.pk
    form = RunForm(request.POST, candidates=_candidates(payouts.preview(organization_id)))
    if form.is_valid():
        excluded = list(Ambassador.objects.filter(public_id__in=form.cleaned_data["exclude"]))
        with form_errors(form):
            run = payouts.create_run(organization_id, request.user, exclude=excluded, note=form.cleaned_data["note"])
            messages.success(request, f"Payout run made: {run.items.count()} payment(s) to review.")
            return redirect("payout_run", org_slug=org_slug, public_id=run.public_id)
    return _runs_page(request, form, status=400)


@role_required(Role.ADMIN)
def payout_run(request, org_slug, public_id):
    run = _run_or_404(request, public_id)
    review = payouts.review(run)
    return render(request, "rewards/payouts_review.html", {
        "run": run, "review": review, "files": payout_files.FILES,
        "exportable": run.status in payout_files.EXPORTABLE, "is_open": run.status in payouts.OPEN_STATUSES})


def _act(request, org_slug, public_id, perform, done: str):
    run = _run_or_404(request, public_id)
    try:
        perform(run, request.user)
    except RewardError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("payout_run", org_slug=org_slug, public_id=run.public_id)


@require_POST
@role_required(Role.ADMIN)
def payout_run_confirm(request, org_slug, public_id):
    return _act(request, org_slug, public_id, payouts.confirm,
                "Run confirmed: download its files and pay them, then mark it paid.")


@require_POST
@role_required(Role.ADMIN)
def payout_run_cancel(request, org_slug, public_id):
    return _act(request, org_slug, public_id, payouts.cancel,
                "Run canceled: its earnings are approved again, for the next run.")


@require_POST
@role_required(Role.ADMIN)
def payout_run_mark_paid(request, org_slug, public_id):
    return _act(request, org_slug, public_id, payouts.mark_paid, "Run marked paid: each ambassador is told by e-mail.")


@role_required(Role.ADMIN)
def payout_run_export(request, org_slug, public_id):
    """?file=paypal|wise|generic|payroll (&currency=EUR for PayPal): the file, or back to the run
    with the reason it can't be made."""
    run = _run_or_404(request, public_id)
    try:
        made = payout_files.export(run, request.GET.get("file", ""), actor=request.user,
                                   currency=request.GET.get("currency") or None)
    except RewardError as error:
        messages.error(request, error.message)
        return redirect("payout_run", org_slug=org_slug, public_id=run.public_id)
    return file_response(made)


def file_response(made) -> HttpResponse:
    response = HttpResponse(made.content, content_type=made.content_type)
    response["Content-Disposition"] = f'attachment; filename="{made.filename}"'
    response["Cache-Control"] = "no-store"  # it holds payout details: no cache keeps a copy
    return response


# --- The ambassador's payout details ---------------------------------------------------------------------

def my_payout_details(request, org_slug):
    me = ambassador_of(request.user)
    if me is None:
        raise Http404("You have no ambassador profile in this organisation.")
    current = payout_details.details_of(me)
    form = PayoutDetailsForm(request.POST or None, needs_password=current is not None,
                             initial={"method": current.method if current else ""})
    if request.method == "POST" and form.is_valid():
        with form_errors(form):
            payout_details.set_details(me, user=request.user, **form.cleaned_data)
            messages.success(request, "Your payout details are saved. We e-mailed you about the change.")
            return redirect("payout_details", org_slug=org_slug)
    return render(request, "rewards/payouts_details.html", {
        "me": me, "current": current, "form": form},
        status=400 if form.is_bound else 200)
