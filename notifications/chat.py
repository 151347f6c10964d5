"""Slack and Microsoft Teams: the organisation's channel is told when a campaign goes live, by
the incoming-webhook URL an admin pasted on the notification settings page.

A webhook URL is a secret (whoever has it can post to the channel), so it never appears in a
log line, a stored error or a page: logs name the channel and the organisation, errors are our
own sentences (never an exception's text, which may carry the URL), pages show `mask_url`.
That is also why the POST goes through http.client directly: client libraries log the request
line (urllib3 at DEBUG) and put the URL in their exceptions.

How an answer is read (`outcome_of`):
* 2xx: sent; a problem shown to the admin is cleared.
* 429: try again after Retry-After (seconds or an HTTP date), or a minute if it says nothing.
* 5xx, no answer, a timeout: try again later, backing off with the attempts.
* any other answer: the webhook refuses us for good (deleted, revoked, channel archived …):
  the delivery fails and the admin sees why on the settings page until a post works again.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import re
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from common.service_errors import ServiceError
from tenancy.models import Organization
from tenancy.scoping import tenant_scope

from .models import Delivery, DeliveryChannel, NotificationSettings
from .senders import Outcome, register_sender, report, time_left

logger = logging.getLogger(__name__)

CHAT_CHANNELS = (DeliveryChannel.SLACK, DeliveryChannel.TEAMS)
LABELS = {DeliveryChannel.SLACK: "Slack", DeliveryChannel.TEAMS: "Microsoft Teams"}

# Where the providers' incoming webhooks live. Teams: the old Office 365 connectors
# (<tenant>.webhook.office.com, outlook.office.com) and the Workflows app (Power Automate:
# *.logic.azure.com, *.environment.api.powerplatform.com).
SLACK_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})
TEAMS_HOSTS = frozenset({"outlook.office.com", "outlook.office365.com"})
TEAMS_HOST_SUFFIXES = (".webhook.office.com", ".logic.azure.com", ".environment.api.powerplatform.com")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

MAX_TIMEOUT = 5.0  # seconds: a page's "send a test message" waits at most this long
DEFAULT_RETRY_AFTER = 60.0  # a 429 without a usable Retry-After
MAX_RETRY_AFTER = 24 * 3600.0
BACKOFF_BASE = 30.0  # 5xx / network: 30 s, 1 min, 2 min … (doubling with the attempts)
BACKOFF_MAX = 3600.0
EXCERPT_CHARS = 300
# A provider's error code worth showing (Slack answers "no_service", "invalid_token" …). Anything
# else in a body is left out: we never echo text we don't control.
# A path's first segment shown by mask_url when it is a fixed word ("services", "webhookb2",
# "workflows"), not an identifier.
PATH_WORD_RE = re.compile(r"^[a-z][a-z0-9]{0,15}$")
ERROR_CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,59}$")
# What a refusal most likely means, per status, for the admin's next step.
REFUSAL_HINTS = {
    400: "the message was refused as invalid",
    401: "the webhook's credentials are no longer valid; paste a new URL",
    403: "the webhook is no longer allowed to post; paste a new URL",
    404: "the webhook was probably deleted; paste a new URL",
    410: "the webhook or its channel is gone (deleted or archived); paste a new URL",
}


# --- Addresses: what may be saved, and how one is shown --------------------------------------------

def _host_allowed(channel: str, host: str) -> bool:
    if channel == DeliveryChannel.SLACK:
        return host in SLACK_HOSTS
    return host in TEAMS_HOSTS or host.endswith(TEAMS_HOST_SUFFIXES)


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_webhook_url(channel: str, url: str) -> str:
    """The address, stripped, if it may be saved for `channel`; ServiceError on the channel's
    field otherwise. https only, on the provider's hosts (port 443); with
    NOTIFY_WEBHOOK_ALLOW_LOOPBACK, also http(s)://127.0.0.1 / localhost on any port (tests)."""
    field, label = f"{channel}_webhook_url", LABELS[channel]
    example = ("https://hooks.slack.com/services/T…/B…/…" if channel == DeliveryChannel.SLACK
               else "https://…webhook.office.com/webhookb2/… or a Workflows URL (…logic.azure.com/workflows/…)")
    url = (url or "").strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ServiceError(field, "A webhook address can't contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ServiceError(field, f"This is not a web address; paste the {label} webhook URL, e.g. {example}.") \
            from None
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        raise ServiceError(field, f"This is not a web address; paste the {label} webhook URL, e.g. {example}.")
    if parts.username or parts.password:
        raise ServiceError(field, "A webhook address with a user name or password in it is not allowed.")
    if settings.NOTIFY_WEBHOOK_ALLOW_LOOPBACK and _is_loopback(host):
        return url
    if parts.scheme != "https":
        raise ServiceError(field, f"Webhook addresses must start with https:// (the {label} URL does), "
                                  "so the messages and the address stay private.")
    if not _host_allowed(channel, host) or port not in (None, 443):
        where = ("hooks.slack.com" if channel == DeliveryChannel.SLACK
                 else "webhook.office.com, logic.azure.com or powerplatform.com")
        raise ServiceError(field, f"“{host}” is not a {label} webhook host: {label} webhook URLs are on {where}, "
                                  f"e.g. {example}.")
    if parts.path in ("", "/"):
        raise ServiceError(field, f"This address has no path: paste the whole {label} webhook URL, e.g. {example}.")
    return url


def mask_url(url: str) -> str:
    """An address as pages may show it: scheme, host and a hint of the path, never the secret
    part (https://hooks.slack.com/services/T…/…/••••)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port and (parts.scheme, parts.port) not in (("https", 443), ("http", 80)):
            netloc = f"{netloc}:{parts.port}"
    except ValueError:
        return "••••"
    segments = [segment for segment in parts.path.split("/") if segment]
    shown = f"{parts.scheme}://{netloc}"
    if segments:
        first = segments[0]
        shown += f"/{first}" if PATH_WORD_RE.match(first) else f"/{first[:1]}…"
    if len(segments) > 1:
        shown += f"/{segments[1][:1]}…"
    return f"{shown}/…/••••"


# --- The messages ----------------------------------------------------------------------------------

def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a description, on a word boundary, with … when cut."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(".,;:–- ") + "…"


def portal_url(campaign, org_slug: str) -> str:
    """The campaign's page in the ambassadors' portal (where they get their link and share)."""
    path = reverse("my_campaign", kwargs={"org_slug": org_slug, "public_id": campaign.public_id})
    return f"{settings.SITE_URL.rstrip('/')}{path}"


@dataclass(frozen=True)
class ChatMessage:
    title: str
    text: str
    link: str
    link_label: str = "Open in the portal"


def campaign_message(campaign, org_slug: str) -> ChatMessage:
    return ChatMessage(title=campaign.name, text=excerpt(campaign.description) or "A new campaign is live.",
                       link=portal_url(campaign, org_slug), link_label="Share it from the portal")


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: ChatMessage) -> dict:
    """Slack's incoming-webhook JSON: `text` for notifications and old clients, blocks for the
    rest (a header, the text, a button to the portal)."""
    return {
        "text": f"{_slack_escape(message.title)}: {_slack_escape(message.text)} <{message.link}|{message.link_label}>",
        "unfurl_links": False,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": message.title[:150], "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(message.text)[:3000]}},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": message.link_label},
                 "url": message.link, "style": "primary"},
            ]},
        ],
    }


def teams_payload(message: ChatMessage) -> dict:
    """An Adaptive Card in the `attachments` envelope, which both Teams' Workflows webhooks and
    the older Office 365 connectors accept."""
    return {
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": message.title, "weight": "Bolder", "size": "Medium", "wrap": True},
                    {"type": "TextBlock", "text": message.text, "wrap": True},
                ],
                "actions": [{"type": "Action.OpenUrl", "title": message.link_label, "url": message.link}],
            },
        }],
    }


PAYLOADS = {DeliveryChannel.SLACK: slack_payload, DeliveryChannel.TEAMS: teams_payload}


# --- One POST ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """What one POST got: a status (None: no answer) and what of the answer we may keep."""

    status: int | None
    retry_after: str = ""
    code: str = ""  # the provider's error code, when the body is just one
    failure: str = ""  # no answer: why, in our words ("the connection was refused")


def timeout_seconds() -> float:
    return max(0.1, min(float(settings.NOTIFY_WEBHOOK_TIMEOUT), MAX_TIMEOUT))


def post_json(url: str, payload: dict, *, timeout: float | None = None) -> Answer:
    """POST `payload` as JSON to `url`. Never raises and never lets the URL out."""
    timeout = timeout_seconds() if timeout is None else timeout
    body = json.dumps(payload).encode()
    try:
        parts = urlsplit(url)
        connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(parts.hostname, parts.port, timeout=timeout)
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        try:
            connection.request("POST", path, body=body, headers={
                "Content-Type": "application/json; charset=utf-8", "User-Agent": "AmbassadorHQ-notifications/1"})
            response = connection.getresponse()
            text = response.read(2000).decode("utf-8", "replace").strip()
            code = text if ERROR_CODE_RE.match(text) else ""
            return Answer(response.status, response.getheader("Retry-After", "") or "", code)
        finally:
            connection.close()
    except TimeoutError:
        return Answer(None, failure=f"no answer within {timeout:g} s")
    except ConnectionRefusedError:
        return Answer(None, failure="the connection was refused")
    except socket.gaierror:
        return Answer(None, failure="the host name could not be resolved")
    except ssl.SSLError:
        return Answer(None, failure="the secure connection failed (TLS)")
    except (OSError, http.client.HTTPException, ValueError) as error:
        # The class name only: an exception's text may contain the address.
        return Answer(None, failure=f"the connection failed ({type(error).__name__})")


def parse_retry_after(value: str, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment is None:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or timezone.now())).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)


def backoff(attempts: int) -> float:
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def refusal_message(channel: str, answer: Answer) -> str:
    """The admin's explanation of a refusal, e.g. "Slack refused the message (404 no_service):
    the webhook was probably deleted; paste a new URL"."""
    what = f"{answer.status} {answer.code}".strip()
    hint = REFUSAL_HINTS.get(answer.status) or (
        "it answered with a redirect, not a webhook's answer; check the URL" if 300 <= (answer.status or 0) < 400
        else "check the webhook URL, or paste a new one")
    return f"{LABELS[channel]} refused the message ({what}): {hint}"


def outcome_of(channel: str, answer: Answer, *, attempts: int = 1, now: datetime | None = None) -> Outcome:
    status = answer.status
    if status is not None and 200 <= status < 300:
        return Outcome(sent=True)
    if status == 429:
        wait = parse_retry_after(answer.retry_after, now)
        return Outcome(sent=False, retry_after=DEFAULT_RETRY_AFTER if wait is None else wait,
                       error=f"{LABELS[channel]} asked us to slow down (429)")
    if status is None or status >= 500:
        why = answer.failure if status is None else f"{LABELS[channel]} answered {status}"
        return Outcome(sent=False, retry_after=backoff(attempts), error=f"Not delivered yet: {why}")
    return Outcome(sent=False, error=refusal_message(channel, answer))


# --- The channel's state on the settings page -------------------------------------------------------

def record_problem(organization_id: int, channel: str, url: str, message: str) -> None:
    """Show `message` to the admins, unless the address was changed meanwhile (then it is not
    this address's problem any more)."""
    NotificationSettings.objects.filter(organization_id=organization_id, **{f"{channel}_webhook_url": url}).update(
        **{f"{channel}_problem": message[:300], f"{channel}_problem_at": timezone.now()})


def clear_problem(organization_id: int, channel: str) -> None:
    NotificationSettings.objects.filter(organization_id=organization_id).exclude(**{f"{channel}_problem": ""}).update(
        **{f"{channel}_problem": "", f"{channel}_problem_at": None})


def deliver(organization_id: int, channel: str, url: str, message: ChatMessage, *, attempts: int = 1,
            what: str = "message") -> Outcome:
    """Post one message to the organisation's channel and keep the settings page's problem
    line in step with the answer. Logs name the channel and the organisation, never the URL."""
    label = LABELS[channel]
    try:
        url = validate_webhook_url(channel, url)
    except ServiceError:
        outcome = Outcome(sent=False, error=f"The {label} webhook URL is not an allowed address any more; "
                                            "paste a new URL on the notification settings page")
        record_problem(organization_id, channel, url, outcome.error)
        logger.warning("%s %s of organisation %s not posted: the saved webhook address is not allowed",
                       label, what, organization_id)
        return outcome
    answer = post_json(url, PAYLOADS[channel](message))
    outcome = outcome_of(channel, answer, attempts=attempts)
    if outcome.sent:
        clear_problem(organization_id, channel)
        logger.info("%s %s posted to the channel of organisation %s", label, what, organization_id)
    elif outcome.retry_after is not None:
        logger.warning("%s %s of organisation %s not posted, retry in %.0f s: %s", label, what, organization_id,
                       outcome.retry_after, outcome.error)
    else:
        record_problem(organization_id, channel, url, outcome.error)
        logger.warning("%s %s of organisation %s refused: %s", label, what, organization_id, outcome.error)
    return outcome


# --- The senders the delivery engine calls -----------------------------------------------------------

def _send_chat(channel: str, deliveries: Iterable[Delivery]) -> dict[int, Outcome]:
    """Post each delivery (a campaign that went live) to its organisation's channel. Once a
    webhook asks to slow down or refuses, the rest of the batch for it waits or fails the same
    way without hammering it. A post the webhook accepted is reported at once, so a worker
    killed later in the batch does not post it again."""
    outcomes: dict[int, Outcome] = {}
    by_org: dict[int, list[Delivery]] = {}
    for delivery in deliveries:
        by_org.setdefault(delivery.organization_id, []).append(delivery)
    for organization_id, rows in by_org.items():
        with tenant_scope(organization_id):
            org_settings = NotificationSettings.objects.filter(organization_id=organization_id).first()
            url = getattr(org_settings, f"{channel}_webhook_url", "") if org_settings else ""
            slug = Organization.objects.filter(pk=organization_id).values_list("slug", flat=True).first()
            campaigns = Campaign.objects.in_bulk([row.campaign_id for row in rows if row.campaign_id])
            stop: Outcome | None = None  # how the rest of the batch ends once the webhook said so
            for row in rows:
                campaign = campaigns.get(row.campaign_id)
                if not url:
                    outcomes[row.pk] = Outcome(sent=False, error=f"No {LABELS[channel]} webhook is set any more")
                elif campaign is None or slug is None:
                    outcomes[row.pk] = Outcome(sent=False, error="The campaign no longer exists")
                elif stop is not None:
                    outcomes[row.pk] = stop
                elif time_left() <= 0:  # the lease is nearly over: another worker may soon take the row
                    outcomes[row.pk] = Outcome(sent=False, retry_after=0.0,
                                               error="The batch ran out of time; posted in the next one")
                else:
                    outcome = deliver(organization_id, channel, url, campaign_message(campaign, slug),
                                      attempts=row.attempts or 1, what=f"post of campaign {campaign.pk}")
                    outcomes[row.pk] = outcome
                    if outcome.sent:
                        report({row.pk: outcome})
                    else:
                        stop = outcome
    return outcomes


@register_sender(DeliveryChannel.SLACK)
def send_slack(deliveries: list[Delivery]) -> dict[int, Outcome]:
    return _send_chat(DeliveryChannel.SLACK, deliveries)


@register_sender(DeliveryChannel.TEAMS)
def send_teams(deliveries: list[Delivery]) -> dict[int, Outcome]:
    return _send_chat(DeliveryChannel.TEAMS, deliveries)


# --- The settings page's "send a test message" -------------------------------------------------------

@dataclass(frozen=True)
class TestResult:
    ok: bool
    message: str


def send_test_message(organization, channel: str) -> TestResult:
    """Post a short test message to the organisation's channel now (waits at most MAX_TIMEOUT)."""
    if channel not in CHAT_CHANNELS:
        raise ServiceError("channel", "Pick Slack or Microsoft Teams.")
    label = LABELS[channel]
    org_settings = NotificationSettings.objects.filter(organization_id=organization.pk).first()
    url = getattr(org_settings, f"{channel}_webhook_url", "") if org_settings else ""
    if not url:
        raise ServiceError("channel", f"Save a {label} webhook URL first.")
    home = f"{settings.SITE_URL.rstrip('/')}{reverse('org_home', kwargs={'org_slug': organization.slug})}"
    message = ChatMessage(title=f"Test message from {organization.name}",
                          text=f"This channel will be told when a campaign of {organization.name} goes live.",
                          link=home, link_label="Open the portal")
    outcome = deliver(organization.pk, channel, url, message, what="test message")
    if outcome.sent:
        return TestResult(True, f"The test message was posted to {label}.")
    if outcome.retry_after is not None:
        return TestResult(False, f"{outcome.error}; try again in a minute.")
    return TestResult(False, outcome.error + ".")
