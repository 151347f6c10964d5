"""verify_credits: the invariants attribution's credits must always satisfy, checked from the
outside, per organisation and model (DESIGN.md "Attribution"; issue 11).

For the active credits version and every customer whose attribution is done (`attributed_at`
set; conversions still waiting are the beat's work, not a violation):

* no credit on a refunded sale, or on a sale that is not the customer's ("missing");
* an attributed paid sale's credits add up to its amount to the cent, per model — or are
  absent when its customer's lead has no credit (direct, self-referral);
* an attributed lead with a creditable touch in its window, and not a self-referral, has
  lead credits adding up to exactly 1.0000 per model (none marked attributed without them);
  one without such a touch, or a self-referral, has none;
* a paying customer's customer credits add up to 1.0000 per model and point at a paid sale;
* every credit's (ambassador, link) is a creditable touch of the lead's visitor inside its
  window: never a touch outside it, a bot, HEAD or self click; and its channel is the channel of
  such a touch of that link (or "unknown": credits from before credits kept their channel);
* no duplicate rows.

Customers are read in bounded batches (id order); on PostgreSQL each batch reads one
REPEATABLE READ snapshot, so a conversion being attributed meanwhile is seen wholly before or
wholly after. The checks themselves are pure functions over plain values (`check_customer`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Sum
from django_scopes import scopes_disabled

from ambassadors.models import Ambassador
from tenancy.scoping import tenant_scope
from tracking.models import AttributionSettings, Click, Credit, CreditChannel, CreditKind, Customer, Sale, SaleStatus
from tracking.services.conversions import email_hash

BATCH = 2_000
ONE = Decimal("1.0000")
ZERO = Decimal("0")
MODELS = tuple(model for model, _ in Credit._meta.get_field("model").choices)


@dataclass(frozen=True)
class Violation:
    check: str  # a short stable name, e.g. "refunded_sale_credited"
    organization_id: int
    customer_id: int | None
    model: str | None
    message: str
    sale_id: int | None = None

    def line(self) -> str:
        where = f"customer {self.customer_id}" + (f", sale {self.sale_id}" if self.sale_id else "")
        model = f" [{self.model}]" if self.model else ""
        return f"org {self.organization_id} {where}{model}: {self.check}: {self.message}"


# --- plain values --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TouchFact:
    ambassador_id: int
    link_id: int
    clicked_at: datetime
    is_bot: bool
    is_self: bool
    is_head: bool
    channel: str = ""

    @property
    def creditable(self) -> bool:
        return not (self.is_bot or self.is_self or self.is_head)


@dataclass(frozen=True)
class SaleFact:
    id: int
    paid: bool
    amount: Decimal
    attributed: bool
    occurred_at: datetime


@dataclass(frozen=True)
class CreditGroup:
    """The rows of one (kind, sale, model, ambassador, link, channel) of a customer: count and sums."""

    kind: str
    sale_id: int | None
    model: str
    ambassador_id: int
    link_id: int
    rows: int
    amount: Decimal
    share: Decimal
    channel: str = "unknown"


@dataclass
class CustomerFacts:
    organization_id: int
    id: int
    first_lead_at: datetime
    attributed: bool
    self_referral: bool | None  # None: an ambassador with its e-mail joined after its last attribution
    touches: list[TouchFact] = field(default_factory=list)  # every click of its visitor near the lead
    sales: list[SaleFact] = field(default_factory=list)
    credits: list[CreditGroup] = field(default_factory=list)


def check_customer(facts: CustomerFacts, window: timedelta) -> list[Violation]:
    """Every invariant broken by one customer's credits (see the module docstring)."""
    found: list[Violation] = []

    def violation(check: str, message: str, model: str | None = None, sale_id: int | None = None) -> None:
        found.append(Violation(check, facts.organization_id, facts.id, model, message, sale_id))

    for group in facts.credits:
        if group.rows > 1:
            violation("duplicate_credit", f"{group.rows} {group.kind} rows for ambassador {group.ambassador_id}, "
                                          f"link {group.link_id}, channel {group.channel}", group.model, group.sale_id)
    if not facts.attributed:
        return found  # waiting for attribution (a new earlier lead, a click still on its way)

    start = facts.first_lead_at - window
    in_window = [t for t in facts.touches if start <= t.clicked_at <= facts.first_lead_at]
    creditable = {(t.ambassador_id, t.link_id) for t in in_window if t.creditable}
    expect_credit = bool(creditable) and not facts.self_referral
    if facts.self_referral is None:
        expect_credit = None  # either is right: which one depends on when it is attributed next
    sales = {sale.id: sale for sale in facts.sales}

    # Each credit must stand on a creditable touch in the window.
    for ambassador_id, link_id, model in sorted({(g.ambassador_id, g.link_id, g.model) for g in facts.credits}):
        if facts.self_referral is True:
            violation("self_referral_credited", f"ambassador {ambassador_id} credited for a lead by an ambassador "
                                                "of this organisation", model)
        elif (ambassador_id, link_id) not in creditable:
            violation("credit_without_touch", _why_not_creditable(facts, in_window, ambassador_id, link_id), model)
    channels = {(t.ambassador_id, t.link_id, t.channel) for t in in_window if t.creditable}
    for ambassador_id, link_id, channel, model in sorted({(g.ambassador_id, g.link_id, g.channel, g.model)
                                                         for g in facts.credits}):
        if (channel != CreditChannel.UNKNOWN and (ambassador_id, link_id) in creditable
                and (ambassador_id, link_id, channel) not in channels):
            violation("credit_on_wrong_channel", f"credit of ambassador {ambassador_id}, link {link_id} on channel "
                                                 f"{channel}, through which no creditable touch of that link came",
                      model)

    lead_shares: dict[str, Decimal] = defaultdict(Decimal)
    customer_shares: dict[str, Decimal] = defaultdict(Decimal)
    sale_amounts: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    customer_sales: set[tuple[int, str]] = set()
    for group in facts.credits:
        if group.kind == CreditKind.LEAD:
            lead_shares[group.model] += group.share
            continue
        sale = sales.get(group.sale_id)
        if sale is None:
            violation("missing_sale_credited", f"{group.kind} credit on sale {group.sale_id}, which is not this "
                                               "customer's", group.model, group.sale_id)
            continue
        if group.kind == CreditKind.CUSTOMER:
            customer_shares[group.model] += group.share
            customer_sales.add((sale.id, group.model))
        else:
            sale_amounts[(sale.id, group.model)] += group.amount
        if not sale.paid and sale.attributed:
            violation("refunded_sale_credited", f"{group.kind} credit of {group.amount or group.share} for "
                                                f"ambassador {group.ambassador_id} on a refunded sale",
                      group.model, sale.id)

    for model in MODELS if expect_credit is not None else ():
        share = lead_shares.get(model, ZERO)
        if expect_credit and share != ONE:
            check = "lead_without_credit" if share == ZERO else "lead_shares_not_one"
            violation(check, f"lead credits add up to {share}, not 1.0000 (it has a creditable touch in its "
                             "window)", model)
        elif not expect_credit and share != ZERO and not facts.self_referral:
            violation("lead_credited_without_touch", f"lead credits of {share} without a creditable touch "
                                                     "in its window", model)
        for sale in facts.sales:
            if not (sale.paid and sale.attributed):
                continue
            amount = sale_amounts.get((sale.id, model), ZERO)
            wanted = sale.amount if expect_credit else ZERO
            if amount != wanted:
                violation("sale_credits_not_amount", f"sale credits add up to {amount}, not {wanted} "
                                                     f"(sale of {sale.amount})", model, sale.id)
        if facts.sales and all(sale.attributed for sale in facts.sales):
            paid = [sale for sale in facts.sales if sale.paid]
            share = customer_shares.get(model, ZERO)
            wanted = ONE if (expect_credit and paid) else ZERO
            if share != wanted:
                violation("customer_credits_not_one", f"customer credits add up to {share}, not {wanted}", model)
            if paid and share:
                first_paid = min(paid, key=lambda sale: (sale.occurred_at, sale.id)).id
                if {sale_id for sale_id, m in customer_sales if m == model} != {first_paid}:
                    violation("customer_credit_on_wrong_sale", f"customer credits are not on the first paid "
                                                               f"sale ({first_paid})", model)
    return found


def _why_not_creditable(facts: CustomerFacts, in_window: list[TouchFact], ambassador_id: int, link_id: int) -> str:
    theirs = [t for t in in_window if (t.ambassador_id, t.link_id) == (ambassador_id, link_id)]
    who = f"ambassador {ambassador_id}, link {link_id}"
    if any(t.is_head for t in theirs):
        return f"{who} credited for a HEAD request only"
    if any(t.is_bot for t in theirs):
        return f"{who} credited for bot clicks only"
    if any(t.is_self for t in theirs):
        return f"{who} credited for the ambassador's own clicks only"
    if any((t.ambassador_id, t.link_id) == (ambassador_id, link_id) for t in facts.touches):
        return f"{who} credited for a click outside the lead's window"
    return f"{who} credited with no click of the lead's visitor"


# --- reading -------------------------------------------------------------------------------------

@dataclass
class Report:
    organization_id: int
    version: int
    customers: int = 0
    credits: int = 0
    waiting: int = 0  # customers not attributed yet
    violations: list[Violation] = field(default_factory=list)


def verify_organization(organization_id: int, *, batch: int = BATCH) -> Report:
    """Check every customer of the organisation, `batch` at a time."""
    with tenant_scope(organization_id):
        settings = AttributionSettings.objects.filter(organization_id=organization_id).first()
    version = settings.version if settings else 1
    window = timedelta(days=settings.window_days if settings else 30)
    report = Report(organization_id, version)
    with tenant_scope(organization_id):
        ambassadors = _ambassador_hashes(organization_id)
    cursor = 0
    while True:
        outermost = not connection.in_atomic_block
        with tenant_scope(organization_id), transaction.atomic():
            if outermost:  # inside a caller's transaction, its snapshot rules
                _snapshot()
            facts = _read_batch(organization_id, version, window, ambassadors, cursor, batch)
        if not facts:
            return report
        cursor = facts[-1].id
        for customer in facts:
            report.customers += 1
            report.credits += sum(group.rows for group in customer.credits)
            report.waiting += not customer.attributed
            report.violations.extend(check_customer(customer, window))


def _snapshot() -> None:
    """One snapshot for the whole batch (PostgreSQL; SQLite reads are snapshots already)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


def _read_batch(organization_id: int, version: int, window: timedelta, ambassadors: dict[str, datetime],
                after: int, batch: int) -> list[CustomerFacts]:
    rows = list(Customer.objects.filter(organization_id=organization_id, pk__gt=after).order_by("pk")
                .values_list("pk", "visitor_id", "first_click_id", "first_lead_at", "email_hash", "attributed_at")
                [:batch])
    if not rows:
        return []
    ids = [row[0] for row in rows]
    unresolved = {row[2] for row in rows if not row[1] and row[2]}
    click_visitor = dict(Click.objects.filter(organization_id=organization_id, click_id__in=sorted(unresolved))
                         .values_list("click_id", "visitor_id")) if unresolved else {}
    facts: dict[int, CustomerFacts] = {}
    visitor_of: dict[int, str] = {}
    for pk, visitor_id, first_click_id, first_lead_at, hashed, attributed_at in rows:
        joined = ambassadors.get(hashed) if hashed else None
        # A self-referral as attribution judged it: by an ambassador who existed at that run.
        self_referral = (False if joined is None else True if attributed_at is None or joined <= attributed_at
                         else None)
        facts[pk] = CustomerFacts(organization_id, pk, first_lead_at, attributed_at is not None, self_referral)
        visitor = visitor_id or click_visitor.get(first_click_id)
        if visitor:
            visitor_of[pk] = visitor

    if visitor_of:
        customers = [facts[pk] for pk in visitor_of]
        start = min(c.first_lead_at for c in customers) - window
        end = max(c.first_lead_at for c in customers)
        by_visitor: dict[str, list[TouchFact]] = defaultdict(list)
        clicks = (Click.objects.filter(organization_id=organization_id, visitor_id__in=sorted(set(visitor_of.values())),
                                       clicked_at__gte=start, clicked_at__lte=end)
                  .values_list("visitor_id", "ambassador_id", "link_id", "clicked_at", "is_bot", "is_self", "is_head",
                               "channel"))
        for visitor_id, *touch in clicks:
            by_visitor[visitor_id].append(TouchFact(*touch))
        for pk, visitor in visitor_of.items():
            facts[pk].touches = by_visitor.get(visitor, [])

    for pk, customer_id, status, amount, attributed_at, occurred_at in (
            Sale.objects.filter(organization_id=organization_id, customer_id__in=ids)
            .values_list("pk", "customer_id", "status", "amount", "attributed_at", "occurred_at")):
        facts[customer_id].sales.append(SaleFact(pk, status == SaleStatus.PAID, amount, attributed_at is not None,
                                                 occurred_at))

    with scopes_disabled():  # by customer id alone, as attribution deletes them (these are the org's)
        groups = (Credit.objects.filter(customer_id__in=ids, version=version)
                  .values_list("customer_id", "kind", "sale_id", "model", "ambassador_id", "link_id", "channel")
                  .annotate(rows=Count("id"), amount=Sum("amount"), share=Sum("lead_share")).order_by())
        for customer_id, kind, sale_id, model, ambassador_id, link_id, channel, rows, amount, share in groups:
            facts[customer_id].credits.append(CreditGroup(kind, sale_id, model, ambassador_id, link_id, rows, amount,
                                                          share, channel))
    return list(facts.values())


def _ambassador_hashes(organization_id: int) -> dict[str, datetime]:
    """E-mail hash → when the (earliest) ambassador with it joined."""
    joined: dict[str, datetime] = {}
    for email, created_at in Ambassador.objects.filter(organization_id=organization_id).values_list(
            "email", "created_at"):
        if email:
            hashed = email_hash(email)
            joined[hashed] = min(joined.get(hashed, created_at), created_at)
    return joined


def verify(organization_ids: list[int], *, batch: int = BATCH) -> Iterator[Report]:
    for organization_id in organization_ids:
        yield verify_organization(organization_id, batch=batch)
