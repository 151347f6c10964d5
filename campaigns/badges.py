"""What is new and what ends soon, for an ambassador: the rules behind the campaign badges
(Featured, New, Ends soon) and the portal's feed. Pure functions over a campaign's fields."""

from datetime import datetime, timedelta

NEW_FOR = timedelta(days=7)
ENDS_SOON_WITHIN = timedelta(days=7)


def went_live_at(campaign) -> datetime:
    """When ambassadors could first share the campaign: when they were told so (announced_at), else
    its start, or its creation when it was created already started."""
    if campaign.announced_at is not None:
        return campaign.announced_at
    if campaign.starts_at is not None and campaign.starts_at > campaign.created_at:
        return campaign.starts_at
    return campaign.created_at


def is_new(campaign, at: datetime, *, since: datetime | None = None) -> bool:
    """Live and gone live within NEW_FOR (or since `since`, when that is earlier: an ambassador's
    previous visit, so one back after a month away sees the whole month's campaigns as new)."""
    start = at - NEW_FOR if since is None else min(at - NEW_FOR, since)
    return campaign.is_live(at) and went_live_at(campaign) >= start


def ends_soon(campaign, at: datetime) -> bool:
    """Live and ending within ENDS_SOON_WITHIN."""
    return campaign.is_live(at) and campaign.ends_at is not None and campaign.ends_at <= at + ENDS_SOON_WITHIN
