"""Reads for notifications (inside the organisation's scope)."""

from ambassadors.models import Ambassador
from ambassadors.models import Status as AmbassadorStatus

from .models import Delivery, DeliveryChannel, Frequency, Kind
from .preferences import ALLOWED, all_frequencies


def targeted_ambassador_ids(campaign) -> list[int]:
    """The active ambassadors a campaign is for: everyone without target groups, else its groups'
    members (each once)."""
    ambassadors = Ambassador.objects.filter(status=AmbassadorStatus.ACTIVE)
    targets = list(campaign.target_groups.values_list("pk", flat=True))
    if targets:
        ambassadors = ambassadors.filter(groups__in=targets)
    return sorted(set(ambassadors.values_list("pk", flat=True)))


def preference_rows(ambassador, channel: str = DeliveryChannel.EMAIL) -> list[dict]:
    """Per kind: its label, the current frequency and the frequencies it offers (the preferences page)."""
    current = all_frequencies(ambassador, channel)
    return [{"kind": kind, "label": Kind(kind).label, "frequency": current[kind],
             "choices": [(f, Frequency(f).label) for f in ALLOWED[kind]]} for kind in Kind.values]


def recent_deliveries_of(ambassador, limit: int = 20):
    """The ambassador's own latest e-mails (the preferences page shows what was sent)."""
    return (Delivery.objects.filter(ambassador=ambassador, channel=DeliveryChannel.EMAIL)
            .select_related("campaign").order_by("-created_at", "-pk")[:limit])
