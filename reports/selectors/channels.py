"""The channel split (issue 15): per channel (LinkedIn, X, Facebook, e-mail, WhatsApp, direct)
the creditable clicks, unique visitors, leads, customers and revenue of an organisation's period,
optionally of some campaigns, under the report's model and the active credits version.

* Clicks and unique visitors come from the click rollups: DailyChannelClicks (per day, campaign
  and channel), or DailyClickRollup when the report is limited to a group or kind of ambassador.
* Leads, customers and revenue come from the credits, which keep the channel of the touch they
  stand on (Credit.channel): DailyChannelCredits (per version, model, day, campaign and channel),
  or the Credit rows themselves (by converted_at, the same local days) with a group or kind
  filter. A multi-touch lead is divided between the channels of its touches as it is divided
  between ambassadors, so the channels of a campaign add up to the campaign's totals exactly
  (to 1/10,000 of a lead and to the cent). Credits written before credits kept their channel
  and whose click could not be found again are in the "unknown" row, shown only when it has any.

What is NOT split by channel: spend (media, production, tools) is recorded per campaign, and
rewards are earned per ambassador and campaign; neither says which network it paid for, so
there is no honest ROI per channel (any split would be a made-up key). ROI stays per campaign
(reports.selectors.roi); this split shows what each channel brought in, and the pages say why.

A bounded number of queries whatever the size: two GROUP BY channel over the rollups' rows of
the period (at enterprise scale a few thousand rows a month, where the credits are millions).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum

from tracking.models import Credit, CreditChannel, CreditKind, DailyChannelClicks, DailyChannelCredits
from tracking.selectors import active_version

from ..figures import ClickTotals, CreditTotals
from ..filters import ReportFilter
from ..roi import money, ratio
from .base import _scoped, click_sums

CHANNELS: tuple[str, ...] = tuple(CreditChannel.values)  # the known ones, then "unknown"
LABELS = dict(CreditChannel.choices)
UNKNOWN = CreditChannel.UNKNOWN.value

WHY_NO_CHANNEL_ROI = ("ROI is worked out per campaign: spend is recorded per campaign and rewards per ambassador, "
                      "not per network, so no cost can be put on a channel without inventing a split. Per channel "
                      "you see what each network brought in.")
MULTI_TOUCH_NOTE = ("A lead whose visitor came through several channels is divided between them like it is divided "
                    "between ambassadors, so the channels add up to the campaign totals.")


class ChannelError(ValueError):
    """A bad `channel` parameter; the message says which values are accepted (for a 400)."""

    field = "channel"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def channel_param(value: str | None) -> str | None:
    """The `channel` query parameter: one of CreditChannel's values, or None for every channel.
    ChannelError (a 400 with its message) for anything else."""
    if value is None or value == "":
        return None
    if value not in CHANNELS:
        raise ChannelError(f"Unknown channel “{value[:40]}”; use one of {', '.join(CHANNELS)}.")
    return value


@dataclass(frozen=True)
class ChannelRow:
    channel: str  # "" for the total
    label: str
    clicks: int
    unique_clicks: int
    leads: Decimal
    customers: Decimal
    revenue: Decimal
    share_of_revenue: Decimal | None  # this channel's revenue ÷ all channels' (None when there is none)
    revenue_per_click: Decimal | None  # money per creditable click
    leads_per_click: Decimal | None  # credited leads ÷ creditable clicks (a ratio; pages show it as %)

    @property
    def unique(self) -> int:
        return self.unique_clicks

    @property
    def is_total(self) -> bool:
        return self.channel == ""


@dataclass(frozen=True)
class ChannelSplit:
    rows: list[ChannelRow]  # one per channel (unknown only when it has anything), in CHANNELS order
    total: ChannelRow  # the rows summed: equal to the campaigns' totals of the same filter
    channel: str | None  # the channel asked for (rows then hold that one only), or None

    @property
    def has_unknown(self) -> bool:
        return any(row.channel == UNKNOWN for row in self.rows)


def _row(channel: str, label: str, clicks: ClickTotals, credits: CreditTotals, all_revenue: Decimal) -> ChannelRow:
    return ChannelRow(channel=channel, label=label, clicks=clicks.clicks, unique_clicks=clicks.unique_clicks,
                      leads=credits.leads, customers=credits.customers, revenue=credits.revenue,
                      share_of_revenue=ratio(credits.revenue, all_revenue),
                      revenue_per_click=money(credits.revenue / clicks.clicks) if clicks.clicks else None,
                      leads_per_click=ratio(credits.leads, clicks.clicks))


def channel_clicks(f: ReportFilter) -> dict[str, ClickTotals]:
    """Creditable and unique clicks per channel in f's period."""
    if f.filters_ambassadors:
        return {key[0]: totals for key, totals in click_sums(f, ("channel",)).items()}
    queryset = _scoped(DailyChannelClicks.objects.filter(organization_id=f.organization_id, day__gte=f.period.start,
                                                         day__lte=f.period.end), f)
    rows = (queryset.values("channel").order_by()
            .annotate(clicks=Sum("clicks"), unique_clicks=Sum("unique_clicks"), total=Sum("total")))
    return {row["channel"]: ClickTotals(clicks=row["clicks"] or 0, unique_clicks=row["unique_clicks"] or 0,
                                        total=row["total"] or 0) for row in rows}


def channel_credits(f: ReportFilter, *, active: tuple[int, str] | None = None,
                    ambassador_id: int | None = None) -> dict[str, CreditTotals]:
    """Leads, customers and revenue credited per channel in f's period (report model, active
    version); `ambassador_id`: one ambassador's (the drill-down), read from their Credit rows
    through the index credit_org_ambassador_time."""
    version, reporting_model = active or active_version(f.organization_id)
    model = f.model or reporting_model
    if not f.filters_ambassadors and ambassador_id is None:
        queryset = _scoped(DailyChannelCredits.objects.filter(
            organization_id=f.organization_id, version=version, model=model, day__gte=f.period.start,
            day__lte=f.period.end), f)
        rows = (queryset.values("channel").order_by()
                .annotate(leads=Sum("leads"), customers=Sum("customers"), revenue_cents=Sum("revenue_cents")))
        return {row["channel"]: CreditTotals(Decimal(row["leads"] or 0).scaleb(-4),
                                             Decimal(row["customers"] or 0).scaleb(-4),
                                             Decimal(row["revenue_cents"] or 0).scaleb(-2)) for row in rows}
    # A group or kind of ambassador: the credits themselves (the channel rollup has no ambassador).
    queryset = _scoped(Credit.objects.filter(organization_id=f.organization_id, version=version, model=model,
                                             converted_at__gte=f.period.start_at, converted_at__lt=f.period.end_at), f)
    if ambassador_id is not None:
        queryset = queryset.filter(ambassador_id=ambassador_id)
    rows = (queryset.values("channel").order_by()
            .annotate(leads=Sum("lead_share", filter=Q(kind=CreditKind.LEAD)),
                      customers=Sum("lead_share", filter=Q(kind=CreditKind.CUSTOMER)),
                      revenue=Sum("amount", filter=Q(kind=CreditKind.SALE))))
    return {row["channel"]: CreditTotals(Decimal(row["leads"] or 0).quantize(Decimal("0.0001")),
                                         Decimal(row["customers"] or 0).quantize(Decimal("0.0001")),
                                         Decimal(row["revenue"] or 0).quantize(Decimal("0.01"))) for row in rows}


def channel_split(f: ReportFilter, *, channel: str | None = None,
                  active: tuple[int, str] | None = None) -> ChannelSplit:
    """Per channel: clicks, unique visitors, leads, customers, revenue and the ratios between
    them, for f (period, model, campaigns, group, kind); `channel` keeps one channel only
    (validate it with channel_param). The total row sums the rows shown."""
    clicks = channel_clicks(f)
    credits = channel_credits(f, active=active)
    if channel is not None:
        keys = [channel]
    else:
        known = [c for c in CHANNELS if c != UNKNOWN]
        # "unknown" (and anything outside the vocabulary: none today) only when it has something.
        keys = [*known, *sorted((set(clicks) | set(credits)) - set(known))]
    sums = {key: (clicks.get(key, ClickTotals.zero()), credits.get(key, CreditTotals.zero())) for key in keys}
    all_revenue = sum((credit.revenue for credit in credits.values()), Decimal("0.00"))  # every channel's
    rows = [_row(key, LABELS.get(key, key), *sums[key], all_revenue) for key in keys]
    total_clicks = sum((click for click, _ in sums.values()), ClickTotals.zero())
    total_credits = sum((credit for _, credit in sums.values()), CreditTotals.zero())
    return ChannelSplit(rows=rows, total=_row("", "Total", total_clicks, total_credits, all_revenue),
                        channel=channel)
