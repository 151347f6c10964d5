"""The attribution step: turn customers (leads) and sales into stored credits.

Reads the database, calls the pure engine (tracking.attribution) and rewrites the credit
rows of a batch of customers (and all their sales) in one transaction, idempotently: the
customers' rows are locked (select_for_update, in id order), their old credits of the
versions being written are deleted and the new ones inserted, and `attributed_at` is set.
Running it twice leaves the same rows. A batch costs a fixed handful of queries whatever its
size (customers, their clicks, their sales, one delete, one insert), so a large backlog or a
recompute goes at thousands of conversions a second.

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
* A lead whose click is not yet processed is left unattributed, so the next run retries: while
  the click is in the raw queue (however long processing is behind), or, when it is not even
  there (the spool may lag), while its click id is under RETRY_WITHIN old. Whether it is ready and
  which visitor it has are decided from one read of its click (`_clicks_of`), never from
  two statements that could see different snapshots (a click committed between them once
  marked leads attributed with no credit, for good).
* Touches at the same instant are ordered by click id, not row id: row ids follow the order
  in which web processes' spools were drained, click ids do not.
* Channels (issue 15): each credit row carries the channel of its touches (Click.channel). An
  ambassador's link units are split once more across the channels that link's touches came
  through, by those touches' weights (split_units, ties by channel name), so per-ambassador and
  per-link totals are exactly what they were, and the channels of one link add up to it.

Concurrency (issue 11): one lock order for everything that writes a customer's conversions —
**the customer row first, then its sales** (attribution here; record_lead, record_sale and the
refund path in tracking.services.conversions). Attribution holds both from its read of the
sales to its commit, so a refund, a re-post or a new lead waits for it and then clears
`attributed_at`, and the next run rewrites the credits. A lock order rather than a
compare-and-set because the writers are few per customer and short, and waiting is simpler to
reason about than retrying; as a second guard, attribution marks attributed exactly the sale
rows it read (a sale linked to the customer after that read is left for the next run, never
marked done without its credits).

Versions: credits carry the AttributionSettings version (window, half-life) they were
computed with. Normal attribution writes every live version — the active one and, while a
recompute runs, the pending one — so a conversion arriving mid-recompute is in both; the
recompute (tracking.services.attribution_settings) writes only the pending version.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from django.db import connection, transaction
from django.db.models import BooleanField, Value
from django.utils import timezone
from django_scopes import scopes_disabled

from ambassadors.models import Ambassador
from tenancy.models import Organization
from tenancy.scoping import tenant_scope
from tracking import attribution as engine
from tracking.ids import click_id_time
from tracking.models import (
    AttributionModel,
    AttributionSettings,
    Click,
    Credit,
    CreditChannel,
    CreditKind,
    Customer,
    RateStatus,
    RawClick,
    Sale,
    SaleStatus,
)
from tracking.services import rollups
from tracking.services.conversions import email_hash
from tracking.services.rollups import CREDIT_COLUMNS, CreditRow

assert tuple(AttributionModel.values) == engine.MODELS  # noqa: S101 - the model names are the engine's

LEAD_UNITS = 10_000  # 1.0000 lead
RETRY_WITHIN = timedelta(minutes=10)
BATCH = 500

Touch = tuple[int, int, int, datetime, str]  # (ambassador_id, link_id, campaign_id, clicked_at, channel)


@dataclass(frozen=True)
class Params:
    """One credits version and the window and half-life it is computed with."""

    version: int
    window: timedelta = engine.DEFAULT_WINDOW
    half_life: timedelta = engine.DEFAULT_HALF_LIFE


def live_params(organization_id: int) -> list[Params]:
    """The versions attribution writes now: the active one, and the pending one while a
    recompute runs. A plain read (never a lock): the recompute holds the settings row."""
    settings = AttributionSettings.objects.filter(organization_id=organization_id).first()
    if settings is None:
        return [Params(1)]
    params = [Params(settings.version, timedelta(days=settings.window_days),
                     timedelta(days=settings.half_life_days))]
    if settings.pending_version is not None:
        params.append(Params(settings.pending_version, timedelta(days=settings.pending_window_days),
                             timedelta(days=settings.pending_half_life_days)))
    return params


# --- reading touches --------------------------------------------------------------------------

def _checkpoint(name: str) -> None:
    """A no-op. Tests replace it to pause attribution at a named point and let another writer
    run there (tests/tracking/test_attribution_races.py): "readiness" (visitors resolved,
    pending leads decided) and "conversions_read" (customers and sales read and locked)."""


def touches_for(customer: Customer, window: timedelta = engine.DEFAULT_WINDOW) -> list[Touch]:
    """The customer's first lead's touches, oldest first (same instant: by click id)."""
    with tenant_scope(customer.organization_id):
        _resolve_visitors(customer, _clicks_of(customer.organization_id, [customer]))
        if not customer.visitor_id:
            return []
        return _touches_by_visitor(customer.organization_id, [customer], window)[customer.visitor_id]


@dataclass(frozen=True)
class LeadClicks:
    """What one read found of the clicks behind leads: processed ones (click id → visitor) and
    the ids still in the raw queue (stored, not processed yet)."""

    processed: dict[str, str]
    raw: frozenset[str]


def _clicks_of(organization_id: int, customers: list[Customer]) -> LeadClicks:
    """The clicks behind these customers' first leads, processed or raw, in ONE statement:
    visitors and readiness are both decided from this one snapshot (click processing moves a
    click from RawClick to Click in one transaction, so the snapshot has it in exactly one)."""
    click_ids = sorted({c.first_click_id for c in customers if c.first_click_id})
    if not click_ids:
        return LeadClicks({}, frozenset())
    processed = (Click.objects.filter(organization_id=organization_id, click_id__in=click_ids)
                 .values_list("click_id", "visitor_id", Value(True, output_field=BooleanField())))
    raw = (RawClick.objects.filter(organization_id=organization_id, click_id__in=click_ids)
           .values_list("click_id", "visitor_id", Value(False, output_field=BooleanField())))
    found: dict[str, str] = {}
    waiting: set[str] = set()
    for click_id, visitor_id, is_processed in processed.union(raw, all=True):
        if is_processed:
            found[click_id] = visitor_id
        else:
            waiting.add(click_id)
    return LeadClicks(found, frozenset(waiting - set(found)))


def _resolve_visitors(customer: Customer, clicks: LeadClicks) -> None:
    """A customer who came with a click id only gets that click's visitor, once it is processed."""
    if customer.visitor_id or not customer.first_click_id:
        return
    visitor_id = clicks.processed.get(customer.first_click_id)
    if visitor_id:
        customer.visitor_id = visitor_id
        Customer.objects.filter(pk=customer.pk).update(visitor_id=visitor_id)


def _click_is_young(click_id: str, now_s: float) -> bool:
    try:
        made = click_id_time(click_id)
    except (ValueError, TypeError):
        return False
    return now_s - made < RETRY_WITHIN.total_seconds()


def pending_customer_ids(customers: list[Customer], clicks: LeadClicks, now: datetime | None = None) -> set[int]:
    """The customers whose lead's click is on its way: not among the processed clicks read, and
    either in the raw queue (stored; click processing may be behind, even for hours after an
    outage of the workers) or younger than RETRY_WITHIN (it may still be in a web process's
    spool). Attribution waits for them, so the lead is credited with that click. A click id
    neither stored nor young is taken as unknown (another site's, a typo): the lead is direct."""
    now_s = (now or timezone.now()).timestamp()
    return {customer.pk for customer in customers
            if customer.first_click_id and customer.first_click_id not in clicks.processed
            and (customer.first_click_id in clicks.raw or _click_is_young(customer.first_click_id, now_s))}


def click_pending(customer: Customer, now: datetime | None = None) -> bool:
    with tenant_scope(customer.organization_id):
        clicks = _clicks_of(customer.organization_id, [customer])
        return customer.pk in pending_customer_ids([customer], clicks, now)


def _touches_by_visitor(organization_id: int, customers: list[Customer],
                        window: timedelta) -> dict[str, list[Touch]]:
    """Every creditable click of these customers' visitors that could fall in any of their
    windows, per visitor, oldest first; the same instant by click id, which is the same
    whichever web process drained first (row ids are not). One query per batch."""
    with_visitor = [c for c in customers if c.visitor_id]
    result: dict[str, list[Touch]] = defaultdict(list)
    if not with_visitor:
        return result
    start = min(c.first_lead_at for c in with_visitor) - window
    end = max(c.first_lead_at for c in with_visitor)
    rows = (Click.objects.filter(organization_id=organization_id,
                                 visitor_id__in=sorted({c.visitor_id for c in with_visitor}),
                                 is_bot=False, is_self=False, is_head=False,
                                 clicked_at__gte=start, clicked_at__lte=end)
            .values_list("visitor_id", "clicked_at", "click_id", "ambassador_id", "link_id", "campaign_id",
                         "channel"))
    # Sorted here, not by the database: a collation could order mixed-case click ids differently.
    for visitor_id, clicked_at, _click_id, ambassador_id, link_id, campaign_id, channel in sorted(rows):
        result[visitor_id].append((ambassador_id, link_id, campaign_id, clicked_at, credit_channel(channel)))
    return result


_CHANNELS = frozenset(CreditChannel.values)


def credit_channel(channel: str) -> str:
    """A click's channel as a credit's (CreditChannel): the same vocabulary; anything else unknown."""
    return channel if channel in _CHANNELS else CreditChannel.UNKNOWN.value


def _in_window(touches: list[Touch], converted_at: datetime, window: timedelta) -> list[Touch]:
    start = converted_at - window
    return [touch for touch in touches if start <= touch[3] <= converted_at]


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


# --- weights --------------------------------------------------------------------------------

@dataclass(frozen=True)
class LeadWeights:
    """Per model: each ambassador's exact share, within it each link's weight, and within a
    link each channel's weight (by_channel[model][(ambassador_id, link_id)]: {channel: weight})."""

    by_ambassador: dict[str, dict[int, Fraction]]
    by_link: dict[str, dict[int, dict[int, Fraction]]]
    campaign_of_link: dict[int, int]
    # (ambassador_id, link_id, channel) when one link, through one channel, has every touch
    single: tuple[int, int, str] | None = None
    by_channel: dict[str, dict[tuple[int, int], dict[str, Fraction]]] | None = None

    @property
    def empty(self) -> bool:
        return not any(self.by_ambassador.values())

    def split(self, model: str, total_units: int) -> dict[tuple[int, int, str], int]:
        """Units per (ambassador_id, link_id, channel): the ambassador's, split by link, then by channel."""
        if self.single is not None:
            return {self.single: total_units} if total_units else {}
        result: dict[tuple[int, int, str], int] = {}
        channels_of = self.by_channel[model]
        for ambassador_id, units in engine.split_units(self.by_ambassador[model], total_units).items():
            links = self.by_link[model][ambassador_id]
            link_units = ({next(iter(links)): units} if len(links) == 1 else engine.split_units(links, units))
            for link_id, n in link_units.items():
                channels = channels_of[(ambassador_id, link_id)]
                if len(channels) == 1:
                    result[(ambassador_id, link_id, next(iter(channels)))] = n
                    continue
                for channel, channel_units in engine.split_units(channels, n).items():
                    result[(ambassador_id, link_id, channel)] = channel_units
        return result


NO_WEIGHTS = LeadWeights({model: {} for model in engine.MODELS}, {model: {} for model in engine.MODELS}, {})


def lead_weights(customer: Customer, touches: list[Touch], *, window: timedelta = engine.DEFAULT_WINDOW,
                 half_life: timedelta = engine.DEFAULT_HALF_LIFE) -> LeadWeights:
    """The five models' weights of a lead over its touches (already windowed, oldest first)."""
    if not touches:
        return NO_WEIGHTS
    campaign_of_link = {link_id: campaign_id for _, link_id, campaign_id, _, _ in touches}
    if len({(ambassador_id, link_id, channel) for ambassador_id, link_id, _, _, channel in touches}) == 1:
        # One ambassador through one link and one channel (the commonest lead): 100 % under every model.
        ambassador_id, link_id, channel = touches[0][0], touches[0][1], touches[0][4]
        whole = {ambassador_id: Fraction(1)}
        return LeadWeights({model: whole for model in engine.MODELS},
                           {model: {ambassador_id: {link_id: Fraction(1)}} for model in engine.MODELS},
                           campaign_of_link, single=(ambassador_id, link_id, channel),
                           by_channel={model: {(ambassador_id, link_id): {channel: Fraction(1)}}
                                       for model in engine.MODELS})
    by_ambassador: dict[str, dict[int, Fraction]] = {}
    by_link: dict[str, dict[int, dict[int, Fraction]]] = {}
    by_channel: dict[str, dict[tuple[int, int], dict[str, Fraction]]] = {}
    engine_touches = [(ambassador_id, clicked_at) for ambassador_id, _, _, clicked_at, _ in touches]
    for model in engine.MODELS:
        per_touch = engine.weights(model, engine_touches, customer.first_lead_at, window=window,
                                   half_life=half_life)
        # The touches were selected with the engine's own window and order, so they line up.
        if len(per_touch) != len(touches):
            raise AssertionError("touches and engine weights do not line up")
        ambassadors: dict[int, Fraction] = {}
        links: dict[int, dict[int, Fraction]] = defaultdict(dict)
        channels: dict[tuple[int, int], dict[str, Fraction]] = defaultdict(dict)
        for (ambassador_id, link_id, _, _, channel), (_, share) in zip(touches, per_touch, strict=True):
            if share:
                ambassadors[ambassador_id] = ambassadors.get(ambassador_id, Fraction(0)) + share
                links[ambassador_id][link_id] = links[ambassador_id].get(link_id, Fraction(0)) + share
                of_link = channels[(ambassador_id, link_id)]
                of_link[channel] = of_link.get(channel, Fraction(0)) + share
        by_ambassador[model] = ambassadors
        by_link[model] = dict(links)
        by_channel[model] = dict(channels)
    return LeadWeights(by_ambassador, by_link, campaign_of_link, by_channel=by_channel)


# --- writing credits ------------------------------------------------------------------------

ZERO_MONEY = Decimal("0.00")
ZERO_SHARE = Decimal("0.0000")


def _lead_rows(customer: Customer, weights: LeadWeights, version: int) -> list[CreditRow]:
    rows = []
    for model in engine.MODELS:
        for (ambassador_id, link_id, channel), units in sorted(weights.split(model, LEAD_UNITS).items()):
            rows.append(CreditRow(customer.organization_id, CreditKind.LEAD.value, customer.pk, None, model,
                                  ambassador_id, link_id, weights.campaign_of_link[link_id], ZERO_MONEY,
                                  Decimal(units).scaleb(-4), customer.first_lead_at, version, channel))
    return rows


def _sale_rows(sale: Sale, weights: LeadWeights, version: int) -> list[CreditRow]:
    if sale.status != SaleStatus.PAID or sale.rate_status == RateStatus.AWAITING:
        return []  # a sale awaiting its exchange rate has no revenue yet (tracking.services.rates)
    cents = int(sale.amount.scaleb(2))
    # Another currency: the original amount's cents split by the same weights (a credit keeps both).
    foreign = sale.rate_status != RateStatus.OWN and sale.original_amount is not None
    original_cents = int(sale.original_amount.scaleb(2)) if foreign else 0
    rows = []
    for model in engine.MODELS:
        split = weights.split(model, cents)
        original = weights.split(model, original_cents) if foreign else {}
        for key in sorted(split.keys() | original.keys()):
            ambassador_id, link_id, channel = key
            rows.append(CreditRow(sale.organization_id, CreditKind.SALE.value, sale.customer_id, sale.pk, model,
                                  ambassador_id, link_id, weights.campaign_of_link[link_id],
                                  Decimal(split.get(key, 0)).scaleb(-2), ZERO_SHARE, sale.occurred_at, version,
                                  channel, Decimal(original.get(key, 0)).scaleb(-2) if foreign else None))
    return rows


def _customer_rows(customer: Customer, first_paid: Sale, weights: LeadWeights, version: int) -> list[CreditRow]:
    """A paying customer's 1.0000, split like its lead, dated by its first paid sale."""
    return [row._replace(kind=CreditKind.CUSTOMER.value, sale_id=first_paid.pk, converted_at=first_paid.occurred_at)
            for row in _lead_rows(customer, weights, version)]


def _insert(rows: list[CreditRow]) -> None:
    """Insert credit rows: COPY on PostgreSQL (several times faster than INSERT for the
    hundreds of thousands of rows of a recompute), bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY {Credit._meta.db_table} ({', '.join(CREDIT_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    Credit.objects.bulk_create([Credit(**dict(zip(CREDIT_COLUMNS, row, strict=True))) for row in rows],
                               batch_size=2000)


# --- the batch ------------------------------------------------------------------------------

def _time_zone(organization_id: int):
    return Organization.objects.get(pk=organization_id).tzinfo


@dataclass
class Run:
    customers: int = 0
    sales: int = 0
    deferred: int = 0
    more: bool = False


def attribute_customers(organization_id: int, customer_ids: list[int], *, params: list[Params] | None = None,
                        mark_attributed: bool = True, hashes: frozenset[str] | None = None,
                        now: datetime | None = None) -> Run:
    """Rewrite the credits of these customers' leads and of all their sales, for `params`
    (default: every live version), in one transaction. Customers whose click is pending are
    left untouched (counted as deferred). `mark_attributed` sets attributed_at on the
    customers and their sales (a recompute, which writes a version nobody reads yet, does not)."""
    run = Run()
    if not customer_ids:
        return run
    if hashes is None:
        hashes = ambassador_email_hashes(organization_id)
    with tenant_scope(organization_id), transaction.atomic():
        customers = list(Customer.objects.select_for_update()
                         .filter(organization_id=organization_id, pk__in=sorted(set(customer_ids)))
                         .order_by("pk"))
        # Read after the customers are locked: a settings change committed before this point
        # is seen, one committed after is the recompute's to apply to these customers.
        if params is None:
            params = live_params(organization_id)
        # One read of the leads' clicks decides both the visitors and which leads wait.
        clicks = _clicks_of(organization_id, customers)
        for customer in customers:
            _resolve_visitors(customer, clicks)
        pending = pending_customer_ids(customers, clicks, now)
        ready = [customer for customer in customers if customer.pk not in pending]
        run.deferred = len(pending)
        _checkpoint("readiness")
        if not ready:
            return run
        ready_ids = [c.pk for c in ready]
        # Then their sales, locked (customer first, then its sales: the one lock order), so a
        # refund or re-post waits for this commit instead of being overwritten by it.
        sales_of: dict[int, list[Sale]] = defaultdict(list)
        sale_ids: list[int] = []
        for sale in (Sale.objects.select_for_update().filter(organization_id=organization_id,
                                                             customer_id__in=ready_ids).order_by("pk")):
            sales_of[sale.customer_id].append(sale)
            sale_ids.append(sale.pk)
        _checkpoint("conversions_read")
        widest = max(p.window for p in params)
        touches = _touches_by_visitor(organization_id, ready, widest)

        rows: list[CreditRow] = []
        for customer in ready:
            self_referral = is_self_referral(customer, hashes)
            visitor_touches = touches.get(customer.visitor_id, []) if customer.visitor_id else []
            for p in params:
                if self_referral:
                    continue
                weights = lead_weights(customer, _in_window(visitor_touches, customer.first_lead_at, p.window),
                                       window=p.window, half_life=p.half_life)
                if weights.empty:
                    continue
                rows.extend(_lead_rows(customer, weights, p.version))
                for sale in sales_of[customer.pk]:
                    rows.extend(_sale_rows(sale, weights, p.version))
                paid = [sale for sale in sales_of[customer.pk] if sale.status == SaleStatus.PAID]
                if paid:
                    first_paid = min(paid, key=lambda sale: (sale.occurred_at, sale.pk))
                    rows.extend(_customer_rows(customer, first_paid, weights, p.version))
        # By customer id alone (they are this organisation's, locked above): with the scope's
        # organisation filter, stale statistics once made PostgreSQL AND in a whole-org index.
        with scopes_disabled():
            old = Credit.objects.filter(customer_id__in=ready_ids, version__in=[p.version for p in params])
            removed = list(map(CreditRow._make, old.values_list(*CREDIT_COLUMNS)))
            if removed:
                old.delete()
        _insert(rows)
        tz = _time_zone(organization_id)
        rollups.add_credits(organization_id, rollups.credit_deltas(removed, rows, tz))
        rollups.add_channel_credits(organization_id, rollups.channel_credit_deltas(removed, rows, tz))
        if mark_attributed:
            moment = timezone.now()
            Customer.objects.filter(pk__in=ready_ids).update(attributed_at=moment)
            # Exactly the sales read above (locked since): one linked to these customers since is
            # not in `sales_of` and stays unattributed for the next run.
            Sale.objects.filter(pk__in=sale_ids).update(attributed_at=moment)
        run.customers = len(ready)
        run.sales = sum(len(sales_of[pk]) for pk in ready_ids)
    return run


def attribute_customer(customer: Customer, *, hashes: frozenset[str] | None = None,
                       now: datetime | None = None) -> bool:
    """Rewrite the lead credits of a customer, then attribute its sales. Returns False when
    the lead's click is still pending (nothing written, attributed_at stays null)."""
    run = attribute_customers(customer.organization_id, [customer.pk], hashes=hashes, now=now)
    return run.customers == 1


def attribute_sale(sale: Sale, *, hashes: frozenset[str] | None = None, now: datetime | None = None) -> bool:
    """Rewrite the credits of one sale (with its customer's, which share the weights). Returns
    False (nothing written) when the sale has no customer yet or the lead's click is pending."""
    with tenant_scope(sale.organization_id):
        customer_id = Sale.objects.filter(pk=sale.pk).values_list("customer_id", flat=True).first()
    if customer_id is None:
        return False
    run = attribute_customers(sale.organization_id, [customer_id], hashes=hashes, now=now)
    return run.customers == 1


def attribute_pending(organization_id: int, *, batch: int = BATCH) -> Run:
    """Attribute up to `batch` unattributed customers and the customers of up to `batch`
    unattributed sales (a refund, a sale whose lead arrived). `more` says a full batch was
    seen and progress was made (the caller queues another run); deferred leads (click
    pending) are simply retried next time."""
    with tenant_scope(organization_id):
        customer_ids = list(Customer.objects.filter(organization_id=organization_id, attributed_at__isnull=True)
                            .order_by("pk").values_list("pk", flat=True)[:batch])
        sale_customer_ids = list(Sale.objects.filter(organization_id=organization_id, attributed_at__isnull=True,
                                                     customer__isnull=False)
                                 .order_by("pk").values_list("customer_id", flat=True)[:batch])
    run = attribute_customers(organization_id, sorted(set(customer_ids) | set(sale_customer_ids)))
    run.more = (len(customer_ids) == batch or len(sale_customer_ids) == batch) and bool(run.customers)
    return run


def organizations_with_pending_attribution() -> list[int]:
    """Organisations with a lead, or a sale whose customer is known, not attributed yet.
    Platform-wide on purpose (the beat sweep): call inside scopes_disabled()."""
    leads = Customer.objects.filter(attributed_at__isnull=True).values_list("organization_id", flat=True)
    sales = Sale.objects.filter(attributed_at__isnull=True, customer__isnull=False).values_list(
        "organization_id", flat=True)
    return sorted(set(leads.distinct().order_by()) | set(sales.distinct().order_by()))


__all__ = ["Params", "Run", "attribute_customer", "attribute_customers", "attribute_pending", "attribute_sale",
           "live_params", "organizations_with_pending_attribution", "touches_for"]
