"""The funnel: shares → clicks → unique visitors → leads → customers → revenue, with the rate
between each step, for the programme and per campaign; the channel breakdown; the daily series.

What each step counts (the pages say the same):

* shares: ShareEvents recorded in the period;
* clicks: creditable clicks (neither bots nor link previews nor the ambassador's own clicks);
* unique visitors: creditable clicks whose visitor had no creditable click on the same link in
  the 24 hours before (tracking's click processing). A person who clicks two ambassadors'
  links, or comes back a day later, counts again;
* leads, customers: credited to ambassadors under the report's model (fractions under the
  split models; a lead no ambassador's link led to is not in the programme's funnel);
* revenue: credited revenue under the report's model.

The channel table: shares and clicks per channel, and since issue 15 the leads, customers and
revenue credited per channel (credits keep the channel of their touch: reports.selectors.channels),
which add up to the programme's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from campaigns.channels import Channel
from campaigns.models import Campaign
from tracking.models import CreditChannel
from tracking.selectors import active_version

from ..figures import Activity, ClickTotals, CreditTotals
from ..filters import ReportFilter
from ..roi import money, ratio
from .base import campaigns, click_sums, credit_sums, share_counts
from .channels import channel_credits
from .summary import Day, daily_series

STEPS = [
    ("shares", "Shares"),
    ("clicks", "Clicks (creditable)"),
    ("unique", "Unique visitors (per link, 24 h)"),
    ("leads", "Leads (credited)"),
    ("customers", "Customers (credited)"),
    ("revenue", "Revenue (credited)"),
]


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    value: int | Decimal
    rate: Decimal | None  # this step ÷ the previous (revenue: per customer, money); None for the first / ÷ 0


@dataclass(frozen=True)
class FunnelFigures(Activity):
    """An Activity read as the funnel's steps (`unique`: its unique clicks)."""

    @property
    def steps(self) -> list[Step]:
        steps, previous = [], None
        for key, label in STEPS:
            value = getattr(self, key)
            if previous is None:
                rate = None
            elif key == "revenue":
                rate = money(value / previous) if previous else None
            else:
                rate = ratio(value, previous)
            steps.append(Step(key, label, value, rate))
            previous = value
        return steps

    @property
    def rates(self) -> dict[str, Decimal | None]:
        return {step.key: step.rate for step in self.steps[1:]}


@dataclass(frozen=True)
class CampaignFunnel:
    campaign: Campaign
    figures: FunnelFigures


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    label: str
    shares: int
    clicks: int
    unique: int
    clicks_per_share: Decimal | None
    share_of_clicks: Decimal | None
    leads: Decimal = Decimal("0.0000")
    customers: Decimal = Decimal("0.0000")
    revenue: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class Funnel:
    programme: FunnelFigures
    by_campaign: list[CampaignFunnel]
    channels: list[ChannelRow]
    daily: list[Day]  # summary.daily_series: the dashboard's days

    @property
    def daily_max(self) -> dict[str, int | Decimal]:
        """The largest daily value of each series (for the chart's scale)."""
        keys = ("shares", "clicks", "unique", "leads", "customers", "revenue")
        return {key: max((getattr(row, key) for row in self.daily), default=0) for key in keys}


def funnel(f: ReportFilter) -> Funnel:
    active = active_version(f.organization_id)  # once: both credit sums of the same version
    the_campaigns = campaigns(f)
    shares = share_counts(f, ("campaign_id",))
    clicks = click_sums(f, ("campaign_id",))
    credits = credit_sums(f, ("campaign_id",), active=active)

    by_campaign = [CampaignFunnel(campaign, FunnelFigures.of(shares.get((pk,), 0),
                                                             clicks.get((pk,), ClickTotals.zero()),
                                                             credits.get((pk,), CreditTotals.zero())))
                   for pk, campaign in the_campaigns.items()]
    by_campaign.sort(key=lambda row: (-row.figures.revenue, -row.figures.clicks, row.campaign.name.lower(),
                                      row.campaign.pk))
    programme = FunnelFigures.of(sum(shares.values()), sum(clicks.values(), ClickTotals.zero()),
                                 sum(credits.values(), CreditTotals.zero()))

    channel_shares = share_counts(f, ("channel",))
    channel_clicks = click_sums(f, ("channel",))
    per_channel = channel_credits(f, active=active)
    labels = dict(CreditChannel.choices)
    known = list(Channel.values)
    extra = sorted({key[0] for key in (*channel_shares, *channel_clicks)} - set(known) | set(per_channel) - set(known))
    channels = []
    for channel in known + extra:
        count = channel_shares.get((channel,), 0)
        sums = channel_clicks.get((channel,), ClickTotals.zero())
        credited = per_channel.get(channel, CreditTotals.zero())
        channels.append(ChannelRow(channel, labels.get(channel, channel), count, sums.clicks,
                                   sums.unique_clicks, ratio(sums.clicks, count),
                                   ratio(sums.clicks, programme.clicks), credited.leads, credited.customers,
                                   credited.revenue))
    return Funnel(programme, by_campaign, channels, daily_series(f, active=active))

