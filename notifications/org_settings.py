"""An organisation's notification settings (its Slack / Teams webhooks and its reminder rule):
reading them, changing them, and the recent deliveries the settings page lists. Call inside the
organisation's scope."""

from __future__ import annotations

from django.db import transaction

from common.service_errors import ServiceError

from .chat import CHAT_CHANNELS, validate_webhook_url
from .models import Delivery, NotificationSettings

RECENT_DELIVERIES = 50
KEEP = None  # update_settings: leave this webhook URL as it is


def settings_of(organization) -> NotificationSettings:
    """The organisation's settings row (created with the defaults on first use)."""
    row, _ = NotificationSettings.objects.get_or_create(organization_id=organization.pk)
    return row


def update_settings(organization, *, slack_webhook_url: str | None = KEEP, teams_webhook_url: str | None = KEEP,
                    reminders_enabled: bool, reminder_after_days: int) -> NotificationSettings:
    """Save the settings. A webhook URL of KEEP (None) stays as it is, "" removes it, anything
    else must be a valid address for its channel (ServiceError on its field). A changed address
    starts afresh: the old address's problem is cleared."""
    if not 1 <= int(reminder_after_days) <= 60:
        raise ServiceError("reminder_after_days", "Remind after 1 to 60 days.")
    new_urls = {}
    for channel, url in zip(CHAT_CHANNELS, (slack_webhook_url, teams_webhook_url), strict=True):
        if url is not KEEP:
            new_urls[channel] = validate_webhook_url(channel, url) if url.strip() else ""
    with transaction.atomic():
        row = settings_of(organization)
        row = NotificationSettings.objects.select_for_update().get(pk=row.pk)
        for channel, url in new_urls.items():
            if url != getattr(row, f"{channel}_webhook_url"):
                setattr(row, f"{channel}_webhook_url", url)
                setattr(row, f"{channel}_problem", "")
                setattr(row, f"{channel}_problem_at", None)
        row.reminders_enabled = bool(reminders_enabled)
        row.reminder_after_days = int(reminder_after_days)
        row.save()
    return row


def recent_deliveries(limit: int = RECENT_DELIVERIES) -> list[Delivery]:
    """The organisation's latest deliveries, newest first (the scope keeps them its own)."""
    return list(Delivery.objects.select_related("ambassador", "campaign").order_by("-created_at", "-pk")[:limit])
