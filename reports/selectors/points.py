"""Points: per-organisation rules applied to events, never typed in by hand.

points = shares × per_share + unique clicks × per_unique_click + leads × per_lead
         + revenue × per_revenue_unit, rounded half-up to 2 places at the end.

Unique clicks come from DailyClickRollup.unique_clicks, which only ever counts creditable
clicks (tracking/services/click_processing.py decides uniqueness among clicks that are
neither bot nor self), so bot and self clicks earn nothing. Leads and revenue are those
credited under the organisation's reporting model (whatever model a report shows), so an
ambassador's points don't move when a manager looks at another model."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

from tracking.selectors import active_version

from ..figures import ClickTotals, CreditTotals
from ..filters import ReportFilter
from ..models import PointsRules
from .base import CENT, click_sums, credit_sums, share_counts


def points_rules(organization_id: int) -> PointsRules:
    """The organisation's rules (the defaults, stored, if it has none yet)."""
    rules, _ = PointsRules.objects.get_or_create(organization_id=organization_id)
    return rules


def points_for(rules, shares, unique_clicks, leads, revenue) -> Decimal:
    """Points for these figures under `rules` (anything with the four per_* attributes)."""
    raw = (Decimal(shares) * rules.per_share + Decimal(unique_clicks) * rules.per_unique_click
           + Decimal(leads) * rules.per_lead + Decimal(revenue) * rules.per_revenue_unit)
    return raw.quantize(CENT, rounding=ROUND_HALF_UP)


def points_model(f: ReportFilter) -> str:
    """The model points are computed under: always the organisation's reporting model."""
    return active_version(f.organization_id)[1]


def ambassador_points(f: ReportFilter, rules: PointsRules | None = None) -> dict[int, Decimal]:
    """{ambassador id: points} in the filter's period, for every ambassador who earned any
    (the portal's "my points" and the leaderboard read the same arithmetic)."""
    rules = rules or points_rules(f.organization_id)
    shares = share_counts(f)
    clicks = click_sums(f)
    credits = credit_sums(replace(f, model=None))
    points = {}
    for key in set(shares) | set(clicks) | set(credits):
        credit = credits.get(key, CreditTotals.zero())
        points[key[0]] = points_for(rules, shares.get(key, 0), clicks.get(key, ClickTotals.zero()).unique_clicks,
                                    credit.leads, credit.revenue)
    return points
