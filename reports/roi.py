"""Campaign ROI arithmetic: pure functions over Decimals (DESIGN.md "ROI").

cost = spend (the campaign's cost ledger) + rewards earned + the ambassadors' time, where
time = Σ shares × the campaign's minutes per share / 60 × that ambassador's hourly rate.
ROI = (revenue − cost) / cost. Money is rounded to the cent only at the end (half up), ratios
to 4 places; a ratio whose denominator is zero is None (shown as "—"), never a division error.

Parts add up (issue 17), one rule: each campaign's spend, rewards and time are summed exactly and
rounded once, half up, to the cent; its cost is the sum of those three rounded figures. Any
breakdown of a campaign's figure (its ambassadors' time and rewards, the kinds, the groups) gets
its cents by largest remainder (largest_remainder: each line's exact amount cut down to the cent,
the cents left over go to the lines with the largest cut-off remainder, ties to the lower key), so
the lines add up exactly to the shown figure. A programme's (several campaigns') figures are the
sums of its campaigns' rounded figures (Costs.total), so the total row adds up too.

Segments (a kind or group filter, issue 17): a campaign's spend is allocated to its sharers in
proportion to their shares of the campaign in the period (allocate: largest remainder to the
cent, ties to the lower ambassador id), and a segment carries the sum of its ambassadors' parts,
so the segments' costs add up exactly to the campaign's. A campaign with spend but no shares in
the period keeps its spend unallocated (Costs.unallocated), shown on its own line.

costs() is the one cost function: every page, the API, the CSV exports and the digest get their
cost from it (through reports.selectors.roi.costs_of, which reads its inputs), so the dashboard
and the ROI pages can't disagree. roi_of() turns a cost and what was credited into the figures.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import TypeVar

from .figures import CreditTotals

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
ZERO = Decimal("0")
K = TypeVar("K", bound=Hashable)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(numerator: Decimal, denominator: Decimal, places: Decimal = RATIO) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(places, rounding=ROUND_HALF_UP)


def largest_remainder(exact: Mapping[K, Decimal], total: Decimal | None = None) -> dict[K, Decimal]:
    """Each line's exact amount in cents, adding up exactly to `total` (default: the exact sum
    rounded once, half up): every line is cut down to the cent, and the cents left over go one
    each to the lines with the largest cut-off remainder (ties: the lower key first)."""
    if total is None:
        total = money(sum(exact.values(), ZERO))
    floors = {key: Decimal(amount).quantize(CENT, rounding=ROUND_FLOOR) for key, amount in exact.items()}
    left = int((total - sum(floors.values(), ZERO)) / CENT)
    if left and not floors:
        raise ValueError("no lines to hand the cents to")
    order = sorted(floors, key=lambda key: (-(Decimal(exact[key]) - floors[key]), key))
    step = CENT if left >= 0 else -CENT
    for index in range(abs(left)):
        key = order[index % len(order)] if left > 0 else order[-1 - index % len(order)]
        floors[key] += step
    return floors


def allocate(amount: Decimal, weights: Mapping[K, int]) -> dict[K, Decimal]:
    """`amount` (to the cent) divided in proportion to the weights, to the cent by largest
    remainder; {} when the weights sum to nothing (the amount stays unallocated)."""
    whole = sum(weights.values())
    if not whole:
        return {}
    return largest_remainder({key: Decimal(amount) * weight / whole for key, weight in weights.items() if weight},
                             total=money(Decimal(amount)))


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

    def rounded(self) -> Cost:
        """Each part rounded once to the cent (the figures shown; cost is their sum)."""
        return Cost(money(self.spend), money(self.rewards), money(self.time))

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
    # under a kind or group filter: campaign id → spend with no shares in the period to carry it
    unallocated: dict[int, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Cost:
        """The programme's cost: the sum of every campaign's rounded parts (so the total row is
        the sum of the campaign rows, to the cent)."""
        return sum((cost.rounded() for cost in self.by_campaign.values()), Cost.zero())

    @property
    def unallocated_total(self) -> Decimal:
        return sum((money(amount) for amount in self.unallocated.values()), ZERO)

    @cached_property
    def _by_campaign_lines(self) -> dict[int, tuple[dict[int, Decimal], dict[int, Decimal]]]:
        grouped: dict[int, tuple[dict[int, Decimal], dict[int, Decimal]]] = {pk: ({}, {}) for pk in self.by_campaign}
        for index, source in enumerate((self.time, self.rewards)):
            for (campaign_id, ambassador_id), amount in source.items():
                if campaign_id in grouped:
                    grouped[campaign_id][index][ambassador_id] = amount
        return grouped

    def lines(self, campaign_id: int) -> dict[int, Cost]:
        """Ambassador id → that ambassador's own part of the campaign (rewards + time, no
        spend), in cents by largest remainder, so the lines (and any grouping of them, such as
        the kinds) add up exactly to the campaign's rounded rewards and time."""
        cost = self.by_campaign[campaign_id].rounded()
        times, rewards = self._by_campaign_lines[campaign_id]
        time = largest_remainder(times, cost.time) if times or cost.time else {}
        earned = largest_remainder(rewards, cost.rewards) if rewards or cost.rewards else {}
        return {pk: Cost(rewards=earned.get(pk, ZERO), time=time.get(pk, ZERO)) for pk in sorted({*time, *earned})}

    @cached_property
    def by_ambassador(self) -> dict[tuple[int, int], Cost]:
        """(campaign id, ambassador id) → that ambassador's own part: rewards + time, no spend."""
        return {key: Cost(rewards=self.rewards.get(key, ZERO), time=self.time.get(key, ZERO))
                for key in [*self.time, *(key for key in self.rewards if key not in self.time)]}


def costs(*, minutes: Mapping[int, Decimal], spend: Mapping[int, Decimal], rewards: Mapping[tuple[int, int], Decimal],
          rates: Mapping[int, Decimal] | None = None, shares: Mapping[tuple[int, int], int] | None = None,
          rated_shares: Mapping[int, Decimal] | None = None,
          segment: Collection[int] | None = None) -> Costs:
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

    Under a kind or group filter, `segment` is the filter's ambassador ids, and `shares`, `rates`
    and `rewards` cover every ambassador (the whole campaign): the whole campaign's cost is worked
    out and rounded, its spend allocated to its sharers in proportion to their shares (allocate)
    and its rewards and time handed to its ambassadors in cents (Costs.lines); the segment costs
    the sum of its members' parts, so segments add up exactly to the campaign. Spend with no
    shares to carry it is Costs.unallocated. The segment's Costs.time and Costs.rewards are then
    its members' cents.

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
    whole = Costs(by_campaign=by_campaign, time=time, rewards=earned)
    if segment is None:
        return whole
    if shares is None:
        raise TypeError("costs() of a segment takes shares with rates")
    return _segment_of(whole, set(segment), shares)


def _segment_of(whole: Costs, members: set[int], shares: Mapping[tuple[int, int], int]) -> Costs:
    """The part of `whole` (every ambassador) that the `members` carry: each campaign's spend
    allocated by shares, its rewards and time in cents by largest remainder (Costs.lines)."""
    weights: dict[int, dict[int, int]] = {campaign_id: {} for campaign_id in whole.by_campaign}
    for (campaign_id, ambassador_id), count in shares.items():
        if campaign_id in weights and count:
            weights[campaign_id][ambassador_id] = count
    by_campaign, time, rewards, unallocated = {}, {}, {}, {}
    for campaign_id, cost in whole.by_campaign.items():
        amount = money(cost.spend)
        parts = allocate(amount, weights[campaign_id]) if amount else {}
        if amount and not parts:
            unallocated[campaign_id] = amount
        spent = sum((part for pk, part in parts.items() if pk in members), ZERO)
        earned, took = ZERO, ZERO
        for pk, line in whole.lines(campaign_id).items():
            if pk in members:
                time[campaign_id, pk], rewards[campaign_id, pk] = line.time, line.rewards
                earned, took = earned + line.rewards, took + line.time
        by_campaign[campaign_id] = Cost(spent, earned, took)
    return Costs(by_campaign=by_campaign, time=time, rewards=rewards, unallocated=unallocated)


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
    Spend, rewards and `time` may be unrounded; each is rounded once to the cent here and the
    cost is the sum of the three rounded figures (so the shown parts add up to it)."""
    time_rounded = money(time)
    cost = money(spend) + money(rewards) + time_rounded
    revenue = money(revenue)
    per = lambda total, count: money(total / count) if count else None  # noqa: E731
    return RoiFigures(
        revenue=revenue, spend=money(spend), rewards=money(rewards), time_cost=time_rounded, cost=cost,
        profit=revenue - cost, roi=ratio(revenue - cost, cost), leads=leads, customers=customers, shares=shares,
        cost_per_lead=per(cost, leads), cost_per_customer=per(cost, customers),
        revenue_per_share=per(revenue, Decimal(shares)),
    )
