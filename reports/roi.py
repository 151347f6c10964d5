"""Campaign ROI arithmetic: pure functions over Decimals (DESIGN.md "ROI").

cost = spend (the campaign's cost ledger) + rewards earned + the ambassadors' time, where
time = Σ shares × the campaign's minutes per share / 60 × that ambassador's hourly rate.
ROI = (revenue − cost) / cost. Money is rounded to the cent only at the end (half up), ratios
to 4 places; a ratio whose denominator is zero is None (shown as "—"), never a division error.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
ZERO = Decimal("0")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(numerator: Decimal, denominator: Decimal, places: Decimal = RATIO) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(places, rounding=ROUND_HALF_UP)


def time_cost(shares: int, minutes_per_share: Decimal, hourly_rate: Decimal) -> Decimal:
    """The exact (unrounded) cost of one ambassador's shares of one campaign."""
    return Decimal(shares) * Decimal(minutes_per_share) * Decimal(hourly_rate) / Decimal(60)


@dataclass(frozen=True)
class RoiFigures:
    revenue: Decimal
    spend: Decimal
    rewards: Decimal
    time_cost: Decimal
    cost: Decimal
    profit: Decimal
    roi: Decimal | None
    leads: Decimal
    customers: Decimal
    shares: int
    cost_per_lead: Decimal | None
    cost_per_customer: Decimal | None
    revenue_per_share: Decimal | None


def roi_figures(*, revenue: Decimal, spend: Decimal, time: Decimal, leads: Decimal, customers: Decimal,
                shares: int, rewards: Decimal = ZERO) -> RoiFigures:
    """All ROI figures of one campaign (or the programme, or one kind of ambassador) and period.
    `time` may be unrounded (a sum of time_cost()); it is rounded to the cent here."""
    time_rounded = money(time)
    cost = money(spend + rewards + time_rounded)
    revenue = money(revenue)
    per = lambda total, count: money(total / count) if count else None  # noqa: E731
    return RoiFigures(
        revenue=revenue, spend=money(spend), rewards=money(rewards), time_cost=time_rounded, cost=cost,
        profit=revenue - cost, roi=ratio(revenue - cost, cost), leads=leads, customers=customers, shares=shares,
        cost_per_lead=per(cost, leads), cost_per_customer=per(cost, customers),
        revenue_per_share=per(revenue, Decimal(shares)),
    )
