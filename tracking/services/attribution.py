"""The attribution step: turn customers (leads) and sales into stored credits.

Reads the database, calls the pure engine (tracking.attribution) and rewrites the credit
rows of one conversion at a time, idempotently: the conversion's row is locked
(select_for_update), its old credits deleted and the new ones inserted in one transaction,
and `attributed_at` set. Running it twice leaves the same rows.

Rules (DESIGN.md "Attribution"):
* A lead's touches are its visitor's clicks in this organisation that are neither bot nor
  self, with clicked_at in [first_lead_at - window, first_lead_at].
* Each model's per-ambassador shares are the engine's (`weights()` summed per ambassador,
  exactly as `weights_by_ambassador()` does); a lead's 1.0000 (10,000 units) and a sale's
  cents are split per ambassador with `split_units()` (= `credit()`), then each ambassador's
  units are split across their links by that ambassador's link weights (split_units again,
  ties by link id), so per-ambassador totals always equal the engine's.
* A sale uses its customer's first-lead weights, however long after the lead it comes.
  A sale without a customer is skipped (attributed when the lead arrives); a refunded sale
  carries no credits (its credits are removed: the simplest full reversal).
* Self-referral (the lead's e-mail is an ambassador's of this organisation) and no touch
  ("direct") store no credits but still set attributed_at: the conversion counts.
* A lead whose click is not yet processed (the spool may lag) and whose click id is under
  RETRY_WITHIN old is left unattributed, so the next run retries.

Window and half-life are the engine defaults for now (per-organisation settings later).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from django.db import transaction
from django.utils import timezone

from ambassadors.models import Ambassador
from tenancy.scoping import tenant_scope
from tracking import attribution as engine
from tracking.ids import click_id_time
from tracking.models import AttributionModel, Click, Credit, CreditKind, Customer, Sale, SaleStatus
from tracking.services.conversions import email_hash

assert tuple(AttributionModel.values) == engine.MODELS  # noqa: S101 - the model names are the engine's

LEAD_UNITS = 10_000  # 1.0000 lead
RETRY_WITHIN = timedelta(minutes=10)

Touch = tuple[int, int, int, datetime]  # (ambassador_id, link_id, campaign_id, clicked_at)


@dataclass(frozen=True)
class Split:
    """One model's split of a conversion: units per (ambassador_id, link_id)."""

    model: str
    units: dict[tuple[int, int], int]


def touches_for(customer: Customer, window: timedelta = engine.DEFAULT_WINDOW) -> list[Touch]:
    """The customer's first lead's touches, oldest first (same instant: by Click id)."""
    with tenant_scope(customer.organization_id):
        if not customer.visitor_id and customer.first_click_id:
            visitor = (Click.objects.filter(organization_id=customer.organization_id,
                                            click_id=customer.first_click_id)
                       .values_list("visitor_id", flat=True).first())
            if visitor:
                customer.visitor_id = visitor
                Customer.objects.filter(pk=customer.pk).update(visitor_id=visitor)
        if not customer.visitor_id:
            return []
        end = customer.first_lead_at
        return list(
            Click.objects.filter(organization_id=customer.organization_id, visitor_id=customer.visitor_id,
                                 is_bot=False, is_self=False, clicked_at__gte=end - window, clicked_at__lte=end)
            .order_by("clicked_at", "id")
            .values_list("ambassador_id", "link_id", "campaign_id", "clicked_at")
        )


def click_pending(customer: Customer, now: datetime | None = None) -> bool:
    """True while the lead's click may still be on its way (not yet a Click row, and its id
    is younger than RETRY_WITHIN): attribution waits for it."""
    if not customer.first_click_id:
        return False
    try:
        made = click_id_time(customer.first_click_id)
    except (ValueError, TypeError):
        return False
    now_s = (now or timezone.now()).timestamp()
    if now_s - made >= RETRY_WITHIN.total_seconds():
        return False
    with tenant_scope(customer.organization_id):
        return not Click.objects.filter(organization_id=customer.organization_id,
                                        click_id=customer.first_click_id).exists()


def ambassador_email_hashes(organization_id: int) -> frozenset[str]:
    with tenant_scope(organization_id):
        emails = Ambassador.objects.filter(organization_id=organization_id).values_list("email", flat=True)
        return frozenset(email_hash(email) for email in emails if email)


def is_self_referral(customer: Customer, hashes: frozenset[str] | None = None) -> bool:
    if not customer.email_hash:
        return False
    if hashes is None:
        hashes = ambassador_email_hashes(customer.organization_id)
    return customer.email_hash in hashes


@dataclass(frozen=True)
class LeadWeights:
    """Per model: each ambassador's exact share and, within it, each link's weight."""

    by_ambassador: dict[str, dict[int, Fraction]]
    by_link: dict[str, dict[int, dict[int, Fraction]]]
    campaign_of_link: dict[int, int]

    @property
    def empty(self) -> bool:
        return not any(self.by_ambassador.values())

    def split(self, model: str, total_units: int) -> dict[tuple[int, int], int]:
        result: dict[tuple[int, int], int] = {}
        for ambassador_id, units in engine.split_units(self.by_ambassador[model], total_units).items():
            for link_id, link_units in engine.split_units(self.by_link[model][ambassador_id], units).items():
                result[(ambassador_id, link_id)] = link_units
        return result


def lead_weights(customer: Customer, touches: list[Touch], *, window: timedelta = engine.DEFAULT_WINDOW,
                 half_life: timedelta = engine.DEFAULT_HALF_LIFE) -> LeadWeights:
    by_ambassador: dict[str, dict[int, Fraction]] = {}
    by_link: dict[str, dict[int, dict[int, Fraction]]] = {}
    campaign_of_link = {link_id: campaign_id for _, link_id, campaign_id, _ in touches}
    engine_touches = [(ambassador_id, clicked_at) for ambassador_id, _, _, clicked_at in touches]
    for model in engine.MODELS:
        per_touch = engine.weights(model, engine_touches, customer.first_lead_at, window=window,
                                   half_life=half_life)
        # The touches were selected with the engine's own window and order, so they line up.
        if len(per_touch) != len(touches):
            raise AssertionError("touches and engine weights do not line up")
        ambassadors: dict[int, Fraction] = {}
        links: dict[int, dict[int, Fraction]] = defaultdict(dict)
        for (ambassador_id, link_id, _, _), (_, share) in zip(touches, per_touch, strict=True):
            if share:
                ambassadors[ambassador_id] = ambassadors.get(ambassador_id, Fraction(0)) + share
                links[ambassador_id][link_id] = links[ambassador_id].get(link_id, Fraction(0)) + share
        by_ambassador[model] = ambassadors
        by_link[model] = dict(links)
    return LeadWeights(by_ambassador, by_link, campaign_of_link)


def _weights(customer: Customer, hashes: frozenset[str] | None) -> LeadWeights | None:
    """The customer's weights; None when no credit is due (self-referral)."""
    if is_self_referral(customer, hashes):
        return None
    return lead_weights(customer, touches_for(customer))


def attribute_customer(customer: Customer, *, hashes: frozenset[str] | None = None,
                       now: datetime | None = None) -> bool:
    """Rewrite the lead credits of a customer, then attribute its sales. Returns False when
    the lead's click is still pending (nothing written, attributed_at stays null)."""
    return _attribute_customer(customer, hashes, now) is not None


def _attribute_customer(customer: Customer, hashes: frozenset[str] | None, now: datetime | None) -> int | None:
    """attribute_customer(); returns how many sales were attributed with it (None: deferred)."""
    with tenant_scope(customer.organization_id), transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if click_pending(customer, now):
            return None
        weights = _weights(customer, hashes)
        Credit.objects.filter(customer=customer, kind=CreditKind.LEAD).delete()
        rows = []
        if weights is not None and not weights.empty:
            for model in engine.MODELS:
                for (ambassador_id, link_id), units in sorted(weights.split(model, LEAD_UNITS).items()):
                    rows.append(Credit(
                        organization_id=customer.organization_id, kind=CreditKind.LEAD, customer=customer,
                        model=model, ambassador_id=ambassador_id, link_id=link_id,
                        campaign_id=weights.campaign_of_link[link_id], amount=Decimal("0.00"),
                        lead_share=Decimal(units).scaleb(-4), converted_at=customer.first_lead_at))
        Credit.objects.bulk_create(rows)
        customer.attributed_at = timezone.now()
        Customer.objects.filter(pk=customer.pk).update(attributed_at=customer.attributed_at)
        sales = list(Sale.objects.filter(customer=customer).order_by("id"))
        for sale in sales:
            _attribute_sale(sale, customer, weights)
        return len(sales)


def attribute_sale(sale: Sale, *, hashes: frozenset[str] | None = None, now: datetime | None = None) -> bool:
    """Rewrite the credits of one sale with its customer's first-lead weights. Returns False
    (nothing written) when the sale has no customer yet or the lead's click is pending."""
    with tenant_scope(sale.organization_id), transaction.atomic():
        customer_id = Sale.objects.filter(pk=sale.pk).values_list("customer_id", flat=True).first()
        if customer_id is None:
            return False
        # Lock order customer → sale, as attribute_customer does: no crosswise waits.
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if click_pending(customer, now):
            return False
        return _attribute_sale(Sale.objects.get(pk=sale.pk), customer, _weights(customer, hashes))


def _attribute_sale(sale: Sale, customer: Customer, weights: LeadWeights | None) -> bool:
    sale = Sale.objects.select_for_update().get(pk=sale.pk)
    Credit.objects.filter(sale=sale, kind=CreditKind.SALE).delete()
    rows = []
    if sale.status == SaleStatus.PAID and weights is not None and not weights.empty:
        cents = int(sale.amount.scaleb(2))
        for model in engine.MODELS:
            for (ambassador_id, link_id), units in sorted(weights.split(model, cents).items()):
                rows.append(Credit(
                    organization_id=sale.organization_id, kind=CreditKind.SALE, customer=customer, sale=sale,
                    model=model, ambassador_id=ambassador_id, link_id=link_id,
                    campaign_id=weights.campaign_of_link[link_id], amount=Decimal(units).scaleb(-2),
                    lead_share=Decimal("0.0000"), converted_at=sale.occurred_at))
    Credit.objects.bulk_create(rows)
    Sale.objects.filter(pk=sale.pk).update(attributed_at=timezone.now())
    return True


@dataclass
class Run:
    customers: int = 0
    sales: int = 0
    deferred: int = 0
    more: bool = False


def attribute_pending(organization_id: int, *, batch: int = 500) -> Run:
    """Attribute up to `batch` unattributed customers, then up to `batch` unattributed sales
    that have a customer. `more` says a full batch was seen and progress was made (the caller
    queues another run); deferred leads (click pending) are simply retried next time."""
    run = Run()
    with tenant_scope(organization_id):
        hashes = ambassador_email_hashes(organization_id)
        customers = list(Customer.objects.filter(organization_id=organization_id, attributed_at__isnull=True)
                         .order_by("id")[:batch])
        for customer in customers:
            sales_done = _attribute_customer(customer, hashes, None)
            if sales_done is None:
                run.deferred += 1
            else:
                run.customers += 1
                run.sales += sales_done
        sales = list(Sale.objects.filter(organization_id=organization_id, attributed_at__isnull=True,
                                         customer__isnull=False).order_by("id")[:batch])
        for sale in sales:
            if attribute_sale(sale, hashes=hashes):
                run.sales += 1
            else:
                run.deferred += 1
    run.more = (len(customers) == batch or len(sales) == batch) and bool(run.customers or run.sales)
    return run


def organizations_with_pending_attribution() -> list[int]:
    """Organisations with a lead, or a sale whose customer is known, not attributed yet.
    Platform-wide on purpose (the beat sweep): call inside scopes_disabled()."""
    leads = Customer.objects.filter(attributed_at__isnull=True).values_list("organization_id", flat=True)
    sales = Sale.objects.filter(attributed_at__isnull=True, customer__isnull=False).values_list(
        "organization_id", flat=True)
    return sorted(set(leads.distinct().order_by()) | set(sales.distinct().order_by()))
