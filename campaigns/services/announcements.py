"""Telling ambassadors a campaign is live, once ever.

A campaign is announced when it is live (active and inside its dates) for the first time: on the
save that publishes it (`announce_if_live`, called in save_campaign's transaction), or, for one
published with a start in the future, by the beat once it has started (`announce_started`, which
also catches any campaign activated without save_campaign, e.g. in the Django admin).

`announced_at` is set by a conditional UPDATE (…WHERE announced_at IS NULL) in the same transaction
that writes the "campaign.live" event to the outbox (common.outbox), so the event exists exactly
when the mark does; the event's key (campaign.live:<pk>) makes a second writer's event a no-op.
Campaigns are below notifications: the outbox is how they cause the e-mails without importing them."""

from datetime import UTC

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled

from common import outbox
from common.events import publish
from tenancy.scoping import tenant_scope

from ..models import Campaign, CampaignStatus

TOPIC = "campaign.live"
ANNOUNCE_BATCH = 200  # campaigns per beat run; the next run takes the rest


def announcement_key(campaign_id: int) -> str:
    return f"{TOPIC}:{campaign_id}"


def announce_if_live(campaign: Campaign, *, now=None) -> bool:
    """If the campaign is live and was never announced: mark it announced and write the
    announcement to the outbox, in the caller's transaction. True if this call announced it."""
    now = now or timezone.now()
    if campaign.announced_at is not None or not campaign.is_live(now):
        return False
    with tenant_scope(campaign.organization_id), transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, announced_at__isnull=True).update(announced_at=now):
            return False  # announced meanwhile by someone else
        outbox.emit(TOPIC, key=announcement_key(campaign.pk), organization_id=campaign.organization_id,
                    payload={"campaign_id": campaign.pk})
        # The same moment, for the organisation's systems (webhooks): campaign.published, once ever.
        publish("campaign.published", organization_id=campaign.organization_id, cause=str(campaign.public_id),
                occurred_at=now, data={"campaign": _campaign_data(campaign, now)})
    campaign.announced_at = now
    return True


def _iso(moment):
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _campaign_data(campaign: Campaign, published_at) -> dict:
    return {"id": str(campaign.public_id), "name": campaign.name, "slug": campaign.slug,
            "destination_url": campaign.destination_url, "starts_at": _iso(campaign.starts_at),
            "ends_at": _iso(campaign.ends_at), "published_at": _iso(published_at)}


def live_unannounced(now):
    return (Campaign.objects.filter(status=CampaignStatus.ACTIVE, announced_at__isnull=True)
            .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
            .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now)))


def announce_started(*, now=None, limit: int = ANNOUNCE_BATCH) -> int:
    """The beat's sweep, platform-wide on purpose (every organisation's campaigns): announce the
    live campaigns never announced (their start has come). How many were announced."""
    now = now or timezone.now()
    announced = 0
    with scopes_disabled():
        for campaign in live_unannounced(now).order_by("starts_at", "pk")[:limit]:
            with transaction.atomic():
                announced += announce_if_live(campaign, now=now)
    return announced
