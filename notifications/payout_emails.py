"""E-mails about money, from the outbox: "you were paid" after a payout run is marked paid, and
"your payout details changed" after an ambassador changes them.

These are transactional notices (no preference, no unsubscribe), so they are not Delivery rows:
that table's `kind` is a choice list, and a kind of their own would mean a schema change. Each
e-mail is sent with Django's mail (EMAIL_* settings) inside its own outbox event's handler, so
it is sent once per event key: "payout.paid" (one per run) fans out to one "payout.paid_email"
event per paid ambassador (key payout.paid_email:<run>:<ambassador>, written in the handler's
transaction), and each of those sends one e-mail. A failure retries only that ambassador's
e-mail (the outbox's backoff); a permanent refusal (SMTP 5xx) is logged and not retried. As with
every e-mail, a worker killed after the server accepted a message and before its event was
marked handled sends it again: the Message-ID, derived from the event's key, is the same.

Only masked details ever appear here (PayoutDetails.masked): never the details themselves."""

import hashlib
import logging
import smtplib
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ambassadors.models import Ambassador
from common import outbox
from common.models import OutboxEvent
from rewards.models import PayoutItem, PayoutMethod, PayoutRun
from rewards.services.payout_details import CHANGED_TOPIC
from rewards.services.payouts import PAID_TOPIC
from tenancy.scoping import tenant_scope

from .emails import sender_address, site_url

log = logging.getLogger(__name__)

PAID_EMAIL_TOPIC = "payout.paid_email"


def paid_email_key(run_id: int, ambassador_id: int) -> str:
    return f"{PAID_EMAIL_TOPIC}:{run_id}:{ambassador_id}"


def _message_id(key: str) -> str:
    """The same event always makes the same Message-ID (a resend is recognisably the same e-mail)."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<money.{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def _send(ambassador, key: str, template: str, subject: str, context: dict) -> None:
    """One e-mail to the ambassador; raises on a temporary failure (the outbox retries)."""
    subject = " ".join(subject.split())
    context = {**context, "subject": subject, "ambassador": ambassador, "organization": ambassador.organization}
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string(f"rewards/email/{template}.txt", context),
        from_email=sender_address(ambassador.organization), to=[ambassador.email],
        headers={"Message-ID": _message_id(key), "Auto-Submitted": "auto-generated"})
    message.attach_alternative(render_to_string(f"rewards/email/{template}.html", context), "text/html")
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if codes and all(500 <= int(code) < 600 for code in codes):
            log.warning("The %s e-mail to ambassador %s was refused for good (SMTP %s); not retried.",
                        template, ambassador.pk, codes[0])
            return
        raise
    except smtplib.SMTPResponseException as error:
        if 500 <= int(error.smtp_code) < 600:
            log.warning("The %s e-mail to ambassador %s was refused for good (SMTP %s); not retried.",
                        template, ambassador.pk, error.smtp_code)
            return
        raise


@outbox.register(PAID_TOPIC)
def on_payout_paid(event: OutboxEvent) -> None:
    """A run was marked paid: one e-mail event per paid ambassador (in this event's transaction)."""
    run_id = int(event.payload["run"])
    with tenant_scope(event.organization_id):
        ambassador_ids = sorted(set(PayoutItem.objects.filter(run_id=run_id).values_list("ambassador_id", flat=True)))
    for ambassador_id in ambassador_ids:
        outbox.emit(PAID_EMAIL_TOPIC, key=paid_email_key(run_id, ambassador_id), organization_id=event.organization_id,
                    payload={"run": run_id, "ambassador": ambassador_id})


@outbox.register(PAID_EMAIL_TOPIC)
def on_payout_paid_email(event: OutboxEvent) -> None:
    """Tell one ambassador what this run paid them, per currency."""
    with tenant_scope(event.organization_id):
        run = PayoutRun.objects.select_related("organization").filter(pk=int(event.payload["run"])).first()
        ambassador = Ambassador.objects.select_related("organization").filter(
            pk=int(event.payload["ambassador"])).first()
        if run is None or ambassador is None or not ambassador.email:
            return  # deleted since: nobody to tell
        items = list(PayoutItem.objects.filter(run=run, ambassador=ambassador).order_by("currency"))
        if not items:
            return
        organization = ambassador.organization
        amounts = ", ".join(f"{item.amount:.2f} {item.currency}" for item in items)
        _send(ambassador, event.key, "payout_paid", f"{organization.name} paid you {amounts}", {
            "items": items, "amounts": amounts,
            "paid_at": timezone.localtime(run.paid_at or timezone.now(), organization.tzinfo),
            "details_url": site_url(reverse("payout_details", kwargs={"org_slug": organization.slug})),
        })


@outbox.register(CHANGED_TOPIC)
def on_payout_details_changed(event: OutboxEvent) -> None:
    """Tell the ambassador (at their account's address) that their payout details were set or
    changed: if it wasn't them, they know at once."""
    payload = event.payload
    with tenant_scope(event.organization_id):
        ambassador = Ambassador.objects.select_related("organization").filter(pk=int(payload["ambassador"])).first()
        if ambassador is None or not ambassador.email:
            return
        organization = ambassador.organization
        changed_at = parse_datetime(payload.get("changed_at") or "") or timezone.now()
        method = PayoutMethod(payload["method"]).label if payload.get("method") in PayoutMethod.values else ""
        previous = payload.get("previous_masked", "")
        _send(ambassador, event.key, "payout_details_changed",
              f"Your payout details at {organization.name} were {'changed' if previous else 'set'}",
              {"method": method, "masked": payload.get("masked", ""), "previous_masked": previous,
               "changed_at": timezone.localtime(changed_at, organization.tzinfo),
               "details_url": site_url(reverse("payout_details", kwargs={"org_slug": organization.slug}))})
