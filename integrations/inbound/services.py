"""Connections to the providers that send conversions in (Stripe, HubSpot), and the one way an
inbound event is stored and acted on.

A connection is one per organisation and provider (a constraint of IntegrationConnection). Its
public token is the credential of its receiving URL, /hooks/<provider>/<token>/: random
(secrets.token_urlsafe(24), 192 bits), so the organisation of a request is the token's and no
one can guess another's. The provider's signing secret is entered by the admin and kept in
clear, because checking an HMAC needs it; pages and API show only its last 4 characters.

`receive()` is what makes a provider's retries harmless: the InboundEvent row (unique per
organisation, provider and the provider's event id) is inserted first, in the same transaction
as the lead or sale the event makes. A replay — the provider retrying, someone resending a
signed body — hits the constraint and changes nothing; two copies arriving at the same moment
wait on the unique index, and the second sees the first's row once it commits."""

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from common.service_errors import ServiceError
from integrations.models import InboundEvent, InboundOutcome, IntegrationConnection, Provider
from tenancy.scoping import tenant_scope
from tracking.services.conversions import ConversionError
from tracking.tasks import queue_attribution

HUBSPOT_DEFAULTS = {"deal_stage": "closedwon", "click_property": "amb_cid", "amount_property": "amount",
                    "currency_property": "deal_currency_code", "default_amount": ""}
SETTINGS_OF = {Provider.STRIPE: {}, Provider.HUBSPOT: HUBSPOT_DEFAULTS}


MAX_SECRET_LENGTH = 200
SETTING_MAX_LENGTH = 100
# HubSpot's internal names of properties and pipeline stages: letters, digits, _ and - .
HUBSPOT_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
SETTING_LABELS = {"deal_stage": "the won deal stage", "click_property": "the click id property",
                  "amount_property": "the deal amount property", "currency_property": "the deal currency property"}


class ConnectionRefused(ServiceError):
    """Input a connection refuses (the field is named)."""


def clean_secret(provider: str, secret) -> str:
    """The provider's signing secret as entered (spaces around it dropped), or ConnectionRefused."""
    if not isinstance(secret, str) or not secret.strip():
        raise ConnectionRefused("signing_secret", "Enter the provider's signing secret.")
    secret = secret.strip()
    if len(secret) > MAX_SECRET_LENGTH or any(char.isspace() or not char.isprintable() for char in secret):
        raise ConnectionRefused("signing_secret", f"A signing secret is at most {MAX_SECRET_LENGTH} printable "
                                                 "characters without spaces.")
    if provider == Provider.STRIPE and not secret.startswith("whsec_"):
        raise ConnectionRefused("signing_secret", "A Stripe endpoint secret starts with whsec_ (Developers → "
                                                 "Webhooks → your endpoint → Signing secret).")
    if len(secret) < 16:
        raise ConnectionRefused("signing_secret", "This is too short to be the provider's signing secret.")
    return secret


def clean_settings(provider: str, values) -> dict:
    """The settings given, checked (only the provider's own keys; each a string)."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConnectionRefused("settings", "Send the settings as a JSON object.")
    known = SETTINGS_OF[provider]
    unknown = sorted(set(values) - set(known))
    if unknown:
        allowed = ", ".join(known) or "none"
        raise ConnectionRefused("settings", f"Unknown setting {unknown[0]!r}; {Provider(provider).label} has: "
                                            f"{allowed}.")
    cleaned = {}
    for name, value in values.items():
        if not isinstance(value, str):
            raise ConnectionRefused(name, "Must be a string.")
        value = value.strip()
        if name == "default_amount":
            cleaned[name] = _clean_amount(value)
        elif not HUBSPOT_NAME.fullmatch(value):
            raise ConnectionRefused(name, f"Enter {SETTING_LABELS[name]}'s internal name: 1 to 100 letters, digits, "
                                         "_ or -.")
        else:
            cleaned[name] = value
    return cleaned


def _clean_amount(value: str) -> str:
    if not value:
        return ""
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ConnectionRefused("default_amount", "Enter an amount such as 1200.00, or leave it empty.") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("1e12"):
        raise ConnectionRefused("default_amount", "Enter an amount over 0 with at most 2 decimal places and 12 "
                                                 "digits, or leave it empty.")
    return str(amount.quantize(Decimal("0.01")))


class ConnectionExists(ConnectionRefused):
    """The organisation already has a connection to this provider."""


def new_public_token() -> str:
    return secrets.token_urlsafe(24)


def full_settings(provider: str, values: dict | None) -> dict:
    """The provider's settings with its defaults filled in; keys the provider has none of dropped."""
    defaults = SETTINGS_OF[provider]
    return {name: (values or {}).get(name, default) for name, default in defaults.items()}


def create_connection(organization, *, provider: str, signing_secret: str,
                      settings: dict | None = None) -> IntegrationConnection:
    """A new, enabled connection; ConnectionExists if the organisation has one to this provider."""
    connection = IntegrationConnection(organization=organization, provider=provider, public_token=new_public_token(),
                                       signing_secret=clean_secret(provider, signing_secret),
                                       settings=full_settings(provider, clean_settings(provider, settings)))
    try:
        with tenant_scope(organization), transaction.atomic():
            connection.save(force_insert=True)
    except IntegrityError:
        raise ConnectionExists("provider", f"There is already a {Provider(provider).label} connection; change or "
                                           "delete it.") from None
    return connection


def update_connection(connection: IntegrationConnection, *, enabled: bool | None = None,
                      signing_secret: str | None = None, settings: dict | None = None) -> IntegrationConnection:
    """Turn the connection on or off, replace its signing secret, change its settings (merged
    into the current ones). The public token never changes: the provider keeps its URL."""
    if enabled is not None:
        connection.enabled = enabled
    if signing_secret is not None:
        connection.signing_secret = clean_secret(connection.provider, signing_secret)
    if settings is not None:
        changes = clean_settings(connection.provider, settings)
        connection.settings = full_settings(connection.provider, {**connection.settings, **changes})
    with tenant_scope(connection.organization_id):
        connection.save()
    return connection


def delete_connection(connection: IntegrationConnection) -> None:
    """The connection and its event log go; the leads and sales it made stay."""
    with tenant_scope(connection.organization_id):
        connection.delete()


def secret_hint(secret: str) -> str:
    """What pages and the API show of a signing secret: its last 4 characters."""
    return "…" + secret[-4:] if len(secret) > 8 else "…"


@dataclass(frozen=True)
class Handled:
    outcome: str  # InboundOutcome
    detail: str


def processed(detail: str) -> Handled:
    return Handled(InboundOutcome.PROCESSED, detail)


def ignored(detail: str) -> Handled:
    return Handled(InboundOutcome.IGNORED, detail)


def receive(connection: IntegrationConnection, *, event_id: str, event_type: str,
            handle: Callable[[], Handled]) -> tuple[InboundEvent, bool]:
    """Store the provider's event once and act on it in the same transaction: (event, True) the
    first time, (the stored event, False) for a replay, which runs nothing.

    `handle()` runs in a savepoint, in the connection's tenant scope: a ConversionError (a
    currency that isn't the organisation's, an amount of 0) undoes whatever it wrote and is
    stored as the event's outcome `failed` with the reason — the provider gets a 2xx, since
    sending the same event again could not succeed. Any other error rolls the event back too,
    so the provider's retry finds nothing stored and tries again."""
    organization = connection.organization
    with tenant_scope(organization), transaction.atomic():
        event = InboundEvent(organization=organization, connection=connection, provider=connection.provider,
                             event_id=event_id[:255], event_type=event_type[:100], outcome=InboundOutcome.FAILED)
        try:
            with transaction.atomic():
                event.save(force_insert=True)
        except IntegrityError:
            return InboundEvent.objects.get(organization=organization, provider=connection.provider,
                                            event_id=event_id[:255]), False
        try:
            with transaction.atomic():
                handled = handle()
        except ConversionError as error:
            handled = Handled(InboundOutcome.FAILED, f"{error.field}: {error.message}")
        event.outcome, event.detail = handled.outcome, handled.detail[:500]
        event.save(update_fields=["outcome", "detail"])
        if handled.outcome == InboundOutcome.PROCESSED:
            queue_attribution(organization.pk)
    return event, True
