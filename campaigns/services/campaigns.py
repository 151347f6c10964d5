"""Creating, changing and deleting campaigns. A campaign's slug is unique in its organisation: one
given is checked, none given is made from the name; two requests taking the same slug at once are
told apart by the database's unique constraint. A campaign with links is ended, never deleted."""

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from ..models import Campaign
from . import CampaignError
from .announcements import announce_if_live


def unique_campaign_slug(name: str, *, exclude_pk=None) -> str:
    """A slug from the name that no other campaign of the organisation (current scope) uses."""
    base = (slugify(name) or "campaign")[:50].strip("-") or "campaign"
    taken = set(Campaign.objects.filter(slug__startswith=base).exclude(pk=exclude_pk)
                .values_list("slug", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def campaign_slug_taken(slug: str, *, exclude_pk=None) -> bool:
    return Campaign.objects.filter(slug=slug).exclude(pk=exclude_pk).exists()


def check_slug(slug: str, *, campaign: Campaign | None = None) -> None:
    """Raise CampaignError unless `slug` is free for `campaign` (None: a new one). Empty is free:
    the slug is then made from the name."""
    if slug and campaign_slug_taken(slug, exclude_pk=campaign.pk if campaign is not None else None):
        raise CampaignError("slug", f"Another campaign already uses the slug “{slug}”.")


def save_campaign(campaign: Campaign, *, target_groups=None) -> Campaign:
    """Store a new or changed campaign whose fields are set (a form's instance), and its target
    groups unless None; announce it if this save made it live (services.announcements). Raises
    CampaignError on a slug another campaign has."""
    check_slug(campaign.slug, campaign=campaign)
    if not campaign.slug:
        campaign.slug = unique_campaign_slug(campaign.name, exclude_pk=campaign.pk)
    try:
        with transaction.atomic():
            campaign.save()
            if target_groups is not None:
                campaign.target_groups.set(target_groups)
            announce_if_live(campaign)  # published and started: ambassadors are told, once ever
    except IntegrityError as error:  # two requests took the same slug at once
        raise CampaignError("slug", "Another campaign already uses this slug.") from error
    return campaign


def create_campaign(*, organization, target_groups=None, **fields) -> Campaign:
    """A new campaign from field values (those left out keep the model's defaults)."""
    return save_campaign(Campaign(organization=organization, **fields), target_groups=target_groups)


def update_campaign(campaign: Campaign, *, target_groups=None, **fields) -> Campaign:
    """Change the given fields (an empty slug is made from the name again)."""
    for name, value in fields.items():
        setattr(campaign, name, value)
    return save_campaign(campaign, target_groups=target_groups)


def deletable(campaign: Campaign) -> bool:
    """A campaign with links has history (clicks, shares, credit): end it rather than delete it."""
    return not campaign.links.exists()


def delete_campaign(campaign: Campaign) -> None:
    """Delete a campaign without links; one with links raises CampaignError (code has_links)."""
    if not deletable(campaign):
        raise CampaignError("status", "This campaign has links, and so clicks and shares: set its status to “Ended” "
                                      "instead of deleting it.", code="has_links")
    campaign.delete()
