"""The share of leads per tracking mode: how the click id of each lead of the period reached the
organisation's site (tracking.models.LeadTrackingMode: full, consent, cookieless, or unknown when
the lead didn't say). A lead here is a customer whose first lead is in the period, whatever
campaign or ambassador it came through (modes are the site's, not a campaign's), so the campaign,
group and kind filters don't apply. One GROUP BY over the index customer_org_lead_mode."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count

from tracking.models import Customer, LeadTrackingMode

from ..filters import ReportFilter
from ..roi import ratio


@dataclass(frozen=True)
class ModeShare:
    mode: str
    label: str
    leads: int
    share: Decimal | None  # of all the period's leads (0.0000–1.0000); None when there is none


def lead_modes(f: ReportFilter) -> list[ModeShare]:
    """Every mode, in LeadTrackingMode's order, with its leads and share (zero rows included)."""
    rows = (Customer.objects.filter(organization_id=f.organization_id, first_lead_at__gte=f.period.start_at,
                                    first_lead_at__lt=f.period.end_at)
            .values("tracking_mode").order_by().annotate(leads=Count("id")))
    counts = {row["tracking_mode"]: row["leads"] for row in rows}
    total = sum(counts.values())
    return [ModeShare(mode.value, mode.label, counts.get(mode.value, 0), ratio(counts.get(mode.value, 0), total))
            for mode in LeadTrackingMode]
