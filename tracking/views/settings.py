"""The attribution settings page (admins): reporting model, window, half-life, and the
progress of a recompute; below it, how visitors are tracked on the organisation's own site
(the snippet's mode and cookie lifetime, the short links' visitor cookie) and the snippet's tag.
Each form posts its own `section`, so saving one never touches the other."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from tenancy.models import Role
from tenancy.roles import role_required

from ..forms import AttributionSettingsForm, TrackingSettingsForm
from ..services.attribution_settings import SettingsError, change_settings, settings_for
from ..services.tracking_settings import change_tracking, tracking_settings_for
from ..tasks import queue_settings_change

TRACKING_SECTION = "tracking"


@role_required(Role.ADMIN)
def attribution_settings(request, org_slug):
    organization_id = request.organization.pk
    settings = settings_for(organization_id)
    tracking = tracking_settings_for(organization_id)
    section = request.POST.get("section") if request.method == "POST" else None
    initial = {"reporting_model": settings.reporting_model,
               "window_days": settings.pending_window_days or settings.window_days,
               "half_life_days": settings.pending_half_life_days or settings.half_life_days}
    form = AttributionSettingsForm(request.POST if request.method == "POST" and section != TRACKING_SECTION
                                   else None, initial=initial)
    tracking_form = TrackingSettingsForm(
        request.POST if section == TRACKING_SECTION else None,
        initial={"mode": tracking.mode, "cookie_days": tracking.cookie_days, "visitor_cookie": tracking.visitor_cookie})
    if section == TRACKING_SECTION:
        if tracking_form.is_valid():
            try:
                change_tracking(organization_id, **tracking_form.cleaned_data)
            except SettingsError as error:
                tracking_form.add_error(error.field, error.message)
            else:
                messages.success(request, "Saved. Sites that load the snippet get the new mode within 5 minutes, "
                                          "short links within seconds.")
                return redirect("attribution_settings", org_slug=org_slug)
    elif request.method == "POST" and form.is_valid():
        try:
            change = change_settings(organization_id, **form.cleaned_data)
        except SettingsError as error:
            form.add_error(error.field, error.message)
        else:
            queue_settings_change(change)
            if change.recompute_started:
                messages.success(request, "Saved. Credits are being recomputed with the new window and half-life; "
                                          "reports keep showing the current figures until that is done.")
            elif change.recompute_cancelled:
                messages.success(request, "Saved. The window and half-life are back to the values in use, so the "
                                          "recompute was cancelled.")
            else:
                messages.success(request, "Saved.")
            return redirect("attribution_settings", org_slug=org_slug)
    snippet_url = request.build_absolute_uri(reverse("amb_js")) + f"?org={request.organization.slug}"
    return render(request, "tracking/attribution_settings.html", {
        "form": form, "settings": settings, "tracking_form": tracking_form, "tracking": tracking,
        "snippet_url": snippet_url})
