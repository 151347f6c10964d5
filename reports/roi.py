"""Campaign ROI arithmetic: pure functions over Decimals (DESIGN.md "ROI").

cost = spend (the campaign's cost ledger) + rewards earned + the ambassadors' time, where
time = Σ shares × the campaign's minutes per share / 60 × that ambassador's hourly rate.
ROI = (revenue − cost) / cost. Money is rounded to the cent only at the end (half up), ratios
to 4 places; a ratio whose denominator is zero is None (shown as "—"), never a division error.

costs() is the one cost function: every page, the API, the CSV exports and the digest get their
cost from it (through reports.selectors.roi.costs_of, which reads its inputs), so the dashboard
and the ROI pages can't disagree. roi_of() turns a cost and what was credited into the figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from .figures import CreditTotals

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
class Cost:
    """What a campaign, an ambassador's part of one or the programme cost, exact (unrounded):
    spend from the cost ledger, rewards earned and the ambassadors' time. roi_of() rounds."""

    spend: Decimal = ZERO
    rewards: Decimal = ZERO
    time: Decimal = ZERO

    def __add__(self, other: Cost) -> Cost:
        if not isinstance(other, Cost):
            return NotImplemented
        return Cost(self.spend + other.spend, self.rewards + other.rewards, self.time + other.time)

    @classmethod
    def zero(cls) -> Cost:
        return cls()


@dataclass(frozen=True)
class Costs:
    """What costs() found: each campaign's cost and each ambassador's own part of it."""

    by_campaign: dict[int, Cost]  # spend + rewards + time of each campaign
    time: dict[tuple[int, int], Decimal]  # (campaign id, ambassador id) → the exact time cost
    rewards: dict[tuple[int, int], Decimal]  # (campaign id, ambassador id) → rewards earned

    @property
    def total(self) -> Cost:
        """The programme's cost: every campaign's, summed exactly (rounded once, by roi_of)."""
        return sum(self.by_campaign.values(), Cost.zero())

    @cached_property
    def by_ambassador(self) -> dict[tuple[int, int], Cost]:
        """(campaign id, ambassador id) → that ambassador's own part: rewards + time, no spend."""
        return {key: Cost(rewards=self.rewards.get(key, ZERO), time=self.time.get(key, ZERO))
                for key in [*self.time, *(key for key in self.rewards if key not in self.time)]}


def costs(*, minutes: Mapping[int, Decimal], spend: Mapping[int, Decimal], rewards: Mapping[tuple[int, int], Decimal],
          rates: Mapping[int, Decimal] | None = None, shares: Mapping[tuple[int, int], int] | None = None,
          rated_shares: Mapping[int, Decimal] | None = None) -> Costs:
    """The one cost function. `minutes`: campaign id → minutes per share, for the campaigns
    reported on; `rewards` by (campaign id, ambassador id); `spend` by campaign id. A campaign
    costs its spend plus, for each of its ambassadors, their rewards and their time (time_cost).
    The time comes from one of two inputs:

    * `shares` by (campaign id, ambassador id) and `rates` (ambassador id → hourly rate, for
      the ambassadors reported on): each pair's time is known (Costs.time), for the pages that
      list ambassadors; shares and rewards of ambassadors not in `rates` cost nothing here;
    * `rated_shares`: campaign id → Σ over the campaign's shares of the sharer's hourly rate
      (the database sums it, the filter already chose the ambassadors): a campaign's time is
      that sum × minutes / 60, the same amount without a row per ambassador (Costs.time empty).

    Sums are exact; roi_of() rounds them once. (Plain Decimals in the loops: a programme has
    thousands of pairs.)"""
    if (shares is None) == (rated_shares is None) or (shares is not None and rates is None):
        raise TypeError("costs() takes shares with rates, or rated_shares")
    covered = rates.__contains__ if rates is not None else (lambda ambassador_id: True)
    time: dict[tuple[int, int], Decimal] = {}
    campaign_time = dict.fromkeys(minutes, ZERO)
    if rated_shares is not None:
        for campaign_id, rate_sum in rated_shares.items():
            if campaign_id in minutes:
                campaign_time[campaign_id] = time_cost(1, minutes[campaign_id], rate_sum)
    else:
        # A campaign's time is its Σ shares × rate (exact) × minutes / 60, divided once: a sum of
        # per-ambassador quotients (each cut at Decimal's 28 digits) can fall a hair short of a
        # half cent and round the other way than the database's exact sum (rated_shares) does.
        rated = dict.fromkeys(minutes, ZERO)
        for (campaign_id, ambassador_id), count in shares.items():
            if campaign_id in minutes and ambassador_id in rates:
                time[campaign_id, ambassador_id] = time_cost(count, minutes[campaign_id], rates[ambassador_id])
                rated[campaign_id] += count * rates[ambassador_id]
        for campaign_id, rate_sum in rated.items():
            campaign_time[campaign_id] = time_cost(1, minutes[campaign_id], rate_sum)
    earned: dict[tuple[int, int], Decimal] = {}
    campaign_rewards = dict.fromkeys(minutes, ZERO)
    for (campaign_id, ambassador_id), amount in rewards.items():
        if campaign_id in minutes and covered(ambassador_id):
            earned[campaign_id, ambassador_id] = earned.get((campaign_id, ambassador_id), ZERO) + amount
            campaign_rewards[campaign_id] += amount
    by_campaign = {campaign_id: Cost(spend.get(campaign_id, ZERO), campaign_rewards[campaign_id],
                                     campaign_time[campaign_id]) for campaign_id in minutes}
    return Costs(by_campaign=by_campaign, time=time, rewards=earned)


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


def roi_of(cost: Cost, credits: CreditTotals, shares: int) -> RoiFigures:
    """The ROI figures of a cost (costs()) and what was credited in the same period."""
    return roi_figures(revenue=credits.revenue, spend=cost.spend, rewards=cost.rewards, time=cost.time,
                       leads=credits.leads, customers=credits.customers, shares=shares)


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
