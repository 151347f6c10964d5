"""The programme at a glance: key figures of a period (and the change against the period just
before), the top ambassadors, the per-ambassador table of the e-mail digest's CSV, and the
daily series of the dashboard's chart (and of the funnel's). Everything is summed from the
building blocks in base.py (rollups, credits, shares) and the cost is the ROI pages' (one cost
function, reports.roi.costs, read by roi.costs_of: spend, rewards and time alike), so the
dashboard, the digest e-mail, its CSV and the ROI pages always agree: the programme's cost is
the sum of its campaigns' rounded costs (the ROI list's total row), and under a kind or group
filter the segment carries its share of each campaign's spend (reports.roi, issue 17)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal

from ambassadors.models import Status
from campaigns.models import Campaign
from tracking.selectors import active_version

from ..figures import (
    NONE,
    Activity,
    ClickTotals,
    CreditTotals,
    format_credited,
    format_money,
    format_number,
    format_percent,
    locale_of,
)
from ..filters import ReportFilter
from ..roi import ZERO, roi_of
from .base import (
    AmbassadorInfo,
    ambassadors,
    campaigns,
    click_sums,
    credit_sums,
    merge,
    share_counts,
)
from .roi import costs_of

PERCENT = Decimal("0.1")


@dataclass(frozen=True, kw_only=True)
class Figures(Activity):
    """The programme's activity in a period and what it cost and returned (the dashboard's cards)."""

    spend: Decimal
    rewards: Decimal
    time_cost: Decimal
    cost: Decimal
    profit: Decimal
    roi: Decimal | None
    cost_per_lead: Decimal | None


@dataclass(frozen=True)
class KeyFigures:
    current: Figures
    previous: Figures
    # field → change in % against the previous period (None: nothing to compare with); ROI's in points
    change: dict[str, Decimal | None]
    # under a kind or group filter: the period's spend of campaigns with no shares in it, which no
    # segment carries (not in current.cost; shown on its own line, as on the ROI pages)
    unallocated_spend: Decimal = ZERO

    def cards(self, organization=None) -> list[dict]:
        """The figures shown as cards: name, label, value now and before, change in % (ROI's in
        points), each also formatted for display (money in the organisation's currency and locale)."""
        cards = []
        for name, label, kind in CARDS:
            value, previous, change = getattr(self.current, name), getattr(self.previous, name), self.change.get(name)
            cards.append({"name": name, "label": label, "value": value, "previous": previous, "change": change,
                          "kind": kind, "display": display(value, kind, organization),
                          "previous_display": display(previous, kind, organization),
                          "change_display": change_display(change, "pp" if kind == "ratio" else "%"),
                          "trend": "up" if change and change > 0 else "down" if change and change < 0 else "flat"})
        return cards


def display(value, kind: str, organization=None) -> str:
    """1,234 · 12.5 (leads under split models, one decimal) · €1,234.50 (money, in the
    organisation's currency and locale; plain 1,234.50 without one) · 12.5 % (ROI) · — (none).
    The formatting is reports.figures' (one unit per figure everywhere)."""
    locale = locale_of(organization)
    if value is None:
        return NONE
    if kind == "money":
        return format_money(value, getattr(organization, "currency", ""), locale=locale)
    if kind == "ratio":
        return format_percent(value, locale=locale)
    if kind == "share":
        return format_credited(value, locale=locale)
    return format_number(value, locale=locale)


def change_display(change: Decimal | None, unit: str) -> str:
    if change is None:
        return "—"
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return f"{sign}{abs(change):,.1f} {unit}"


CARDS = [  # name, label, kind (how it is formatted)
    ("shares", "Shares", "count"),
    ("clicks", "Clicks", "count"),
    ("unique_clicks", "Unique visitors", "count"),
    ("leads", "Leads", "share"),
    ("customers", "Customers", "share"),
    ("revenue", "Revenue", "money"),
    ("cost", "Cost", "money"),
    ("roi", "ROI", "ratio"),
]


def figures(f: ReportFilter, *, people: dict[int, AmbassadorInfo] | None = None,
            the_campaigns: dict[int, Campaign] | None = None, active: tuple[int, str] | None = None) -> Figures:
    """The programme's totals in f's period. people (ambassadors(f)), the_campaigns
    (campaigns(f)) and active (the credits version and reporting model) don't depend on the
    period: key_figures reads them once for both periods."""
    return _figures(f, people=people, the_campaigns=the_campaigns, active=active)[0]


def _figures(f: ReportFilter, *, people: dict[int, AmbassadorInfo] | None = None,
             the_campaigns: dict[int, Campaign] | None = None,
             active: tuple[int, str] | None = None) -> tuple[Figures, Decimal]:
    """figures() and the spend no segment carries (Costs.unallocated_total; 0 without a filter)."""
    clicks = sum(click_sums(f, ()).values(), ClickTotals.zero())  # one row of totals
    credits = sum(credit_sums(f, (), active=active).values(), CreditTotals.zero())
    shares_by = share_counts(f, ("campaign_id", "ambassador_id"))
    costs = costs_of(f, shares=shares_by, people=people, the_campaigns=the_campaigns)
    shares = sum(shares_by.values())
    roi = roi_of(costs.total, credits, shares)
    return Figures.of(shares, clicks, credits, spend=roi.spend, rewards=roi.rewards, time_cost=roi.time_cost,
                      cost=roi.cost, profit=roi.profit, roi=roi.roi,
                      cost_per_lead=roi.cost_per_lead), costs.unallocated_total


def key_figures(f: ReportFilter) -> KeyFigures:
    """The figures of the filter's period and of the period just before, and the change in %."""
    shared = {"people": ambassadors(f), "the_campaigns": campaigns(f), "active": active_version(f.organization_id)}
    (current, unallocated), previous = _figures(f, **shared), figures(f.with_period(f.period.previous()), **shared)
    change = {}
    for field in fields(Figures):
        now, before = getattr(current, field.name), getattr(previous, field.name)
        change[field.name] = percent_change(now, before)
    # ROI is itself a ratio: its change is in percentage points, not a percentage of a percentage.
    change["roi"] = (None if current.roi is None or previous.roi is None
                     else ((current.roi - previous.roi) * 100).quantize(PERCENT))
    return KeyFigures(current, previous, change, unallocated)


def percent_change(now, before) -> Decimal | None:
    """(now − before) / before in %, one decimal; None when there is nothing to compare with."""
    if now is None or before is None or not before:
        return None
    return ((Decimal(now) - Decimal(before)) * 100 / abs(Decimal(before))).quantize(PERCENT)


@dataclass(frozen=True, kw_only=True)
class AmbassadorRow(Activity):
    """One ambassador's activity in a period (the digest's table and top ambassadors)."""

    ambassador_id: int
    name: str
    kind: str

    @property
    def leads_display(self) -> str:
        return display(self.leads, "share")

    @property
    def customers_display(self) -> str:
        return display(self.customers, "share")

    @property
    def revenue_display(self) -> str:
        return display(self.revenue, "money")


TABLE_HEADER = ("ambassador", "kind", "shares", "clicks", "unique_clicks", "leads", "customers", "revenue")


def ambassador_rows(f: ReportFilter, *, only_active_or_busy: bool = True) -> list[AmbassadorRow]:
    """One row per ambassador with something in the period (and every active ambassador, with
    zeros), best first: revenue, then leads, then clicks, then name."""
    people = ambassadors(f)
    clicks = click_sums(f, ("ambassador_id",))
    credits = credit_sums(f, ("ambassador_id",))
    shares = share_counts(f, ("ambassador_id",))
    keys = merge(clicks, credits, shares)
    if only_active_or_busy:
        keys |= {(ambassador_id,) for ambassador_id, info in people.items() if info.status == Status.ACTIVE}
    else:
        keys |= {(ambassador_id,) for ambassador_id in people}
    rows = []
    for key in keys:
        ambassador_id = key[0]
        info = people.get(ambassador_id) or _unknown(ambassador_id)
        rows.append(AmbassadorRow.of(shares.get(key, 0), clicks.get(key, ClickTotals.zero()),
                                     credits.get(key, CreditTotals.zero()), ambassador_id=ambassador_id,
                                     name=info.name, kind=info.kind))
    rows.sort(key=lambda row: (-row.revenue, -row.leads, -row.clicks, row.name.lower(), row.ambassador_id))
    return rows


def _unknown(ambassador_id: int) -> AmbassadorInfo:
    return AmbassadorInfo(ambassador_id, "", f"Deleted ambassador #{ambassador_id}", "", "", Status.REMOVED, ZERO)


def top_ambassadors(f: ReportFilter, n: int = 5) -> list[AmbassadorRow]:
    """The `n` ambassadors with the most revenue credited, then the most leads (ties: clicks,
    name); only ambassadors with clicks, leads or revenue in the period."""
    return [row for row in ambassador_rows(f) if row.revenue or row.leads or row.clicks][:n]


def ambassador_table_rows(f: ReportFilter) -> list[tuple]:
    """The digest CSV's rows (TABLE_HEADER): name, kind, shares, clicks, unique clicks, leads,
    customers, revenue; numbers as plain decimals."""
    return [(row.name, row.kind, row.shares, row.clicks, row.unique_clicks, row.leads, row.customers, row.revenue)
            for row in ambassador_rows(f)]


@dataclass(frozen=True, kw_only=True)
class Day(Activity):
    """One local day's activity."""

    day: date


def daily_series(f: ReportFilter, *, active: tuple[int, str] | None = None) -> list[Day]:
    """Shares, clicks, unique clicks, leads, customers and revenue of each local day of the
    period (zeros included), from the rollups and share events."""
    shares = share_counts(f, ("day",))
    clicks = click_sums(f, ("day",))
    credits = credit_sums(f, ("day",), active=active)
    return [Day.of(shares.get((day,), 0), clicks.get((day,), ClickTotals.zero()),
                   credits.get((day,), CreditTotals.zero()), day=day) for day in f.period.each_day()]
