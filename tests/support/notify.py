"""E-mail notifications in tests: publish a campaign the way the pages do, run what the beat and
the worker would run (the outbox sweep, the delivery engine) in this process, and read what
arrived at the loopback SMTP server (tests/support/smtp.py) per recipient and campaign."""

from collections import Counter

from django.conf import settings

from campaigns.models import CampaignStatus
from campaigns.services.campaigns import create_campaign
from common import outbox
from notifications import delivery
from tenancy.scoping import tenant_scope


def publish(org, *, name="Spring launch", groups=None, **fields):
    """A campaign published (status active) through the campaigns service, as the pages do."""
    fields.setdefault("status", CampaignStatus.ACTIVE)
    fields.setdefault("destination_url", "https://shop.example.com/spring")
    fields.setdefault("description", f"{name}: tell your network.")
    with tenant_scope(org):
        return create_campaign(organization=org, name=name, target_groups=groups, **fields)


def run_notifications(*, now=None) -> delivery.Run:
    """The outbox sweep, then the engine, until nothing is due (what the worker and beat do)."""
    outbox.sweep(now=now)
    return delivery.send_due(now=now, budget_seconds=60)


def local_path(url: str) -> str:
    """An absolute address of the site (what e-mails carry) as a test client's path."""
    assert url.startswith(settings.SITE_URL), url
    return url[len(settings.SITE_URL):]


def arrivals_per_recipient_and_subject(smtp_server) -> Counter:
    """(recipient, subject) → how many e-mails arrived (a campaign's e-mail names it in its subject)."""
    return Counter((recipient.lower(), str(arrival.message["Subject"])) for arrival in smtp_server.arrivals
                   for recipient in arrival.rcpt_tos)
