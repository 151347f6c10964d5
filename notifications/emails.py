"""E-mail notifications: what each kind's e-mail says (renderers), and the e-mail channel's sender.

One e-mail goes to one ambassador per (kind, due batch): the sender (`send_emails`, registered
for the e-mail channel) groups the claimed rows by (ambassador, kind) and asks the kind's
renderer for that group's e-mail. A renderer registers with `@register_email(Kind.DIGEST)` over
`def render(ambassador, deliveries) -> RenderedEmail` (optionally `prepare=`, called once per
batch with all its rows of that kind, to load what every e-mail needs in a few queries). The
sender adds the headers: a deterministic Message-ID per group, List-Unsubscribe and
List-Unsubscribe-Post (RFC 8058 one-click); the footer's links are in `footer_context()`.

The SMTP settings are Django's (EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER/PASSWORD,
EMAIL_USE_TLS, EMAIL_TIMEOUT): one connection per batch, one message at a time, each reported
as soon as the server accepted it (see notifications.delivery for the window that leaves)."""

import contextlib
import functools
import hashlib
import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from ambassadors.models import Ambassador
from campaigns.channels import SHARE_CHANNELS, Channel
from campaigns.services.links import get_or_create_link, links_for_many
from campaigns.share import BUTTON_LABELS, share_action_url, short_url, variant_for

from .delivery import retry_backoff
from .mime import alternative_message
from .models import Delivery, DeliveryChannel, Kind
from .senders import Outcome, register_sender, report, time_left
from .unsubscribe import unsubscribe_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


EmailRenderer = Callable[[Ambassador, list[Delivery]], RenderedEmail]
Preparer = Callable[[list[Delivery]], None]

EMAIL_RENDERERS: dict[str, EmailRenderer] = {}
EMAIL_PREPARERS: dict[str, Preparer] = {}


def register_email(kind: str, *, prepare: Preparer | None = None) -> Callable[[EmailRenderer], EmailRenderer]:
    def decorator(func: EmailRenderer) -> EmailRenderer:
        EMAIL_RENDERERS[str(kind)] = func
        if prepare is not None:
            EMAIL_PREPARERS[str(kind)] = prepare
        return func

    return decorator


def site_url(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


@functools.lru_cache(maxsize=1024)
def _preferences_url(org_slug: str) -> str:
    return site_url(reverse("notification_preferences", kwargs={"org_slug": org_slug}))


def preferences_url(organization) -> str:
    return _preferences_url(organization.slug)


def footer_context(ambassador, kind: str) -> dict:
    """What templates/notifications/email/_footer.{txt,html} need."""
    return {"preferences_url": preferences_url(ambassador.organization),
            "unsubscribe_url": unsubscribe_url(ambassador, kind)}


def render_email(template: str, subject: str, context: dict) -> RenderedEmail:
    """templates/notifications/email/<template>.txt and .html with `context` (plus `subject`).
    Both may {% include "notifications/email/_footer.txt|html" %} given footer_context()."""
    subject = " ".join(subject.split())
    context = {**context, "subject": subject}
    return RenderedEmail(
        subject=subject,
        text=render_to_string(f"notifications/email/{template}.txt", context),
        html=render_to_string(f"notifications/email/{template}.html", context),
    )


# --- The sender --------------------------------------------------------------------------------------

def message_id(organization_id: int, kind: str, deliveries: list[Delivery]) -> str:
    """The same rows always make the same Message-ID: an e-mail sent again after a crash (see
    notifications.delivery) is recognisably the same e-mail."""
    digest = hashlib.sha256("|".join([str(organization_id), kind, *sorted(d.key for d in deliveries)]).encode())
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<{kind}.{digest.hexdigest()[:40]}@{domain}>"


def sender_address(organization) -> str:
    """The organisation's name (on one line) before DEFAULT_FROM_EMAIL's address."""
    return _sender_address(organization.name, settings.DEFAULT_FROM_EMAIL)


@functools.lru_cache(maxsize=1024)
def _sender_address(organization_name: str, default_from: str) -> str:
    name, address = parseaddr(default_from)
    return formataddr((" ".join(f"{organization_name} · {name or 'Ambassadors'}".split()), address))


@functools.lru_cache(maxsize=1024)
def envelope_sender(default_from: str) -> str:
    return parseaddr(default_from)[1]


def email_headers(ambassador, kind: str, rows: list[Delivery]) -> dict[str, str]:
    return {
        "Message-ID": message_id(ambassador.organization_id, kind, rows),
        "List-Unsubscribe": f"<{unsubscribe_url(ambassador, kind)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }


def build_message(ambassador, kind: str, rows: list[Delivery], rendered: RenderedEmail) -> EmailMultiAlternatives:
    """The e-mail as Django's message (console and in-memory backends, and addresses that are not ASCII)."""
    message = EmailMultiAlternatives(
        subject=rendered.subject, body=rendered.text, from_email=sender_address(ambassador.organization),
        to=[ambassador.email], headers=email_headers(ambassador, kind, rows))
    message.attach_alternative(rendered.html, "text/html")
    return message


class Outgoing:
    """One batch's SMTP connection (Django's backend: EMAIL_* settings, TLS, login, timeout).
    On the SMTP backend an e-mail goes out as bytes written by notifications.mime; on any other
    backend (console in development, in-memory) as Django's message."""

    def __init__(self):
        self.backend = get_connection()
        self.smtp = isinstance(self.backend, SmtpBackend)

    def open(self) -> None:
        self.backend.open()

    def close(self) -> None:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            self.backend.close()

    def send(self, ambassador, kind: str, rows: list[Delivery], rendered: RenderedEmail) -> None:
        """Hand one e-mail to the server; returns once it accepted it (raises otherwise)."""
        if self.smtp and ambassador.email.isascii():
            sender = sender_address(ambassador.organization)
            data = alternative_message(sender=sender, recipient=ambassador.email, subject=rendered.subject,
                                       headers=email_headers(ambassador, kind, rows), text=rendered.text,
                                       html=rendered.html)
            if self.backend.connection is None:  # dropped after an error: reconnect
                self.backend.open()
            self.backend.connection.sendmail(envelope_sender(settings.DEFAULT_FROM_EMAIL), [ambassador.email], data)
        else:
            self.backend.send_messages([build_message(ambassador, kind, rows, rendered)])

    def forget_connection(self) -> None:
        """After a dropped connection or a timeout: the next send reconnects."""
        self.close()


def smtp_outcome(error: Exception, attempts: int) -> Outcome:
    """A 5xx answer is a permanent refusal (failed); anything else (4xx, a dropped connection, a
    timeout) is temporary (retried with backoff)."""
    code = getattr(error, "smtp_code", None)
    text = getattr(error, "smtp_error", b"")
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        code, text = next(iter(error.recipients.values()))
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    description = f"SMTP {code}: {text}" if code else f"{type(error).__name__}: {error}"
    if code is not None and 500 <= int(code) < 600:
        return Outcome.refused(description)
    return Outcome.retry(retry_backoff(attempts), description)


def _groups(deliveries: list[Delivery]) -> dict[tuple[int, str], list[Delivery]]:
    groups: dict[tuple[int, str], list[Delivery]] = {}
    for row in deliveries:
        groups.setdefault((row.ambassador_id, row.kind), []).append(row)
    return groups


def _prepare(deliveries: list[Delivery]) -> None:
    by_kind: dict[str, list[Delivery]] = {}
    for row in deliveries:
        by_kind.setdefault(row.kind, []).append(row)
    for kind, rows in by_kind.items():
        if prepare := EMAIL_PREPARERS.get(kind):
            prepare(rows)


@register_sender(DeliveryChannel.EMAIL)
def send_emails(deliveries: list[Delivery]) -> dict[int, Outcome]:
    """One e-mail per (ambassador, kind) over one SMTP connection; each reported once accepted."""
    outcomes: dict[int, Outcome] = {}

    def settle(rows, outcome: Outcome, *, now: bool = False) -> None:
        settled = {row.pk: outcome for row in rows}
        outcomes.update(settled)
        if now:
            report(settled)

    groups = _groups(deliveries)
    addressed = {key: rows for key, rows in groups.items() if key[0] is not None}
    for (ambassador_id, _), rows in groups.items():
        if ambassador_id is None:
            settle(rows, Outcome.refused("An e-mail needs an ambassador."))
    if not addressed:
        return outcomes
    _prepare([row for rows in addressed.values() for row in rows])
    outgoing = Outgoing()
    try:
        outgoing.open()
    except (OSError, smtplib.SMTPException) as error:
        log.warning("Could not connect to the SMTP server: %s", error)
        for rows in addressed.values():
            settle(rows, smtp_outcome(error, rows[0].attempts))
        return outcomes
    try:
        for (_, kind), rows in addressed.items():
            if time_left() <= 0:  # the lease is nearly over: another worker may soon take these rows
                settle(rows, Outcome.retry(0, "The batch ran out of time; sent in the next one."))
                continue
            ambassador = rows[0].ambassador
            renderer = EMAIL_RENDERERS.get(kind)
            if renderer is None:
                settle(rows, Outcome.refused(f"No e-mail is defined for {kind}."))
                continue
            try:
                rendered = renderer(ambassador, rows)
            except Exception as error:  # noqa: BLE001 - one bad e-mail must not stop the batch
                log.exception("Rendering the %s e-mail of ambassador %s failed", kind, ambassador.pk)
                settle(rows, Outcome.retry(retry_backoff(rows[0].attempts), f"Rendering failed: {error}"))
                continue
            try:
                outgoing.send(ambassador, kind, rows, rendered)
            except (OSError, smtplib.SMTPException) as error:
                settle(rows, smtp_outcome(error, rows[0].attempts), now=True)
                if isinstance(error, OSError | smtplib.SMTPServerDisconnected):
                    outgoing.forget_connection()
                continue
            except ValueError as error:  # HeaderInjection, a non-ASCII address (UnicodeError)
                settle(rows, Outcome.refused(f"The e-mail could not be written: {error}"), now=True)
                continue
            settle(rows, Outcome.ok(), now=True)  # accepted: marked sent at once
    finally:
        outgoing.close()
    return outcomes


# --- New campaigns -------------------------------------------------------------------------------------

@dataclass
class CampaignItem:
    """One campaign in an ambassador's e-mail."""

    campaign: object
    url: str  # its page in the portal
    ends_at: object
    post: str  # the ambassador's suggested post (their variant, with their link)
    post_channel: str
    buttons: list[tuple[str, str]]  # (label, one-click share address)


def prepare_campaign_emails(rows: list[Delivery]) -> None:
    """What every e-mail of the batch needs, in a few queries: per campaign its suggested posts,
    its page's address and the batch's links (the missing ones made in one INSERT)."""
    by_campaign: dict[int, list[Delivery]] = {}
    for row in rows:
        if row.campaign_id:
            by_campaign.setdefault(row.campaign_id, []).append(row)
    for campaign_rows in by_campaign.values():
        campaign = campaign_rows[0].campaign
        links = links_for_many(campaign=campaign, ambassadors=[row.ambassador for row in campaign_rows])
        messages = list(campaign.messages.all())
        url = campaign_url(campaign, campaign_rows[0].organization.slug)
        for row in campaign_rows:
            row.prepared = (links[row.ambassador_id], messages, url)


def campaign_url(campaign, org_slug: str) -> str:
    return site_url(reverse("my_campaign", kwargs={"org_slug": org_slug, "public_id": campaign.public_id}))


def campaign_item(ambassador, row: Delivery) -> CampaignItem:
    campaign = row.campaign
    slug = ambassador.organization.slug
    prepared = getattr(row, "prepared", None)
    if prepared is not None:
        link, messages, url = prepared
    else:
        link = get_or_create_link(ambassador=ambassador, campaign=campaign)[0]
        messages, url = list(campaign.messages.all()), campaign_url(campaign, slug)
    post, post_channel = "", ""
    for channel in SHARE_CHANNELS:
        if (message := variant_for(link, channel, messages)) is not None:
            post, post_channel = message.render(short_url(link, channel)), Channel(channel).label
            break
    buttons = [(BUTTON_LABELS.get(channel, f"Share on {Channel(channel).label}"),
                share_action_url(link, channel, org_slug=slug)) for channel in SHARE_CHANNELS]
    ends_at = timezone.localtime(campaign.ends_at, ambassador.organization.tzinfo) if campaign.ends_at else None
    return CampaignItem(campaign=campaign, url=url, ends_at=ends_at, post=post, post_channel=post_channel,
                        buttons=buttons)


@register_email(Kind.CAMPAIGN_NEW, prepare=prepare_campaign_emails)
def render_campaign_new(ambassador, deliveries: list[Delivery]) -> RenderedEmail:
    """One campaign: its name, description, end, the ambassador's suggested post and a one-click
    share button per network; a daily or weekly batch lists every campaign of the batch."""
    rows = sorted((row for row in deliveries if row.campaign_id), key=lambda row: (row.created_at, row.pk))
    items = [campaign_item(ambassador, row) for row in rows]
    organization = ambassador.organization
    if len(items) == 1:
        subject = f"New campaign to share: {items[0].campaign.name}"
    else:
        subject = f"{len(items)} new campaigns to share from {organization.name}"
    return render_email("campaign_new", subject, {
        "ambassador": ambassador, "organization": organization, "items": items,
        **footer_context(ambassador, Kind.CAMPAIGN_NEW),
    })
