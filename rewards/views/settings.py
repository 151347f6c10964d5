"""The reward settings page (admins): point value, minimum payout, holding periods, the click
velocity of the fraud rule, and per-group holding periods. Every change goes through
rewards.services.settings, which writes the audit log."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ambassadors.models import AmbassadorGroup
from common.service_errors import form_errors
from tenancy.models import Role
from tenancy.roles import role_required

from ..forms.settings import GroupHoldingForm, RewardSettingsForm
from ..selectors.money import other_currency_totals
from ..selectors.settings import group_holdings, reward_settings
from ..services import settings as settings_service


def _page(request, *, form=None, holding_form=None, status=200):
    organization = request.organization
    settings = reward_settings(organization.pk)
    return render(request, "rewards/settings_rewards.html", {
        "form": form or RewardSettingsForm.for_settings(settings), "holding_form": holding_form or GroupHoldingForm(),
        "holdings": group_holdings(organization.pk),
        "other_currencies": other_currency_totals(organization.pk, organization.currency)}, status=status)


@role_required(Role.ADMIN)
def reward_settings_page(request, org_slug):
    if request.method != "POST":
        return _page(request)
    form = RewardSettingsForm.for_settings(reward_settings(request.organization.pk), request.POST)
    if form.is_valid():
        with form_errors(form):
            settings_service.update_settings(request.organization.pk, actor=request.user, **form.cleaned_data)
            messages.success(request, "Saved.")
            return redirect("reward_settings", org_slug=org_slug)
    return _page(request, form=form, status=400)


@require_POST
@role_required(Role.ADMIN)
def reward_group_holding(request, org_slug):
    """Set a group's own holding periods."""
    form = GroupHoldingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        with form_errors(form):
            settings_service.set_group_holding(data["group"], actor=request.user,
                                               money_holding_days=data["money_holding_days"],
                                               points_holding_days=data["points_holding_days"])
            messages.success(request, f"Saved the holding periods of {data['group'].name}.")
            return redirect("reward_settings", org_slug=org_slug)
    return _page(request, holding_form=form, status=400)


@require_POST
@role_required(Role.ADMIN)
def reward_group_holding_delete(request, org_slug, group_id):
    group = get_object_or_404(AmbassadorGroup, pk=group_id)
    if settings_service.remove_group_holding(group, actor=request.user):
        messages.success(request, f"{group.name} follows the organisation's holding periods again.")
    return redirect("reward_settings", org_slug=org_slug)
