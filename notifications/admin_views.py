"""The admin's notification settings page: Slack / Teams webhooks (never shown in full), a test
message per channel, the reminder rule, each channel's last problem, and the organisation's
recent deliveries. Admins only; the tenant middleware has already kept other organisations out."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from common.service_errors import ServiceError, form_errors
from tenancy.models import Role
from tenancy.roles import role_required

from .admin_forms import NotificationSettingsForm, TestMessageForm
from .chat import CHAT_CHANNELS, LABELS, mask_url, send_test_message
from .org_settings import recent_deliveries, settings_of, update_settings


def _channels(row) -> list[dict]:
    return [{"channel": channel, "label": LABELS[channel],
             "masked_url": mask_url(getattr(row, f"{channel}_webhook_url")),
             "problem": getattr(row, f"{channel}_problem"), "problem_at": getattr(row, f"{channel}_problem_at")}
            for channel in CHAT_CHANNELS]


@role_required(Role.ADMIN)
def notification_settings(request, org_slug):
    organization = request.organization
    row = settings_of(organization)
    form = NotificationSettingsForm(request.POST or None, current=row, initial={
        "reminders_enabled": row.reminders_enabled, "reminder_after_days": row.reminder_after_days})
    if request.method == "POST" and form.is_valid():
        with form_errors(form):
            update_settings(organization, **form.webhook_urls(),
                            reminders_enabled=form.cleaned_data["reminders_enabled"],
                            reminder_after_days=form.cleaned_data["reminder_after_days"])
            messages.success(request, "Notification settings saved.")
            return redirect("notification_settings", org_slug=organization.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "notifications/admin_settings.html", {
        "form": form, "channels": _channels(row), "deliveries": recent_deliveries(),
    }, status=status)


@require_POST
@role_required(Role.ADMIN)
def notification_test(request, org_slug):
    """Post a test message to one channel now (the POST waits at most chat.MAX_TIMEOUT)."""
    form = TestMessageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick Slack or Microsoft Teams to send a test message to.")
        return redirect("notification_settings", org_slug=org_slug)
    try:
        result = send_test_message(request.organization, form.cleaned_data["channel"])
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("notification_settings", org_slug=org_slug)
