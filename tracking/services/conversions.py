"""Leads and sales from the server-side tracking API (and, later, CSV import).

Ingestion only: these functions store customers and sales; attribution reads them later
(rows with `attributed_at` null) and writes the credits.

Idempotency and identity live in PostgreSQL, not in a read-then-write check:
* a sale is unique per (organisation, invoice_id): the insert runs in a savepoint and an
  IntegrityError means "it exists already", so concurrent retries store one sale;
* a customer is unique per (organisation, external_id) when it has one, with the same
  IntegrityError → reload handling;
* on PostgreSQL, a transaction-level advisory lock per identity key (external id, e-mail
  hash, visitor) serialises the few writers of one person, so two concurrent e-mail-only
  leads can't create two customers, and a sale and the lead of its customer can't miss
  each other (whichever commits second links them). SQLite runs write transactions one at
  a time (IMMEDIATE), so it needs no lock.

Lock order with attribution (tracking.services.attribution): the customer row first, then its
sales. A lead locks the customer it updates; a new sale locks the customer it is linked to;
a refund or re-post locks the sale's customer, then the sale. So none of them can slip
between attribution's read of a customer's conversions and its commit."""

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from common.events import publish
from tenancy.scoping import tenant_scope
from tracking.models import Click, Customer, LeadTrackingMode, RawClick, Sale, SaleStatus
from tracking.services import rates


class ConversionError(ValueError):
    """Input the services refuse; `field` names the offending field (for a 400)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_hash(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def email_domain(email: str) -> str | None:
    """The part after the last "@", lower-cased, without a trailing dot: kept in clear (it names a
    mail provider or a company, not a person) for the fraud rules of rewards."""
    domain = normalise_email(email).rpartition("@")[2].rstrip(".")
    return domain[:253] or None


def _lock(organization_id: int, *keys: str) -> None:
    """Transaction-level advisory locks on identity keys (PostgreSQL only), taken in a fixed
    order so two writers never wait on each other crosswise."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for key in sorted(set(keys)):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                           [f"conversions:{organization_id}:{key}"])


def visitor_of_click(organization, click_id: str) -> str | None:
    """The visitor of one of this organisation's clicks (processed or still raw); None if
    the click is unknown here — never another organisation's. One statement over both
    tables: click processing moves a row from RawClick to Click in one transaction, and two
    statements could miss it in both (the first before the move, the second after)."""
    with tenant_scope(organization):
        processed = Click.objects.filter(organization=organization, click_id=click_id).values_list("visitor_id")
        raw = RawClick.objects.filter(organization=organization, click_id=click_id).values_list("visitor_id")
        for (visitor,) in processed.union(raw, all=True):
            if visitor:
                return visitor
    return None


def _link_pending_sales(customer: Customer) -> int:
    if not customer.external_id:
        return 0
    return Sale.objects.filter(organization_id=customer.organization_id, customer__isnull=True,
                               customer_external_id=customer.external_id).update(customer=customer)


def record_lead(organization, *, click_id: str | None = None, visitor_id: str | None = None,
                email: str | None = None, customer_external_id: str | None = None, name: str = "",
                occurred_at: datetime | None = None, metadata: dict | None = None,
                tracking_mode: str | None = None) -> tuple[Customer, bool]:
    """Create the customer of a first lead, or update the customer a later lead is for.

    The customer is found by external id, else by e-mail hash; a lead with neither (only a
    click or visitor id) is matched on its visitor. The first lead — the one with the earliest
    `occurred_at`, whenever it is reported (ties: the one stored first) — fixes attribution:
    its time, and its visitor and click when it has them. A lead reported later with an
    earlier time becomes the first lead, and the customer is queued for attribution again
    (its lead and sale credits are rewritten together, in one transaction). Every lead
    updates name, metadata (replaced when given), last_lead_at, and fills an external id or
    e-mail the customer lacked. `tracking_mode` (LeadTrackingMode: how the click id reached the
    site, amb.js's amb_mode) belongs to the first lead, like its click; None is unknown."""
    if tracking_mode is not None and tracking_mode not in LeadTrackingMode.values:
        raise ConversionError("tracking_mode", f"Unknown tracking mode {tracking_mode!r}; choose one of "
                                               f"{', '.join(LeadTrackingMode.values)}.")
    if not (click_id or visitor_id or email or customer_external_id):
        raise ConversionError("non_field_errors",
                              "Send at least one of click_id, visitor_id, email or customer_external_id.")
    occurred_at = occurred_at or timezone.now()
    hashed = email_hash(email) if email else None
    domain = email_domain(email) if email else None
    if click_id:
        visitor_id = visitor_of_click(organization, click_id) or visitor_id
    for attempt in range(3):
        try:
            with tenant_scope(organization), transaction.atomic():
                return _record_lead(organization, click_id=click_id, visitor_id=visitor_id, hashed=hashed,
                                    domain=domain, external_id=customer_external_id, name=name, occurred_at=occurred_at,
                                    metadata=metadata, tracking_mode=tracking_mode)
        except IntegrityError:
            # Another request created this external id between our read and our write:
            # the next attempt finds it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _record_lead(organization, *, click_id, visitor_id, hashed, domain, external_id, name, occurred_at, metadata,
                 tracking_mode=None):
    keys = [f"ext:{external_id}"] if external_id else []
    if hashed:
        keys.append(f"email:{hashed}")
    if not keys:
        keys.append(f"visitor:{visitor_id or click_id}")
    _lock(organization.pk, *keys)

    # Locked as found (customer first, then its sales): a lead never interleaves with
    # attribution of the same customer, and its save never overwrites what attribution wrote.
    customers = Customer.objects.select_for_update().filter(organization=organization)
    customer = None
    if external_id:
        customer = customers.filter(external_id=external_id).first()
    if customer is None and hashed:
        # Only a customer with no other external id: a different external id is another person.
        match = customers.filter(email_hash=hashed).order_by("id")
        if external_id:
            match = match.filter(external_id__isnull=True)
        customer = match.first()
    if customer is None and not external_id and not hashed:
        match = customers.order_by("id")
        customer = (match.filter(visitor_id=visitor_id).first() if visitor_id
                    else match.filter(first_click_id=click_id).first())

    if customer is None:
        customer = Customer(organization=organization, external_id=external_id or None, email_hash=hashed,
                            email_domain=domain, name=name or "", visitor_id=visitor_id or None,
                            first_click_id=click_id or None, first_lead_at=occurred_at, last_lead_at=occurred_at,
                            metadata=metadata or {}, tracking_mode=tracking_mode or LeadTrackingMode.UNKNOWN)
        with transaction.atomic():
            customer.save(force_insert=True)
        _link_pending_sales(customer)
        # Once per customer (the cause is the customer): a retried request finds it and says nothing.
        publish("lead.created", organization_id=organization.pk, cause=str(customer.public_id),
                occurred_at=occurred_at, data={"customer": _customer_data(customer)})
        return customer, True

    if occurred_at < customer.first_lead_at:
        _become_first_lead(customer, occurred_at=occurred_at, click_id=click_id, visitor_id=visitor_id,
                           tracking_mode=tracking_mode)
    gained_external_id = False
    if external_id and not customer.external_id:
        customer.external_id = external_id
        gained_external_id = True
    if hashed and not customer.email_hash:
        customer.email_hash = hashed
    if hashed and customer.email_hash == hashed and not customer.email_domain:
        customer.email_domain = domain  # the domain of the address the customer is known by
    if name:
        customer.name = name
    if metadata is not None:
        customer.metadata = metadata
    customer.last_lead_at = max(customer.last_lead_at, occurred_at)
    with transaction.atomic():
        customer.save()
    if gained_external_id:
        _link_pending_sales(customer)
    return customer, False


def _become_first_lead(customer: Customer, *, occurred_at: datetime, click_id: str | None,
                       visitor_id: str | None, tracking_mode: str | None = None) -> None:
    """An earlier lead than the customer's first: its time fixes the window from now on, and
    its click and visitor too when it brings them (a CRM lead with only an e-mail keeps the
    visitor the customer is known by: the same person's browser). Attribution runs again."""
    customer.first_lead_at = occurred_at
    if click_id:
        customer.first_click_id = click_id
        customer.visitor_id = visitor_id or None  # None: resolved from the click once processed
    elif visitor_id:
        customer.first_click_id = None
        customer.visitor_id = visitor_id
    if click_id or visitor_id:  # the mode goes with the click it describes
        customer.tracking_mode = tracking_mode or LeadTrackingMode.UNKNOWN
    customer.attributed_at = None


def record_sale(organization, *, customer_external_id: str, amount: Decimal, currency: str, invoice_id: str,
                occurred_at: datetime | None = None, status: str = SaleStatus.PAID) -> tuple[Sale, bool]:
    """Store a sale once per invoice_id. The same invoice again returns the stored sale
    (created False); if it is paid and this post says refunded, it is marked refunded —
    the refund path. A refund for an unknown invoice is refused.

    A sale in any ISO 4217 currency is accepted (issue 17): one in another currency than the
    organisation's keeps its original amount and currency and is converted at the rate of its
    day (tracking.services.rates: exact, estimated, or awaiting a rate)."""
    currency = (currency or "").strip().upper()
    if not rates.is_currency(currency):
        raise ConversionError("currency", "Currency must be an ISO 4217 code such as EUR or USD.")
    if amount <= 0:
        raise ConversionError("amount", "The amount must be greater than 0.")
    if status not in SaleStatus.values:
        raise ConversionError("status", "Status must be paid or refunded.")
    occurred_at = occurred_at or timezone.now()
    with tenant_scope(organization), transaction.atomic():
        if status == SaleStatus.PAID:
            # Another currency: converted at the rate of its day (tracking.services.rates); amount and
            # currency are always the organisation's, the posted ones kept as original_*.
            rates.ensure_reference(organization, currency)
            converted = rates.conversion_for(organization, amount, currency, occurred_at)
            sale = Sale(organization=organization, invoice_id=invoice_id, customer_external_id=customer_external_id,
                        amount=converted.amount, currency=organization.currency, occurred_at=occurred_at,
                        status=SaleStatus.PAID, original_amount=amount, original_currency=currency,
                        rate=converted.rate, rate_day=converted.rate_day, rate_status=converted.status)
            try:
                with transaction.atomic():  # a savepoint: the outer transaction survives a duplicate
                    sale.save(force_insert=True)
            except IntegrityError:
                pass  # the invoice exists (perhaps committed a moment ago by a concurrent retry)
            else:
                # Link to its customer if known; the lock pairs with record_lead's, so a lead
                # committing meanwhile either is seen here or sees this sale.
                _lock(organization.pk, f"ext:{customer_external_id}")
                customer = Customer.objects.select_for_update().filter(organization=organization,
                                                                       external_id=customer_external_id).first()
                if customer is not None:
                    sale.customer = customer
                    Sale.objects.filter(pk=sale.pk).update(customer=customer)
                publish("sale.created", organization_id=organization.pk, cause=str(sale.public_id),
                        occurred_at=occurred_at, data={"sale": sale_data(sale)})
                return sale, True
        sale = _locked_sale(organization, invoice_id)
        if sale is None:
            raise ConversionError("invoice_id", f"No sale with invoice_id {invoice_id!r} to refund: "
                                                "post the sale (status paid) first.")
        if status == SaleStatus.REFUNDED and sale.status == SaleStatus.PAID:
            sale.status = SaleStatus.REFUNDED
            sale.refunded_at = occurred_at
            sale.attributed_at = None  # attribution removes its credits on the next run
            sale.save(update_fields=["status", "refunded_at", "attributed_at"])
            publish("sale.refunded", organization_id=organization.pk, cause=str(sale.public_id),
                    occurred_at=occurred_at, data={"sale": sale_data(sale)})
        return sale, False


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _customer_data(customer: Customer) -> dict:
    """A customer as domain events show it (common.events): public id, never the database's."""
    return {"id": str(customer.public_id), "external_id": customer.external_id, "name": customer.name,
            "click_id": customer.first_click_id, "first_lead_at": _iso(customer.first_lead_at)}


def sale_data(sale: Sale) -> dict:
    """A sale as domain events show it: money as a string with its currency, times in UTC."""
    return {"id": str(sale.public_id), "invoice_id": sale.invoice_id, "amount": f"{sale.amount:.2f}",
            "currency": sale.currency, "original_amount": f"{sale.posted_amount:.2f}",
            "original_currency": sale.posted_currency, "rate_status": sale.rate_status, "status": sale.status,
            "occurred_at": _iso(sale.occurred_at),
            "refunded_at": _iso(sale.refunded_at), "customer_external_id": sale.customer_external_id,
            "customer_id": str(sale.customer.public_id) if sale.customer_id else None}


def _locked_sale(organization, invoice_id: str) -> Sale | None:
    """The sale of this invoice, locked after its customer (the lock order attribution uses).
    The customer link is read first, unlocked; if it changed before the sale was locked (a
    lead linked the sale meanwhile), the locks are taken again for the new customer."""
    sales = Sale.objects.filter(organization=organization, invoice_id=invoice_id)
    for _attempt in range(5):
        customer_id = sales.values_list("customer_id", flat=True).first()
        if customer_id is not None:
            Customer.objects.select_for_update().filter(pk=customer_id).values_list("pk", flat=True).first()
        sale = sales.select_for_update(of=("self",)).select_related("customer").first()
        if sale is None or sale.customer_id == customer_id:
            return sale
    raise RuntimeError(f"The customer of invoice {invoice_id!r} kept changing while it was being locked.")
