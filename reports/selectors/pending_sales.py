"""Sales in another currency whose value in the organisation's currency is not final (issue 17),
so that no report drops them silently: a sale with no exchange rate at all is stored `awaiting`
with amount 0.00 and counts in revenue only once a rate arrives (tracking.services.rates); one
converted at an earlier day's rate is `estimated`. The overview, the ROI pages and their API say
how many of the period's sales are in either state, with the awaiting ones' original amounts.

The period is the sales' occurred_at in the organisation's time zone (like every report). Only
paid sales: a refunded sale has no revenue whatever its rate. Under a campaign, group or kind
filter a sale counts when its customer has a credit (of the active version and the report's
model) of the filter's campaigns and ambassadors: an awaiting sale has no sale credits yet, but
its customer's lead credits tie it to campaigns. Without a filter every such sale counts, even
one whose customer is not known yet. Three queries at most; such sales are few (a partial index
covers them, tracking.models.Sale)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef

from tracking.models import Credit, RateStatus, Sale, SaleStatus
from tracking.selectors import active_version

from ..filters import ReportFilter
from .base import _scoped


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    amount: Decimal  # the sales' original amounts, in `currency`


@dataclass(frozen=True)
class PendingSales:
    awaiting: int = 0  # sales with no rate yet: 0.00 in every figure until one arrives
    awaiting_totals: tuple[CurrencyTotal, ...] = ()  # their original amounts per currency
    estimated: int = 0  # sales converted at the latest earlier day's rate
    # campaign id → (awaiting, estimated): the sales whose customer has credits in that campaign
    # (a sale can count in several campaigns, so these are not parts of the totals above)
    by_campaign: dict[int, tuple[int, int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.awaiting or self.estimated)


def _credits(f: ReportFilter):
    version, reporting_model = active_version(f.organization_id)
    return _scoped(Credit.objects.filter(organization_id=f.organization_id, version=version,
                                         model=f.model or reporting_model), f)


def pending_sales(f: ReportFilter) -> PendingSales:
    """The period's paid sales awaiting a rate or estimated, under f's filters (see the module doc)."""
    sales = Sale.objects.filter(organization_id=f.organization_id, status=SaleStatus.PAID,
                                rate_status__in=[RateStatus.AWAITING, RateStatus.ESTIMATED],
                                occurred_at__gte=f.period.start_at, occurred_at__lt=f.period.end_at)
    credits = _credits(f)
    if f.campaign_ids is not None or f.filters_ambassadors:
        sales = sales.filter(Exists(credits.filter(customer_id=OuterRef("customer_id"))))
    rows = list(sales.order_by().values_list("customer_id", "rate_status", "original_currency", "original_amount"))
    if not rows:
        return PendingSales()
    totals: dict[str, Decimal] = defaultdict(Decimal)
    awaiting = estimated = 0
    for _, status, currency, amount in rows:
        if status == RateStatus.AWAITING:
            awaiting += 1
            totals[currency] += amount or Decimal("0.00")
        else:
            estimated += 1
    campaigns_of: dict[int, set[int]] = defaultdict(set)
    customers = {customer_id for customer_id, *_ in rows if customer_id is not None}
    for customer_id, campaign_id in (credits.filter(customer_id__in=customers).order_by()
                                     .values_list("customer_id", "campaign_id").distinct()):
        campaigns_of[customer_id].add(campaign_id)
    by_campaign: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for customer_id, status, *_ in rows:
        for campaign_id in campaigns_of.get(customer_id, ()):
            by_campaign[campaign_id][0 if status == RateStatus.AWAITING else 1] += 1
    return PendingSales(awaiting, tuple(CurrencyTotal(currency, totals[currency]) for currency in sorted(totals)),
                        estimated, {pk: (counts[0], counts[1]) for pk, counts in by_campaign.items()})
