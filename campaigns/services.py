"""Writes on campaigns: links on first need, shares."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from .channels import Channel
from .codes import new_code
from .models import Campaign, ShareEvent, TrackedLink


def link_for(*, ambassador, campaign: Campaign) -> TrackedLink:
    """The ambassador's link for the campaign, created on first need. Safe under races:
    the unique (ambassador, campaign) constraint decides, and the loser reads the winner's row."""
    existing = TrackedLink.objects.filter(ambassador=ambassador, campaign=campaign).first()
    if existing is not None:
        return existing
    for _ in range(5):
        try:
            with transaction.atomic():
                return TrackedLink.objects.create(organization_id=campaign.organization_id, campaign=campaign,
                                                  ambassador=ambassador, code=new_code())
        except IntegrityError:
            existing = TrackedLink.objects.filter(ambassador=ambassador, campaign=campaign).first()
            if existing is not None:
                return existing
            # Otherwise the random code collided with another link's: draw again.
    raise RuntimeError("Could not create a unique link code after 5 attempts.")


def record_share(*, link: TrackedLink, channel: str, at=None) -> ShareEvent:
    if channel not in Channel.values or channel == Channel.DIRECT:
        raise ValueError(f"“{channel}” is not a network you can share on.")
    return ShareEvent.objects.create(organization_id=link.organization_id, link=link, campaign_id=link.campaign_id,
                                     ambassador_id=link.ambassador_id, channel=channel, shared_at=at or timezone.now())
