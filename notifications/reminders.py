"""Reminders: a featured campaign an ambassador has not shared some days after it went live.

Only in organisations that turned reminders on (NotificationSettings.reminders_enabled, off by
default), after their `reminder_after_days`. For each featured campaign that is live (active,
started, not ended) and was announced at least that many days ago, each active ambassador it is
meant for who has not shared it (no ShareEvent) and whose reminder preference is not off gets
one e-mail with one-click share buttons.

Told once ever per (ambassador, campaign): the producer (`produce_reminders`, the beat every 15
minutes) writes one Delivery with key f"reminder:email:{campaign_id}:{ambassador_id}" by
INSERT … ON CONFLICT DO NOTHING, so re-runs, overlapping beats and a campaign that stays
unshared for weeks add nothing. The engine skips a row whose campaign stopped running or whose
ambassador turned reminders off before it was sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from ambassadors.models import Ambassador
from ambassadors.models import Status as AmbassadorStatus
from campaigns.models import Campaign, CampaignStatus, ShareEvent
from tenancy.models import Organization
from tenancy.scoping import scopes_disabled, tenant_scope

from .audience import groups_of, meant_for
from .emails import RenderedEmail, footer_context, register_email, render_email, site_url
from .models import Delivery, DeliveryChannel, Frequency, Kind, NotificationSettings
from .preferences import frequencies_for
from .share_buttons import campaign_share


def reminder_key(campaign_id: int, ambassador_id: int) -> str:
    return f"reminder:email:{campaign_id}:{ambassador_id}"


def produce_reminders(now: datetime | None = None) -> int:
    """Write the due reminders' Delivery rows, platform-wide; how many this run added (a row another
    run added at the same moment may be counted by both: the unique key keeps one)."""
    now = now or timezone.now()
    with scopes_disabled():
        organization_ids = list(NotificationSettings.objects.filter(reminders_enabled=True)
                                .order_by("organization_id").values_list("organization_id", flat=True))
        organizations = list(Organization.objects.filter(pk__in=organization_ids).order_by("pk"))
    created = 0
    for organization in organizations:
        with tenant_scope(organization):
            created += produce_for(organization, now)
    return created


def due_campaigns(after_days: int, now: datetime) -> list[Campaign]:
    """Featured campaigns live at `now` and announced at least `after_days` days before it."""
    return list(Campaign.objects.filter(featured=True, status=CampaignStatus.ACTIVE, announced_at__isnull=False,
                                        announced_at__lte=now - timedelta(days=after_days))
                .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
                .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
                .prefetch_related("target_groups").order_by("pk"))


def produce_for(organization: Organization, now: datetime) -> int:
    """One organisation's due reminders (call inside its scope)."""
    rule = NotificationSettings.objects.filter(organization=organization).first()
    if rule is None or not rule.reminders_enabled:
        return 0
    campaigns = due_campaigns(rule.reminder_after_days, now)
    if not campaigns:
        return 0
    campaign_ids = [c.pk for c in campaigns]
    ids = list(Ambassador.objects.filter(status=AmbassadorStatus.ACTIVE).values_list("pk", flat=True))
    wanted = [pk for pk, frequency in frequencies_for(ids, Kind.REMINDER).items() if frequency != Frequency.OFF]
    # Who has shared, or was reminded already: (campaign id, ambassador id) pairs.
    done = set(ShareEvent.objects.filter(campaign_id__in=campaign_ids).values_list("campaign_id", "ambassador_id")
               .distinct().order_by())
    done |= set(Delivery.objects.filter(kind=Kind.REMINDER, campaign_id__in=campaign_ids)
                .values_list("campaign_id", "ambassador_id"))
    groups = groups_of(wanted)
    rows = [Delivery(organization=organization, key=reminder_key(campaign.pk, pk), kind=Kind.REMINDER,
                     channel=DeliveryChannel.EMAIL, ambassador_id=pk, campaign=campaign, due_at=now)
            for campaign in campaigns for pk in wanted
            if (campaign.pk, pk) not in done and meant_for(campaign, groups.get(pk, set()))]
    if not rows:
        return 0
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# --- The e-mail ----------------------------------------------------------------------------------

@register_email(Kind.REMINDER)
def render_reminder(ambassador: Ambassador, deliveries: list[Delivery]) -> RenderedEmail:
    """One e-mail for the claimed reminders of one ambassador (usually one campaign)."""
    organization = ambassador.organization
    campaigns = sorted({d.campaign_id: d.campaign for d in deliveries if d.campaign_id}.values(), key=lambda c: c.pk)
    items = [campaign_share(ambassador, campaign, org_slug=organization.slug) for campaign in campaigns]
    pages = {campaign.pk: site_url(reverse("my_campaign", kwargs={"org_slug": organization.slug,
                                                               "public_id": campaign.public_id}))
             for campaign in campaigns}
    context = {
        "ambassador": ambassador,
        "organization": organization,
        "items": [{"share": item, "page_url": pages[item.campaign.pk]} for item in items],
        "portal_url": site_url(reverse("org_home", kwargs={"org_slug": organization.slug})),
        **footer_context(ambassador, Kind.REMINDER),
    }
    if len(campaigns) == 1:
        subject = f"Reminder: “{campaigns[0].name}” is waiting for your share"
    else:
        subject = f"Reminder: {len(campaigns)} featured campaigns of {organization.name} are waiting for your share"
    return render_email("reminder", subject, context)
