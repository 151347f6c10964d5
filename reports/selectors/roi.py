"""Campaign ROI (DESIGN.md "ROI"): per campaign and for the whole programme, and one campaign in
detail with the split between internal and external ambassadors.

cost = spend (the campaign's cost ledger, by the cost's date) + rewards earned (reward_sums: the
earnings ledger's money and points × the point value, by the day earned) + the ambassadors' time
(Σ per ambassador: shares × the campaign's minutes per share / 60 × that ambassador's hourly
rate, summed exactly).
costs_of() reads what the one cost function (reports.roi.costs) needs; the dashboard and the
digest (summary.py) take their cost from it too.

Rounding (reports.roi, one rule): a campaign's spend, rewards and time are each rounded once to
the cent and its cost is their sum; each ambassador's time and rewards get their cents by largest
remainder (ties: the lower ambassador id), so the time lines, the kinds' own costs plus the spend,
and the campaign rows of the programme total all add up exactly to the shown figures.

The internal/external split: revenue, leads, customers, shares, rewards and time are the
ambassadors' own, so they split exactly. Without a filter, spend is a campaign-level cost shown
once, unsplit; the two kinds' own costs plus that spend add up to the campaign's cost. Under a
kind or group filter, the campaign's spend is allocated to the segment in proportion to its
shares of the campaign in the period (largest remainder to the cent), so the segments' costs add
up to the campaign's; spend of a campaign without shares in the period stays unallocated and is
shown on its own line (unallocated_spend).

Every selector runs a fixed number of queries, however many campaigns and ambassadors there are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import Q, Sum

from ambassadors.models import Kind
from campaigns.models import Campaign
from rewards.models import LIVE_STATUSES, EarningEntry, RewardUnit
from rewards.selectors.money import cents
from rewards.selectors.settings import reward_settings
from tenancy.models import Organization

from ..figures import CreditTotals
from ..filters import ReportFilter
from ..roi import ZERO, Cost, Costs, RoiFigures, costs, roi_of
from .base import (
    AmbassadorInfo,
    _scoped,
    ambassadors,
    campaigns,
    credit_sums,
    rated_share_sums,
    share_counts,
    spend_sums,
)

# Sums over several campaigns or ambassadors start from a plain 0 (shown "0" when nothing is
# added, as the exports always had it); one campaign's or ambassador's missing credits are 0.0000.
NO_CREDITS = CreditTotals(ZERO, ZERO, ZERO)


@dataclass(frozen=True)
class RoiRow:
    campaign: Campaign | None  # None: the programme total
    figures: RoiFigures
    # the total row, under a kind or group filter: spend of campaigns without shares in the period
    # (not in any segment's cost, shown on its own line)
    unallocated_spend: Decimal = ZERO

    @property
    def is_total(self) -> bool:
        return self.campaign is None


@dataclass(frozen=True)
class KindSplit:
    """One kind of ambassador's part of a campaign (spend excluded: see the module doc)."""
    kind: str
    label: str
    revenue: Decimal
    rewards: Decimal
    time_cost: Decimal
    own_cost: Decimal  # rewards + time
    leads: Decimal
    customers: Decimal
    shares: int
    revenue_per_share: Decimal | None


@dataclass(frozen=True)
class AmbassadorTime:
    """One ambassador's line of the time cost: shares × minutes per share × hourly rate."""
    ambassador_id: int
    public_id: str
    name: str
    kind: str
    shares: int
    hourly_rate: Decimal
    time_cost: Decimal  # the cents of the campaign's rounded time, by largest remainder (the lines add up)
    leads: Decimal
    revenue: Decimal


@dataclass(frozen=True)
class CampaignRoi:
    campaign: Campaign
    figures: RoiFigures
    split: list[KindSplit]
    unsplit_spend: Decimal  # the spend in the figures: the campaign's, or the segment's share under a filter
    ambassadors: list[AmbassadorTime]
    unallocated_spend: Decimal = ZERO  # under a filter: spend without shares in the period to carry it


def reward_sums(f: ReportFilter) -> dict[tuple[int, int], Decimal]:
    """Rewards earned, by (campaign_id, ambassador_id), exact: money entries + points entries ×
    the organisation's point value (RewardSettings, the value in force now), by the day each was
    earned (earned_at, in the organisation's time zone, as every period), for the filter's
    campaigns and ambassadors (group, kind). Corrections are entries too, so a refund after
    payout or a recompute nets in the period of its own earned_at.

    * Counted: pending, approved, in a payout, paid, and held — held money is still owed unless
      a fraud case is confirmed (its entries are then canceled and drop out here), so the ROI
      doesn't improve by putting earnings on hold. Canceled and refunded entries never count.
    * Money only in the organisation's currency: a sale in another currency is converted into it
      when stored (tracking.services.rates), so rewards of sales are in it too; entries in another
      currency exist only if the organisation changed its currency, and adding them at face value
      would be wrong, so they are left out, and the reward settings page shows admins what is
      left out (rewards.selectors.money.other_currency_totals).
    * An entry without a campaign would belong to no campaign's ROI (costs() counts rewards
      per campaign); every click, lead and sale entry carries its campaign."""
    currency = Organization.objects.values_list("currency", flat=True).get(pk=f.organization_id)
    point_value = reward_settings(f.organization_id).point_value
    entries = EarningEntry.objects.filter(
        Q(unit=RewardUnit.MONEY, currency=currency) | Q(unit=RewardUnit.POINTS), organization_id=f.organization_id,
        status__in=LIVE_STATUSES, earned_at__gte=f.period.start_at, earned_at__lt=f.period.end_at,
        campaign_id__isnull=False)
    rows = (_scoped(entries, f).values_list("campaign_id", "ambassador_id", "unit").order_by()
            .annotate(total=Sum("amount")))
    rewards: dict[tuple[int, int], Decimal] = {}
    for campaign_id, ambassador_id, unit, total in rows:
        amount = cents(total) * point_value if unit == RewardUnit.POINTS else cents(total)
        if amount:
            rewards[campaign_id, ambassador_id] = rewards.get((campaign_id, ambassador_id), ZERO) + amount
    return rewards


def costs_of(f: ReportFilter, *, shares: dict[tuple[int, int], int] | None = None,
             people: dict[int, AmbassadorInfo] | None = None,
             the_campaigns: dict[int, Campaign] | None = None,
             rated_shares: dict[int, Decimal] | None = None) -> Costs:
    """The cost of f's campaigns in f's period (reports.roi.costs), read here for every page,
    the API, the CSV exports and the digest. What the caller has already read of the same
    filter may be passed: shares (share_counts(f, ("campaign_id", "ambassador_id"))), people
    (ambassadors(f)), the_campaigns (campaigns(f)); or, when no page needs each ambassador's
    part, rated_shares (campaign id → Σ hourly rate over its shares: rated_share_sums), which
    costs the same without reading an ambassador.

    Under a kind or group filter the whole campaigns are costed (every ambassador's shares,
    rates and rewards: a few more queries; shares and rated_shares passed in are not used) and
    the segment (people, or ambassadors(f)) gets its members' part: reports.roi.costs(segment=)."""
    if the_campaigns is None:
        the_campaigns = campaigns(f)
    common = {"minutes": {pk: campaign.minutes_per_share for pk, campaign in the_campaigns.items()},
              "spend": {key[0]: amount for key, amount in spend_sums(f, ("campaign_id",)).items()}}
    if f.filters_ambassadors:
        segment = set(people if people is not None else ambassadors(f))
        whole = replace(f, kind=None, group_id=None)
        everyone = ambassadors(whole)
        return costs(**common, rewards=reward_sums(whole), rates={pk: p.hourly_rate for pk, p in everyone.items()},
                     shares=share_counts(whole, ("campaign_id", "ambassador_id")), segment=segment)
    common["rewards"] = reward_sums(f)
    if rated_shares is not None:
        return costs(**common, rated_shares=rated_shares)
    if shares is None:
        shares = share_counts(f, ("campaign_id", "ambassador_id"))
    if people is None:
        people = ambassadors(f)
    return costs(**common, rates={pk: person.hourly_rate for pk, person in people.items()}, shares=shares)


def roi_list(f: ReportFilter) -> list[RoiRow]:
    """One row per campaign of the filter (highest revenue first, then name), then the
    programme's total row (its time summed exactly over every campaign, rounded once).
    A fixed handful of grouped queries, whatever the number of ambassadors."""
    the_campaigns = campaigns(f)
    rated = {key[0]: value for key, value in rated_share_sums(f, ("campaign_id",)).items()}
    credits = credit_sums(f, ("campaign_id",))
    cost = costs_of(f, the_campaigns=the_campaigns, rated_shares={pk: rate_sum for pk, (_, rate_sum) in rated.items()})

    rows = []
    total_credits, total_shares = NO_CREDITS, 0
    for pk, campaign in the_campaigns.items():
        credit = credits.get((pk,), CreditTotals.zero())
        count = rated.get(pk, (0, ZERO))[0]
        total_credits, total_shares = total_credits + credit, total_shares + count
        rows.append(RoiRow(campaign, roi_of(cost.by_campaign[pk], credit, count)))
    rows.sort(key=lambda row: (-row.figures.revenue, row.campaign.name.lower(), row.campaign.pk))
    rows.append(RoiRow(None, roi_of(cost.total, total_credits, total_shares), cost.unallocated_total))
    return rows



def campaign_roi(f: ReportFilter, campaign_id: int) -> CampaignRoi:
    """The ROI of one campaign, its split by kind of ambassador and each ambassador's time."""
    f = replace(f, campaign_ids=(campaign_id,))
    the_campaigns = campaigns(f)
    campaign = the_campaigns[campaign_id]
    people = ambassadors(f)
    shares = share_counts(f, ("campaign_id", "ambassador_id"))
    credits = credit_sums(f, ("ambassador_id",))
    cost = costs_of(f, shares=shares, people=people, the_campaigns=the_campaigns)
    shares_of = {ambassador_id: count for (_, ambassador_id), count in shares.items()}
    own = cost.lines(campaign_id)  # each ambassador's rewards and time, in cents adding up to the campaign's

    # Per kind, plain sums (hundreds of ambassadors); the value objects are made once per kind below.
    per_kind = {kind: {"revenue": ZERO, "rewards": ZERO, "time": ZERO, "leads": ZERO, "customers": ZERO,
                       "shares": 0} for kind in Kind.values}
    lines = []
    for ambassador_id in sorted(set(shares_of) | {key[0] for key in credits} | set(own)):
        person = people.get(ambassador_id)
        if person is None:
            continue
        count = shares_of.get(ambassador_id, 0)
        credit = credits.get((ambassador_id,), CreditTotals.zero())
        part = own.get(ambassador_id, Cost.zero())
        bucket = per_kind[person.kind]
        bucket["revenue"] += credit.revenue
        bucket["rewards"] += part.rewards
        bucket["time"] += part.time
        bucket["leads"] += credit.leads
        bucket["customers"] += credit.customers
        bucket["shares"] += count
        lines.append(AmbassadorTime(person.id, person.public_id, person.name, person.kind, count, person.hourly_rate,
                                    part.time, credit.leads, credit.revenue))
    lines.sort(key=lambda line: (-line.revenue, -line.shares, line.name.lower(), line.ambassador_id))

    labels = dict(Kind.choices)
    split = []
    for kind, bucket in per_kind.items():
        if f.kind is not None and kind != f.kind:
            continue
        own = Cost(rewards=bucket["rewards"], time=bucket["time"])  # no spend: the kind's own cost
        credited = CreditTotals(bucket["leads"], bucket["customers"], bucket["revenue"])
        part = roi_of(own, credited, bucket["shares"])
        split.append(KindSplit(
            kind=kind, label=labels.get(kind, kind), revenue=part.revenue, rewards=part.rewards,
            time_cost=part.time_cost, own_cost=part.cost, leads=part.leads, customers=part.customers,
            shares=part.shares, revenue_per_share=part.revenue_per_share))

    known = CreditTotals(*(sum((bucket[name] for bucket in per_kind.values()), ZERO)
                           for name in ("leads", "customers", "revenue")))  # of the ambassadors reported on
    figures = roi_of(cost.by_campaign[campaign_id], known, sum(bucket["shares"] for bucket in per_kind.values()))
    return CampaignRoi(campaign=campaign, figures=figures, split=split, unsplit_spend=figures.spend,
                       ambassadors=lines, unallocated_spend=cost.unallocated_total)
