"""Campaign ROI (DESIGN.md "ROI"): per campaign and for the whole programme, and one campaign in
detail with the split between internal and external ambassadors.

cost = spend (the campaign's cost ledger, by the cost's date) + rewards earned (none exist yet:
always 0, but kept in the formula) + the ambassadors' time (Σ per ambassador: shares × the
campaign's minutes per share / 60 × that ambassador's hourly rate, summed exactly, rounded once).

The internal/external split: revenue, leads, customers, shares, rewards and time are the
ambassadors' own, so they split exactly. Spend is a campaign-level cost (media, production,
tools) that no ambassador caused, so it is shown once, unsplit, rather than apportioned by some
made-up key; the two kinds' own costs plus that spend add up to the campaign's cost.

Every selector runs a fixed number of queries, however many campaigns and ambassadors there are.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from ambassadors.models import Kind
from campaigns.models import Campaign

from ..filters import ReportFilter
from ..roi import ZERO, RoiFigures, money, roi_figures, time_cost
from .base import ambassadors, campaigns, credit_sums, share_counts, spend_sums, zero_credits


@dataclass(frozen=True)
class RoiRow:
    campaign: Campaign | None  # None: the programme total
    figures: RoiFigures

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
    time_cost: Decimal  # rounded to the cent for display; the campaign's total is rounded once
    leads: Decimal
    revenue: Decimal


@dataclass(frozen=True)
class CampaignRoi:
    campaign: Campaign
    figures: RoiFigures
    split: list[KindSplit]
    unsplit_spend: Decimal
    ambassadors: list[AmbassadorTime]


def _rewards(f: ReportFilter) -> dict[tuple, Decimal]:
    """Rewards earned, by (campaign_id, ambassador_id). None exist yet; the term stays in the
    formula and on the page so that adding them changes one function."""
    return {}


def _time_by_campaign(f: ReportFilter, shares: dict[tuple, int], minutes: dict[int, Decimal],
                      rates: dict[int, Decimal]) -> dict[int, Decimal]:
    exact: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for (campaign_id, ambassador_id), count in shares.items():
        if campaign_id in minutes and ambassador_id in rates:
            exact[campaign_id] += time_cost(count, minutes[campaign_id], rates[ambassador_id])
    return exact


def roi_list(f: ReportFilter) -> list[RoiRow]:
    """One row per campaign of the filter (highest revenue first, then name), then the
    programme's total row (its time summed exactly over every campaign, rounded once)."""
    the_campaigns = campaigns(f)
    people = ambassadors(f)
    shares = share_counts(f, ("campaign_id", "ambassador_id"))
    credits = credit_sums(f, ("campaign_id",))
    spend = spend_sums(f, ("campaign_id",))
    rewards = _rewards(f)
    minutes = {pk: campaign.minutes_per_share for pk, campaign in the_campaigns.items()}
    rates = {pk: person.hourly_rate for pk, person in people.items()}
    time = _time_by_campaign(f, shares, minutes, rates)
    shares_per_campaign: dict[int, int] = defaultdict(int)
    for (campaign_id, _), count in shares.items():
        shares_per_campaign[campaign_id] += count
    rewards_per_campaign: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for (campaign_id, _), amount in rewards.items():
        rewards_per_campaign[campaign_id] += amount

    rows = []
    totals = {"revenue": ZERO, "spend": ZERO, "time": ZERO, "rewards": ZERO, "leads": ZERO, "customers": ZERO,
              "shares": 0}
    for pk, campaign in the_campaigns.items():
        credit = credits.get((pk,), zero_credits())
        values = {"revenue": credit["revenue"], "spend": spend.get((pk,), ZERO), "time": time.get(pk, ZERO),
                  "rewards": rewards_per_campaign.get(pk, ZERO), "leads": credit["leads"],
                  "customers": credit["customers"], "shares": shares_per_campaign.get(pk, 0)}
        for name, value in values.items():
            totals[name] += value
        rows.append(RoiRow(campaign, roi_figures(**values)))
    rows.sort(key=lambda row: (-row.figures.revenue, row.campaign.name.lower(), row.campaign.pk))
    rows.append(RoiRow(None, roi_figures(**totals)))
    return rows


def campaign_roi(f: ReportFilter, campaign_id: int) -> CampaignRoi:
    """The ROI of one campaign, its split by kind of ambassador and each ambassador's time."""
    f = replace(f, campaign_ids=(campaign_id,))
    campaign = campaigns(f)[campaign_id]
    people = ambassadors(f)
    shares = share_counts(f, ("ambassador_id",))
    credits = credit_sums(f, ("ambassador_id",))
    spend = spend_sums(f, ()).get((), ZERO)
    rewards = {key[1:]: value for key, value in _rewards(f).items()}

    per_kind = {kind: {"revenue": ZERO, "rewards": ZERO, "time": ZERO, "leads": ZERO, "customers": ZERO,
                       "shares": 0} for kind in Kind.values}
    lines = []
    for ambassador_id in sorted(set(shares) | set(credits) | set(rewards)):
        person = people.get(ambassador_id[0])
        if person is None:
            continue
        count = shares.get(ambassador_id, 0)
        credit = credits.get(ambassador_id, zero_credits())
        exact_time = time_cost(count, campaign.minutes_per_share, person.hourly_rate)
        bucket = per_kind[person.kind]
        bucket["revenue"] += credit["revenue"]
        bucket["rewards"] += rewards.get(ambassador_id, ZERO)
        bucket["time"] += exact_time
        bucket["leads"] += credit["leads"]
        bucket["customers"] += credit["customers"]
        bucket["shares"] += count
        lines.append(AmbassadorTime(person.id, person.public_id, person.name, person.kind, count, person.hourly_rate,
                                    money(exact_time), credit["leads"], credit["revenue"]))
    lines.sort(key=lambda line: (-line.revenue, -line.shares, line.name.lower(), line.ambassador_id))

    labels = dict(Kind.choices)
    split = []
    for kind, bucket in per_kind.items():
        if f.kind is not None and kind != f.kind:
            continue
        time_rounded = money(bucket["time"])
        split.append(KindSplit(
            kind=kind, label=labels.get(kind, kind), revenue=money(bucket["revenue"]),
            rewards=money(bucket["rewards"]), time_cost=time_rounded,
            own_cost=money(bucket["rewards"] + time_rounded), leads=bucket["leads"],
            customers=bucket["customers"], shares=bucket["shares"],
            revenue_per_share=money(bucket["revenue"] / bucket["shares"]) if bucket["shares"] else None))

    figures = roi_figures(
        revenue=sum((b["revenue"] for b in per_kind.values()), ZERO), spend=spend,
        rewards=sum((b["rewards"] for b in per_kind.values()), ZERO),
        time=sum((b["time"] for b in per_kind.values()), ZERO),
        leads=sum((b["leads"] for b in per_kind.values()), ZERO),
        customers=sum((b["customers"] for b in per_kind.values()), ZERO),
        shares=sum(b["shares"] for b in per_kind.values()))
    return CampaignRoi(campaign=campaign, figures=figures, split=split, unsplit_spend=money(spend),
                       ambassadors=lines)
