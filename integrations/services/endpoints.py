"""The admins' operations on webhook endpoints: create, change, rotate the secret, delete.

A secret is returned once, by `create_endpoint` and `rotate_secret`, and never again: the pages
and the API show it in the answer to that request only. After a rotation the previous secret
keeps signing (both signatures are sent) for SECRET_OVERLAP, so a receiver can switch without
losing events. Refusals are EndpointError(field, message), which the pages and the API turn into
a field error."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from common.events import EVENT_TYPES
from common.service_errors import ServiceError

from ..models import WebhookEndpoint
from ..signing import new_secret

SECRET_OVERLAP = timedelta(hours=24)
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 200
DISABLED_BY_ADMIN = "Disabled by an admin."
EDITABLE = ("url", "description", "events", "enabled")

_url_validator = URLValidator(schemes=["https", "http"])


class EndpointError(ServiceError):
    """An endpoint change refused, naming the field at fault."""


def clean_url(url) -> str:
    """A URL events may be sent to: http(s), at most MAX_URL_LENGTH characters, and not an
    internal address (integrations.ssrf: private, loopback, link-local and metadata addresses are
    refused unless WEBHOOK_ALLOWED_HOSTS names the host)."""
    if not isinstance(url, str) or not url.strip():
        raise EndpointError("url", "Enter the URL events are sent to.")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise EndpointError("url", f"The URL is too long (at most {MAX_URL_LENGTH} characters).")
    try:
        _url_validator(url)
    except ValidationError:
        raise EndpointError("url", "Enter a full http:// or https:// URL, like https://example.com/webhooks.") from None
    from ..ssrf import UnsafeURL, check_url  # the engine's guard (the same check as at delivery)

    try:
        check_url(url)
    except UnsafeURL as error:
        raise EndpointError("url", str(error)) from None
    return url


def clean_events(events) -> list[str]:
    """At least one known event type, without repeats, in EVENT_TYPES' order."""
    if not isinstance(events, (list, tuple)) or not all(isinstance(name, str) for name in events):
        raise EndpointError("events", "Give the event types as a list of names.")
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise EndpointError("events", f"Unknown event type(s): {', '.join(unknown)}. "
                                      f"Choose among {', '.join(EVENT_TYPES)}.")
    if not events:
        raise EndpointError("events", "Choose at least one event type.")
    return [name for name in EVENT_TYPES if name in events]


def clean_description(description) -> str:
    if not isinstance(description, str):
        raise EndpointError("description", "The description must be text.")
    description = description.strip()
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise EndpointError("description", f"At most {MAX_DESCRIPTION_LENGTH} characters.")
    return description


def create_endpoint(organization, *, url, events, description="", created_by=None) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint, and its secret (the only time it is returned)."""
    secret = new_secret()
    endpoint = WebhookEndpoint.objects.create(
        organization=organization, url=clean_url(url), events=clean_events(events),
        description=clean_description(description), secret=secret, created_by=created_by)
    return endpoint, secret


def update_endpoint(endpoint: WebhookEndpoint, **fields) -> WebhookEndpoint:
    """Change url, description, events and/or enabled. Enabling a disabled endpoint starts it
    afresh (no failures counted, no reason); an admin disabling it says so in its reason."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise EndpointError(unknown[0], "This field can't be changed.")
    if isinstance(fields.get("url"), str) and fields["url"].strip() == endpoint.url:
        del fields["url"]  # unchanged: not resolved again here (every delivery checks it anyway)
    cleaners = {"url": clean_url, "events": clean_events, "description": clean_description}
    values = {name: cleaners[name](value) if name in cleaners else value for name, value in fields.items()}
    if "enabled" in values and not isinstance(values["enabled"], bool):
        raise EndpointError("enabled", "Must be true or false.")
    with transaction.atomic():
        current = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        was_enabled = current.enabled
        for name, value in values.items():
            setattr(current, name, value)
        if "enabled" in values and values["enabled"] != was_enabled:
            if current.enabled:
                current.consecutive_failures = 0
                current.disabled_reason = ""
            else:
                current.disabled_reason = DISABLED_BY_ADMIN
        current.save()
    return current


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """A new secret (returned once); the current one keeps signing for SECRET_OVERLAP."""
    secret = new_secret()
    with transaction.atomic():
        current = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        current.previous_secret = current.secret
        current.previous_secret_expires_at = timezone.now() + SECRET_OVERLAP
        current.secret = secret
        current.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    endpoint.secret, endpoint.previous_secret = current.secret, current.previous_secret
    endpoint.previous_secret_expires_at = current.previous_secret_expires_at
    return secret


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """The endpoint, its pending deliveries and its log are gone; the messages stay (other
    endpoints may have them)."""
    endpoint.delete()
