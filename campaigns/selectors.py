"""Reads on campaigns, for pages and the API (always inside the organisation's scope)."""

from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ambassadors.models import Ambassador

from .models import Campaign, CampaignCost, CampaignImage, CampaignStatus, ShareEvent, TrackedLink
from .services.images import thumbnail_size
from .services.links import NotAllowed, check_can_get_link, is_targeted

MONEY = DecimalField(max_digits=20, decimal_places=2)


def campaigns_for_ambassador(ambassador, *, at=None):
    """The campaigns an ambassador can share now or soon: active, not ended, and for
    everyone (no target groups) or for one of the ambassador's groups."""
    at = at or timezone.now()
    targets = Campaign.target_groups.through.objects.filter(campaign_id=OuterRef("pk"))
    my_groups = Ambassador.groups.through.objects.filter(ambassador_id=ambassador.pk).values("ambassadorgroup_id")
    return (Campaign.objects.filter(status=CampaignStatus.ACTIVE)
            .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
            .filter(~Exists(targets) | Exists(targets.filter(ambassadorgroup_id__in=my_groups)))
            .prefetch_related("messages")
            .order_by("-featured", F("ends_at").asc(nulls_last=True), "-created_at"))  # featured, then ending soonest


def links_of(ambassador, campaign_ids) -> dict[int, TrackedLink]:
    return {link.campaign_id: link
            for link in TrackedLink.objects.filter(ambassador=ambassador, campaign_id__in=list(campaign_ids))}


def cost_total(campaign) -> Decimal:
    total = CampaignCost.objects.filter(campaign=campaign).aggregate(
        total=Coalesce(Sum("amount", output_field=MONEY), Value(Decimal("0.00"), output_field=MONEY)))["total"]
    return Decimal(total).quantize(Decimal("0.01"))


def campaigns_with_stats():
    """Campaigns with their link, share and spend totals (subqueries: no join fan-out)."""
    links = (TrackedLink.objects.filter(campaign_id=OuterRef("pk")).order_by().values("campaign_id")
             .annotate(n=Count("pk")).values("n"))
    shares = (ShareEvent.objects.filter(campaign_id=OuterRef("pk")).order_by().values("campaign_id")
              .annotate(n=Count("pk")).values("n"))
    spend = (CampaignCost.objects.filter(campaign_id=OuterRef("pk")).order_by().values("campaign_id")
             .annotate(total=Sum("amount", output_field=MONEY)).values("total"))
    return (Campaign.objects.prefetch_related("target_groups")
            .annotate(link_count=Coalesce(Subquery(links), 0), share_count=Coalesce(Subquery(shares), 0),
                      spend=Coalesce(Subquery(spend, output_field=MONEY), Value(Decimal("0"), output_field=MONEY)))
            .order_by("-created_at"))


def share_counts(campaign) -> dict[str, int]:
    return dict(ShareEvent.objects.filter(campaign=campaign).values_list("channel").annotate(n=Count("pk"))
                .order_by())


def share_counts_by_message(campaign) -> dict[int, int]:
    """Shares per post variant (ShareEvent.message), for the managers' page."""
    return dict(ShareEvent.objects.filter(campaign=campaign, message__isnull=False).values_list("message_id")
                .annotate(n=Count("pk")).order_by())


def campaign_images(campaign) -> list[CampaignImage]:
    """The campaign's images, each with the size its thumbnail is shown at (thumb_width, thumb_height)."""
    images = list(CampaignImage.objects.filter(campaign=campaign))
    for image in images:
        image.thumb_width, image.thumb_height = thumbnail_size(image.width, image.height)
    return images


def may_see_campaign(ambassador, campaign, *, at=None) -> bool:
    """Whether the ambassador's campaign page (and so its images) is theirs to see: a campaign they
    may get a link for, or a paused or ended one they already have a link for; never a draft, or a
    campaign for other groups."""
    if ambassador is None or campaign.status == CampaignStatus.DRAFT or not is_targeted(ambassador, campaign):
        return False
    try:
        check_can_get_link(ambassador, campaign, at=at)
    except NotAllowed:
        return TrackedLink.objects.filter(ambassador=ambassador, campaign=campaign).exists()
    return True
