"""Stripe → sales: what each webhook event means here.

Signatures are checked with the official library (stripe.WebhookSignature.verify_header, the
check stripe.Webhook.construct_event makes), tolerance 5 minutes; only then is the body read.

* `checkout.session.completed` (payment_status "paid") and
  `checkout.session.async_payment_succeeded` → a sale: invoice id = the session id, amount =
  amount_total. A session of a subscription, or one that made an invoice, records no sale
  itself: that invoice's `invoice.paid` does (else the first payment would count twice). It
  still records the lead of its click id, tying the click to the Stripe customer, so every
  later invoice of that customer is attributed.
* `invoice.paid` (amount_paid > 0) → a sale: invoice id = the invoice id, amount = amount_paid.
* `charge.refunded` with the charge fully refunded → the sale it paid is marked refunded
  (record_sale status refunded; attribution then removes its credits). A partial refund leaves
  the sale as it is (the outcome says so); a charge no sale here was paid by is ignored.

Amounts are Stripe's minor units, divided by the currency's exponent as Stripe defines it (0
for JPY and the other zero-decimal currencies, 3 for BHD, JOD, KWD, OMR, TND, 2 otherwise),
exactly, in Decimal. A sale in another currency than the organisation's keeps its amount and
currency as its original ones and is converted at the rate of its day (tracking.services.rates);
a code that is not ISO 4217 is refused (the event is stored as failed with the reason; Stripe
gets a 200, since retrying could not help).

The customer of a sale, in order: the click id in `client_reference_id` (where Checkout puts
`?client_reference_id=`), else `amb_cid` in the metadata — with a click id, a lead is recorded
for it first so the sale attributes; the customer id is `customer_external_id` (or
`customer_id`) from the metadata, else the Stripe customer (`cus_…`), else the session or
invoice id. Without a click id, and when no customer has that id yet, a customer this
organisation already knows by the payer's e-mail is used.

A refund names a charge, not the session or invoice, so when a sale is stored the payment
intent and charge that paid it are remembered (InboundEvent rows of type
stripe.payment_reference, unique like every event id, never listed as events)."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import stripe

from integrations.models import InboundEvent, InboundOutcome
from tracking.ids import is_valid_id
from tracking.models import Customer, Sale, SaleStatus
from tracking.services.conversions import ConversionError, email_hash, record_lead, record_sale
from tracking.services.rates import is_currency, sale_amounts

from .selectors import PAYMENT_REFERENCE
from .services import Handled, ignored, processed

TOLERANCE_SECONDS = 300
# https://docs.stripe.com/currencies#zero-decimal and #three-decimal
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
                          "XAF", "XOF", "XPF"})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


class BadRequest(ValueError):
    """A body that is not a signed Stripe event: answered 400, nothing stored."""


def verified_event(payload: bytes, signature_header: str | None, secret: str) -> dict:
    """The event, once Stripe's signature over it checks out (BadRequest otherwise)."""
    if not signature_header:
        raise BadRequest("Missing Stripe-Signature header.")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The body is not UTF-8.") from None
    try:
        stripe.WebhookSignature.verify_header(text, signature_header, secret, tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as error:
        raise BadRequest(f"Invalid Stripe signature: {error.user_message or error}") from None
    try:
        event = json.loads(text)
    except ValueError:
        raise BadRequest("The body is not JSON.") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"] \
            or not isinstance(event.get("type"), str) or not isinstance(_dict(event.get("data")).get("object"), dict):
        raise BadRequest("Not a Stripe event: expected an object with id, type and data.object.")
    return event


def amount_from_minor_units(minor, currency: str) -> Decimal:
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise ConversionError("amount", f"Stripe's amount is not a whole number of minor units: {minor!r}.")
    exponent = 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2
    amount = Decimal(minor).scaleb(-exponent)
    if amount != amount.quantize(Decimal("0.01")):
        raise ConversionError("amount", f"{amount} {currency} has more than 2 decimal places.")
    return amount.quantize(Decimal("0.01"))


def _moment(event: dict) -> datetime | None:
    created = event.get("created")
    if isinstance(created, int) and not isinstance(created, bool):
        return datetime.fromtimestamp(created, tz=UTC)
    return None


def _dict(value) -> dict:
    """The value if it is an object, else an empty one (a field Stripe left out, or null)."""
    return value if isinstance(value, dict) else {}


def _text(value) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _metadata(obj: dict) -> dict:
    """The object's metadata, with that of its subscription under it (invoices carry it as
    subscription_details, or parent.subscription_details in API versions from 2025-03-31)."""
    merged = {}
    for source in (_dict(obj.get("parent")).get("subscription_details"), obj.get("subscription_details"), obj):
        if isinstance(source, dict) and isinstance(source.get("metadata"), dict):
            merged.update(source["metadata"])
    return merged


def _id_of(value) -> str | None:
    if isinstance(value, dict):  # expanded
        value = value.get("id")
    return _text(value)


def handle(connection, event: dict) -> Handled:
    kind, obj = event["type"], event["data"]["object"]
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        return _session(connection, event, obj)
    if kind == "invoice.paid":
        return _invoice(connection, event, obj)
    if kind == "charge.refunded":
        return _refund(connection, event, obj)
    return ignored(f"{kind} makes no lead or sale.")


def _session(connection, event, session) -> Handled:
    if session.get("payment_status") != "paid":
        return ignored(f"Checkout session not paid (payment_status {session.get('payment_status')!r}); "
                       "checkout.session.async_payment_succeeded records it once paid.")
    session_id = _text(session.get("id")) or event["id"]
    identity = _identity(session, session_id)
    invoice_id = _id_of(session.get("invoice"))
    if session.get("mode") == "subscription" or invoice_id:
        if not identity.click_id:
            return ignored(f"Session {session_id} is paid by an invoice: its invoice.paid records the sale.")
        _lead(connection, identity, event)
        return processed(f"Lead for click {identity.click_id} (customer {identity.external_id}); "
                         "the sale comes with the invoice's invoice.paid.")
    if session.get("amount_total") == 0:
        return ignored(f"Session {session_id} paid nothing (amount_total 0).")
    currency = _currency(session)
    sale = _sale(connection, event, identity, invoice_id=session_id, currency=currency,
                 amount=amount_from_minor_units(session.get("amount_total"), currency))
    _remember(connection, sale.invoice_id, _id_of(session.get("payment_intent")))
    return processed(f"Sale {sale.invoice_id}: {sale_amounts(sale)}, customer {sale.customer_external_id}.")


def _invoice(connection, event, invoice) -> Handled:
    invoice_id = _text(invoice.get("id")) or event["id"]
    if invoice.get("amount_paid") == 0:
        return ignored(f"Invoice {invoice_id} paid nothing (amount_paid 0).")
    currency = _currency(invoice)
    sale = _sale(connection, event, _identity(invoice, invoice_id), invoice_id=invoice_id, currency=currency,
                 amount=amount_from_minor_units(invoice.get("amount_paid"), currency))
    listed = _dict(invoice.get("payments")).get("data")
    payments = [_dict(p.get("payment")) for p in (listed if isinstance(listed, list) else []) if isinstance(p, dict)]
    _remember(connection, sale.invoice_id, _id_of(invoice.get("payment_intent")),
              _id_of(invoice.get("charge")), *(_id_of(p.get("payment_intent")) for p in payments),
              *(_id_of(p.get("charge")) for p in payments))
    return processed(f"Sale {sale.invoice_id}: {sale_amounts(sale)}, customer {sale.customer_external_id}.")


def _refund(connection, event, charge) -> Handled:
    charge_id = _text(charge.get("id")) or "?"
    if not charge.get("refunded"):
        return ignored(f"Charge {charge_id} partly refunded ({charge.get('amount_refunded')} of "
                       f"{charge.get('amount')} minor units): the sale stays paid.")
    invoice_id = _sale_paid_by(connection, charge)
    if invoice_id is None:
        return ignored(f"No sale here was paid by charge {charge_id}.")
    sale = Sale.objects.get(organization=connection.organization, invoice_id=invoice_id)
    record_sale(connection.organization, customer_external_id=sale.customer_external_id, amount=sale.amount,
                currency=sale.currency, invoice_id=invoice_id, status=SaleStatus.REFUNDED,
                occurred_at=_moment(event))
    return processed(f"Sale {invoice_id} refunded (charge {charge_id}).")


def _currency(obj: dict) -> str:
    currency = _text(obj.get("currency"))
    if currency is None:
        raise ConversionError("currency", "The Stripe object has no currency.")
    return currency.upper()


class _Identity:
    def __init__(self, click_id, external_id, email):
        self.click_id, self.external_id, self.email = click_id, external_id, email


def _identity(obj: dict, object_id: str) -> _Identity:
    metadata = _metadata(obj)
    click_id = next((value for value in (_text(obj.get("client_reference_id")), _text(metadata.get("amb_cid")))
                     if value and is_valid_id(value)), None)
    external_id = (_text(metadata.get("customer_external_id")) or _text(metadata.get("customer_id"))
                   or _id_of(obj.get("customer")) or f"stripe-{object_id}")
    email = _text(_dict(obj.get("customer_details")).get("email")) or _text(obj.get("customer_email"))
    return _Identity(click_id, external_id[:255], email if email and len(email) <= 254 and "@" in email else None)


def _lead(connection, identity: _Identity, event: dict) -> None:
    record_lead(connection.organization, click_id=identity.click_id, customer_external_id=identity.external_id,
                email=identity.email, occurred_at=_moment(event))


def _sale(connection, event, identity: _Identity, *, invoice_id: str, currency: str, amount: Decimal) -> Sale:
    organization = connection.organization
    if not is_currency(currency):  # before the lead: a refused sale records nothing
        raise ConversionError("currency", f"Currency {currency[:10]} is not an ISO 4217 code: the sale is not "
                                          "recorded.")
    external_id = identity.external_id
    customers = Customer.objects.filter(organization=organization)
    if identity.click_id:
        _lead(connection, identity, event)
    elif identity.email and not customers.filter(external_id=external_id).exists():
        known = customers.filter(email_hash=email_hash(identity.email)).order_by("id").first()
        if known is not None and known.external_id:
            external_id = known.external_id
        elif known is not None:  # gives the known customer this id, so the sale links to it
            _lead(connection, identity, event)
    sale, _created = record_sale(organization, customer_external_id=external_id, amount=amount, currency=currency,
                                 invoice_id=invoice_id[:255], occurred_at=_moment(event))
    return sale


def _remember(connection, invoice_id: str, *references: str | None) -> None:
    """Which sale a payment intent or charge paid, for its refund later."""
    for reference in dict.fromkeys(r for r in references if r):
        InboundEvent.objects.get_or_create(
            organization=connection.organization, provider=connection.provider, event_id=f"ref:{reference}"[:255],
            defaults={"connection": connection, "event_type": PAYMENT_REFERENCE, "outcome": InboundOutcome.PROCESSED,
                      "detail": invoice_id})


def _sale_paid_by(connection, charge: dict) -> str | None:
    organization = connection.organization
    invoice_id = _id_of(charge.get("invoice"))
    if invoice_id and Sale.objects.filter(organization=organization, invoice_id=invoice_id).exists():
        return invoice_id
    for reference in (_id_of(charge.get("payment_intent")), _text(charge.get("id"))):
        if reference:
            found = (InboundEvent.objects.filter(organization=organization, provider=connection.provider,
                                                 event_id=f"ref:{reference}", event_type=PAYMENT_REFERENCE)
                     .values_list("detail", flat=True).first())
            if found:
                return found
    return None
