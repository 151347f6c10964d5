"""From "campaign.live" (an outbox event) to one Delivery row per recipient.

Each targeted active ambassador whose campaign_new e-mail preference is not off gets one row
(key campaign_new:email:<campaign>:<ambassador>), due now, at the next daily batch time, or at the
next Monday's, in the organisation's time zone; each chat channel the organisation configured
gets one row (campaign_new:<slack|teams>:<campaign>:org). Rows are inserted with ON CONFLICT DO
NOTHING on the (organisation, key) unique constraint: handling the event again (a retry, a
crash after the insert) creates nothing new, so nobody is told twice."""

from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus
from tenancy.scoping import tenant_scope

from .models import Delivery, DeliveryChannel, Frequency, Kind, NotificationSettings
from .preferences import frequencies_for
from .selectors import targeted_ambassador_ids

INSERT_BATCH = 2000


def email_key(campaign_id: int, ambassador_id: int) -> str:
    return f"campaign_new:email:{campaign_id}:{ambassador_id}"


def chat_key(channel: str, campaign_id: int) -> str:
    return f"campaign_new:{channel}:{campaign_id}:org"


def due_at_for(frequency: str, now: datetime, tz) -> datetime:
    """Immediately: now. Daily: the next NOTIFY_BATCH_HOUR:00 local time. Weekly: the next
    Monday's (today's, if it is Monday before that hour)."""
    if frequency not in (Frequency.DAILY, Frequency.WEEKLY):
        return now
    local = now.astimezone(tz)
    at = time(hour=settings.NOTIFY_BATCH_HOUR)
    day = local.date()
    if frequency == Frequency.WEEKLY:
        day += timedelta(days=(7 - day.weekday()) % 7)
    candidate = datetime.combine(day, at, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(day + timedelta(days=7 if frequency == Frequency.WEEKLY else 1), at, tzinfo=tz)
    return candidate.astimezone(UTC)


def fan_out_campaign(organization_id: int, campaign_id: int, *, now=None) -> int:
    """Write the campaign's announcement rows (see module doc); the number of rows it asked for
    (rows that existed already are left as they are)."""
    now = now or timezone.now()
    with tenant_scope(organization_id):
        campaign = Campaign.objects.select_related("organization").filter(pk=campaign_id).first()
        if campaign is None or campaign.status != CampaignStatus.ACTIVE:
            return 0  # deleted or paused before the announcement went out: nothing to say
        tz = campaign.organization.tzinfo
        ambassador_ids = targeted_ambassador_ids(campaign)
        frequencies = frequencies_for(ambassador_ids, Kind.CAMPAIGN_NEW)
        rows = [Delivery(organization_id=organization_id, key=email_key(campaign_id, ambassador_id),
                         kind=Kind.CAMPAIGN_NEW, channel=DeliveryChannel.EMAIL, ambassador_id=ambassador_id,
                         campaign_id=campaign_id, due_at=due_at_for(frequency, now, tz), created_at=now)
                for ambassador_id, frequency in frequencies.items() if frequency != Frequency.OFF]
        chat = NotificationSettings.objects.filter(organization_id=organization_id).first()
        for channel, url in ((DeliveryChannel.SLACK, chat and chat.slack_webhook_url),
                             (DeliveryChannel.TEAMS, chat and chat.teams_webhook_url)):
            if url:
                rows.append(Delivery(organization_id=organization_id, key=chat_key(channel, campaign_id),
                                     kind=Kind.CAMPAIGN_NEW, channel=channel, campaign_id=campaign_id, due_at=now,
                                     created_at=now))
        Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=INSERT_BATCH)
    return len(rows)
