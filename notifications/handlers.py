"""The outbox topics this app handles, and the senders and e-mails it registers (imported when the
app is ready: notifications.apps). A module that registers a sender (register_sender) or an
e-mail (register_email) is imported here."""

from campaigns.services.announcements import TOPIC as CAMPAIGN_LIVE
from common import outbox
from common.models import OutboxEvent

# emails: the e-mail sender and campaign_new; chat: the Slack and Teams senders; digest, reminders: their e-mails;
# payout_emails: the outbox topics of payouts ("payout.paid") and payout details changes.
from . import chat, digest, emails, fanout, payout_emails, reminders, tasks  # noqa: F401


@outbox.register(CAMPAIGN_LIVE)
def on_campaign_live(event: OutboxEvent) -> None:
    """A campaign went live: a Delivery row per recipient (in the event's transaction), then
    queue their sending once that commits."""
    if fanout.fan_out_campaign(event.organization_id, int(event.payload["campaign_id"])):
        tasks.queue_sending(event.organization_id)
