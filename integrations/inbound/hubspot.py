"""HubSpot → leads and sales: a public app's webhook subscriptions.

The signature is HubSpot's v3: X-HubSpot-Signature-v3 = base64(HMAC-SHA256(app client secret,
method + URI + body + X-HubSpot-Request-Timestamp)), the URI as HubSpot called it (the URL
pasted into the app, i.e. SITE_URL + the path) with the characters HubSpot lists decoded; a
timestamp more than 5 minutes from now is refused; the comparison is in constant time.

A request is a JSON array of events, each stored once by its eventId:

* a contact event (`contact.creation`, `contact.propertyChange`) whose property is the click id
  property (setting `click_property`, default amb_cid) → a lead: that click id, customer
  "hubspot-contact-<objectId>";
* a deal's click id property set (`deal.propertyChange`, e.g. copied from its contact by a
  HubSpot workflow) → a lead for customer "hubspot-deal-<objectId>", so the deal's sale
  attributes;
* a deal moved to the won stage (`deal.propertyChange` of dealstage to setting `deal_stage`,
  default closedwon) → a sale: invoice id and customer "hubspot-deal-<objectId>".

What HubSpot sends is only the object id and the one property that changed: no amount with the
stage change, and no association between a deal and its contacts. So the amount of a won deal
is its amount property's (setting `amount_property`, default amount) latest value seen — in the
same request or an earlier one, which needs a subscription to deal.propertyChange of that
property — else the connection's `default_amount`; without either the sale is refused (stored
as failed, saying why). The currency likewise (`currency_property`, default
deal_currency_code), else the organisation's; another currency is converted at the rate of the
sale's day (tracking.services.rates). A deal's sale is credited to whoever's link the
deal's own click id came through; a deal without one is a sale with no credit."""

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from integrations.models import InboundEvent, Provider
from tracking.ids import is_valid_id
from tracking.services.conversions import ConversionError, record_lead, record_sale
from tracking.services.rates import is_currency, sale_amounts

from .services import Handled, full_settings, ignored, processed

TOLERANCE_MS = 5 * 60 * 1000
MAX_EVENTS = 100  # HubSpot sends at most 100 events per request
# The URL-encoded characters HubSpot decodes in the URI before signing (its v3 documentation).
DECODED = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'", "%28": "(",
           "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}
_ENCODED = re.compile("|".join(DECODED), re.IGNORECASE)
CONTACT_EVENTS = ("contact.creation", "contact.propertyChange")
REMEMBERED = "deal.propertyChange"


class BadRequest(ValueError):
    """Not a signed HubSpot request: answered 400, nothing stored."""


def signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    uri = _ENCODED.sub(lambda match: DECODED[match[0].upper()], uri)
    source = method.upper().encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def verified_events(*, secret: str, method: str, uris: list[str], body: bytes, signature_header: str | None,
                    timestamp_header: str | None, now_ms: int | None = None) -> list[dict]:
    """The request's events once its v3 signature checks out against one of `uris` (BadRequest otherwise)."""
    if not signature_header or not timestamp_header:
        raise BadRequest("Missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp header.")
    if not timestamp_header.isdigit() or len(timestamp_header) > 15:
        raise BadRequest("X-HubSpot-Request-Timestamp is not a time in milliseconds.")
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now_ms - int(timestamp_header)) > TOLERANCE_MS:
        raise BadRequest("X-HubSpot-Request-Timestamp is more than 5 minutes away from now: refused as a replay.")
    given = signature_header.encode()
    if not any(hmac.compare_digest(signature(secret, method, uri, body, timestamp_header).encode(), given)
               for uri in uris):
        raise BadRequest("Invalid X-HubSpot-Signature-v3.")
    try:
        events = json.loads(body)
    except ValueError:
        raise BadRequest("The body is not JSON.") from None
    if not isinstance(events, list) or not events or len(events) > MAX_EVENTS \
            or not all(isinstance(e, dict) and event_id(e) for e in events):
        raise BadRequest(f"Expected a JSON array of 1 to {MAX_EVENTS} events, each with an eventId.")
    return events


def event_id(event: dict) -> str | None:
    """The event's eventId as text (None if it has none)."""
    value = event.get("eventId")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        return None
    return str(value).strip()[:255]


def event_type(event: dict) -> str:
    value = event.get("subscriptionType")
    return value[:100] if isinstance(value, str) and value else "unknown"


def _object_id(event: dict) -> str | None:
    value = event.get("objectId")
    if isinstance(value, bool) or not isinstance(value, int | str) or not re.fullmatch(r"\d{1,20}", str(value)):
        return None
    return str(value)


def _moment(event: dict) -> datetime | None:
    value = event.get("occurredAt")
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**14:
        return min(datetime.fromtimestamp(value / 1000, tz=UTC), datetime.now(tz=UTC))
    return None


def _value(event: dict) -> str:
    value = event.get("propertyValue")
    return str(value).strip() if isinstance(value, str | int | float) and not isinstance(value, bool) else ""


def deal_values(events: list[dict]) -> dict[str, dict[str, str]]:
    """The deal properties a request carries: {deal id: {property: latest value}}."""
    found: dict[str, dict[str, str]] = {}
    for event in sorted(events, key=lambda e: e.get("occurredAt") if isinstance(e.get("occurredAt"), int) else 0):
        deal = _object_id(event)
        if event.get("subscriptionType") == REMEMBERED and deal and isinstance(event.get("propertyName"), str):
            found.setdefault(deal, {})[event["propertyName"]] = _value(event)
    return found


def handle(connection, event: dict, batch_deals: dict[str, dict[str, str]]) -> Handled:
    settings = full_settings(Provider.HUBSPOT, connection.settings)
    kind, prop, value, object_id = event_type(event), event.get("propertyName"), _value(event), _object_id(event)
    if object_id is None:
        return ignored(f"{kind} without an objectId.")
    if kind in CONTACT_EVENTS and prop == settings["click_property"]:
        return _lead(connection, event, value, f"hubspot-contact-{object_id}")
    if kind != REMEMBERED:
        return ignored(f"{kind} ({prop or 'no property'}) makes no lead or sale.")
    if prop == settings["click_property"]:
        return _lead(connection, event, value, f"hubspot-deal-{object_id}")
    if prop in (settings["amount_property"], settings["currency_property"]):
        # The detail is what a later stage change reads (_latest): keep its form.
        return ignored(f"deal {object_id} {prop}={value}")
    if prop == "dealstage":
        if value != settings["deal_stage"]:
            return ignored(f"Deal {object_id} moved to stage {value!r}, not the won stage {settings['deal_stage']!r}.")
        return _won(connection, event, object_id, settings, batch_deals.get(object_id, {}))
    return ignored(f"deal property {prop!r} makes no lead or sale.")


def _lead(connection, event, click_id: str, external_id: str) -> Handled:
    if not is_valid_id(click_id):
        raise ConversionError("propertyValue", f"{click_id[:40]!r} is not a click id (22 characters of A–Z, "
                                               "a–z, 0–9, - and _).")
    record_lead(connection.organization, click_id=click_id, customer_external_id=external_id,
                occurred_at=_moment(event))
    return processed(f"Lead for click {click_id}, customer {external_id}.")


def _latest(connection, deal: str, prop: str) -> str | None:
    """The deal property's value from the latest earlier event that carried it."""
    prefix = f"deal {deal} {prop}="
    detail = (InboundEvent.objects.filter(organization=connection.organization, provider=Provider.HUBSPOT,
                                          event_type=REMEMBERED, detail__startswith=prefix)
              .order_by("-received_at", "-id").values_list("detail", flat=True).first())
    return detail[len(prefix):] if detail else None


def _won(connection, event, deal: str, settings: dict, in_request: dict[str, str]) -> Handled:
    organization = connection.organization
    amount_text = (in_request.get(settings["amount_property"]) or _latest(connection, deal, settings["amount_property"])
                   or settings["default_amount"])
    if not amount_text:
        raise ConversionError("amount", f"Deal {deal} is won but its amount is unknown: HubSpot sends only the "
                                        f"stage; subscribe to deal.propertyChange of {settings['amount_property']} "
                                        "or set a default amount on the connection.")
    try:
        amount = Decimal(amount_text)
    except InvalidOperation:
        raise ConversionError("amount", f"Deal {deal}'s amount {amount_text[:40]!r} is not a number.") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("1e12"):
        raise ConversionError("amount", f"Deal {deal}'s amount {amount_text[:40]!r} is not an amount with at most 2 "
                                        "decimal places.")
    currency_property = settings["currency_property"]
    currency = (in_request.get(currency_property) or _latest(connection, deal, currency_property)
                or organization.currency).strip().upper()
    if not is_currency(currency):
        raise ConversionError("currency", f"Deal {deal}'s currency {currency[:10]!r} is not an ISO 4217 code: the "
                                          "sale is not recorded.")
    external_id = f"hubspot-deal-{deal}"
    sale, _created = record_sale(organization, customer_external_id=external_id, currency=currency,
                                 amount=amount.quantize(Decimal("0.01")), invoice_id=external_id,
                                 occurred_at=_moment(event))
    return processed(f"Sale {sale.invoice_id}: {sale_amounts(sale)}.")
