"""Writes of the ambassador's portal."""

from django.utils import timezone

from ambassadors.models import Ambassador


def mark_onboarded(ambassador) -> None:
    """The ambassador pressed "Got it" on the welcome: don't show it again (on any device)."""
    now = timezone.now()
    Ambassador.objects.filter(pk=ambassador.pk, onboarded_at__isnull=True).update(onboarded_at=now)
    ambassador.onboarded_at = ambassador.onboarded_at or now
