"""The attribution settings page (admins): reporting model, window, half-life, and the
progress of a recompute."""

from django.contrib import messages
from django.shortcuts import redirect, render

from tenancy.models import Role
from tenancy.roles import role_required

from ..forms import AttributionSettingsForm
from ..services.attribution_settings import SettingsError, change_settings, settings_for
from ..tasks import queue_settings_change


@role_required(Role.ADMIN)
def attribution_settings(request, org_slug):
    settings = settings_for(request.organization.pk)
    initial = {"reporting_model": settings.reporting_model,
               "window_days": settings.pending_window_days or settings.window_days,
               "half_life_days": settings.pending_half_life_days or settings.half_life_days}
    form = AttributionSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            change = change_settings(request.organization.pk, **form.cleaned_data)
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
    return render(request, "tracking/attribution_settings.html", {"form": form, "settings": settings})
