"""The points catalogue's pages: the ambassador's catalogue (balance, items, their redemptions,
redeem), the admins' catalogue management and their redemptions queue. Thin: the rules are
rewards.services.points', the reads rewards.selectors.points'."""

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ambassadors.selectors import ambassador_of
from common.service_errors import form_errors
from tenancy.models import Role
from tenancy.roles import role_required

from ..forms.points import CatalogueItemForm, DecisionForm
from ..models import CatalogueItem, Redemption, RedemptionStatus
from ..selectors.points import SPENDING, catalogue_for, points_summary, redemption_queue, redemptions_of
from ..services import RewardError
from ..services import points as points_service

# --- the ambassador's catalogue ------------------------------------------------------------------------


def _catalogue(request, me, *, problem: str = "", status: int = 200):
    summary = points_summary(me)
    return render(request, "rewards/points_catalogue.html", {
        "me": me, "summary": summary, "offers": catalogue_for(me, balance=summary.balance),
        "redemptions": redemptions_of(me)[:50], "problem": problem}, status=status)


def points_catalogue(request, org_slug):
    """Reward points to spend: the balance, what the catalogue offers the ambassador, and their
    redemptions."""
    me = ambassador_of(request.user)
    if me is None:
        return render(request, "rewards/points_catalogue.html", {"me": None})
    return _catalogue(request, me)


@require_POST
def points_redeem(request, org_slug, public_id):
    me = ambassador_of(request.user)
    item = get_object_or_404(CatalogueItem, public_id=public_id)
    if me is None:
        raise Http404("You have no ambassador profile in this organisation.")
    try:
        redemption = points_service.request_redemption(me, item, actor=request.user)
    except RewardError as error:
        return _catalogue(request, me, problem=error.message, status=400)
    if redemption.status == RedemptionStatus.APPROVED:
        messages.success(request, f"Redeemed: {item.name} for {redemption.points:,} points. It is approved; "
                                  "an admin will hand it over.")
    else:
        messages.success(request, f"Requested: {item.name} for {redemption.points:,} points. An admin approves "
                                  "a first redemption; the points are set aside meanwhile and come back if it is "
                                  "declined.")
    return redirect("points_catalogue", org_slug=org_slug)


# --- the admins' catalogue -----------------------------------------------------------------------------

def _items():
    return CatalogueItem.objects.prefetch_related("groups").annotate(
        redeemed=Count("redemptions", filter=Q(redemptions__status__in=SPENDING))).order_by("-active", "points_cost",
                                                                                            "name")


def _item_fields(form) -> dict:
    return {name: form.cleaned_data[name] for name in ("name", "description", "points_cost", "stock",
                                                       "per_ambassador_limit", "groups", "active")}


@role_required(Role.ADMIN)
def points_manage_catalogue(request, org_slug):
    form = CatalogueItemForm(request.POST or None, initial={"active": True})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with form_errors(form):
                item = points_service.create_item(organization=request.organization, actor=request.user,
                                                  **_item_fields(form))
                messages.success(request, f"Added “{item.name}” to the catalogue.")
                return redirect("points_manage_catalogue", org_slug=org_slug)
        status = 400
    waiting = Redemption.objects.filter(status=RedemptionStatus.REQUESTED).count()
    return render(request, "rewards/points_manage.html", {"items": _items(), "form": form, "waiting": waiting},
                  status=status)


@role_required(Role.ADMIN)
def points_manage_item(request, org_slug, public_id):
    item = get_object_or_404(CatalogueItem, public_id=public_id)
    form = CatalogueItemForm.for_item(item, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with form_errors(form):
                points_service.update_item(item, actor=request.user, **_item_fields(form))
                messages.success(request, "Saved.")
                return redirect("points_manage_catalogue", org_slug=org_slug)
        status = 400
    return render(request, "rewards/points_item.html", {
        "item": item, "form": form,
        "redemptions": Redemption.objects.filter(item=item).select_related("ambassador")[:20]}, status=status)


@require_POST
@role_required(Role.ADMIN)
def points_manage_item_delete(request, org_slug, public_id):
    item = get_object_or_404(CatalogueItem, public_id=public_id)
    try:
        points_service.delete_item(item, actor=request.user)
    except RewardError as error:
        messages.error(request, error.message)
        return redirect("points_manage_item", org_slug=org_slug, public_id=item.public_id)
    messages.success(request, f"Deleted “{item.name}”.")
    return redirect("points_manage_catalogue", org_slug=org_slug)


# --- the redemptions queue -----------------------------------------------------------------------------

QUEUE_FILTERS = [("", "All"), *RedemptionStatus.choices]


@role_required(Role.ADMIN)
def points_redemptions(request, org_slug):
    """Redemptions, those waiting for a decision first: approve, mark fulfilled, or decline
    (the points go back to the ambassador and the item back in stock)."""
    status = request.GET.get("status", RedemptionStatus.REQUESTED)
    if status not in dict(QUEUE_FILTERS):
        status = RedemptionStatus.REQUESTED
    counts = dict(Redemption.objects.values_list("status").annotate(n=Count("id")).order_by())
    return render(request, "rewards/points_redemptions.html", {
        "redemptions": redemption_queue(request.organization.pk, status or None)[:200], "status": status,
        "filters": [(key, label, counts.get(key, sum(counts.values()) if not key else 0))
                    for key, label in QUEUE_FILTERS],
        "form": DecisionForm()})


DECISIONS = {
    "approve": (points_service.approve_redemption, "Approved"),
    "fulfil": (points_service.fulfil_redemption, "Marked fulfilled"),
    "decline": (points_service.decline_redemption, "Declined; the points are back in the ambassador's balance"),
}


def _decide(request, org_slug, public_id, decision: str):
    redemption = get_object_or_404(Redemption.objects.select_related("item", "ambassador"), public_id=public_id)
    decide, done = DECISIONS[decision]
    form = DecisionForm(request.POST)
    back = request.POST.get("status_filter", "")
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("note", ["The note is not valid."])))
    else:
        try:
            decide(redemption, actor=request.user, note=form.cleaned_data["note"])
        except RewardError as error:
            messages.error(request, f"{redemption.item.name} for {redemption.ambassador}: {error.message}")
        else:
            messages.success(request, f"{done}: {redemption.item.name} for {redemption.ambassador}.")
    url = redirect("points_redemptions", org_slug=org_slug)
    if back in dict(QUEUE_FILTERS):
        url["Location"] += f"?status={back}"
    return url


# One view per decision (no extra URL kwargs: each route's parameters are its path's).
@require_POST
@role_required(Role.ADMIN)
def points_redemption_approve(request, org_slug, public_id):
    return _decide(request, org_slug, public_id, "approve")


@require_POST
@role_required(Role.ADMIN)
def points_redemption_fulfil(request, org_slug, public_id):
    return _decide(request, org_slug, public_id, "fulfil")


@require_POST
@role_required(Role.ADMIN)
def points_redemption_decline(request, org_slug, public_id):
    return _decide(request, org_slug, public_id, "decline")
