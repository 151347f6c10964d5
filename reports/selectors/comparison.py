"""Model comparison: leads and revenue per ambassador (or per campaign) under all five
attribution models side by side, so a manager sees who gains and who loses credit between
first touch, last touch and the split models.

Every model credits the same conversions in full (cents add up to each sale's value, lead
shares to 1), so without a campaign, group or kind filter each model's total is the same. With
one, totals can differ: a model may give a conversion's credit to a campaign or ambassador
outside the filter. Two queries, however many rows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tracking.models import AttributionModel
from tracking.selectors import active_version

from ..figures import CreditTotals
from ..filters import ReportFilter
from .base import ambassadors, campaigns, credit_sums

MODELS = list(AttributionModel.values)
BY = {"ambassador": "ambassador_id", "campaign": "campaign_id"}


class ComparisonError(ValueError):
    pass


@dataclass(frozen=True)
class ModelFigures:
    model: str
    label: str
    leads: Decimal
    revenue: Decimal
    revenue_change: Decimal  # versus the reporting model
    leads_change: Decimal


@dataclass(frozen=True)
class ComparisonRow:
    key: int | None  # ambassador or campaign id; None: the totals row
    public_id: str
    name: str
    kind: str  # the ambassador's kind ("" for campaigns and the total)
    models: list[ModelFigures]  # in MODELS order
    revenue_spread: Decimal  # best model's revenue − worst model's
    leads_spread: Decimal
    best_model: str
    worst_model: str

    def model(self, name: str) -> ModelFigures:
        return next(figures for figures in self.models if figures.model == name)


@dataclass(frozen=True)
class Comparison:
    by: str
    reporting_model: str
    rows: list[ComparisonRow]
    total: ComparisonRow
    filtered: bool  # totals may differ between models (see the module doc)


def _row(key, public_id, name, kind, sums: dict[str, CreditTotals], reporting_model: str) -> ComparisonRow:
    labels = dict(AttributionModel.choices)
    base = sums.get(reporting_model, CreditTotals.zero())
    models = []
    for model in MODELS:
        credit = sums.get(model, CreditTotals.zero())
        models.append(ModelFigures(model, labels[model], credit.leads, credit.revenue,
                                   credit.revenue - base.revenue, credit.leads - base.leads))
    by_revenue = sorted(models, key=lambda m: (m.revenue, m.leads))
    return ComparisonRow(key, public_id, name, kind, models,
                         revenue_spread=by_revenue[-1].revenue - by_revenue[0].revenue,
                         leads_spread=max(m.leads for m in models) - min(m.leads for m in models),
                         best_model=by_revenue[-1].model if by_revenue[-1].revenue != by_revenue[0].revenue else "",
                         worst_model=by_revenue[0].model if by_revenue[-1].revenue != by_revenue[0].revenue else "")


def model_comparison(f: ReportFilter, by: str = "ambassador") -> Comparison:
    """Rows with any credit under any model, sorted by the reporting model's revenue (then
    the biggest spread, then name), and the totals row."""
    if by not in BY:
        raise ComparisonError(f"Compare by one of {', '.join(BY)}.")
    reporting_model = f.model or active_version(f.organization_id)[1]
    sums = credit_sums(f, (BY[by], "model"), all_models=True)
    grouped: dict[int, dict[str, CreditTotals]] = {}
    per_model: dict[str, list[CreditTotals]] = {}
    for (key, model), credit in sums.items():
        grouped.setdefault(key, {})[model] = credit
        per_model.setdefault(model, []).append(credit)
    totals = {model: CreditTotals.sum_of(credits) for model, credits in per_model.items()}

    rows = []
    if by == "ambassador":
        people = ambassadors(f)
        for key, per_model in grouped.items():
            person = people.get(key)
            if person is not None:
                rows.append(_row(key, person.public_id, person.name, person.kind, per_model, reporting_model))
    else:
        the_campaigns = campaigns(f)
        for key, per_model in grouped.items():
            campaign = the_campaigns.get(key)
            if campaign is not None:
                rows.append(_row(key, str(campaign.public_id), campaign.name, "", per_model, reporting_model))
    rows.sort(key=lambda row: (-row.model(reporting_model).revenue, -row.revenue_spread, row.name.lower(), row.key))
    total = _row(None, "", "Total", "", totals, reporting_model)
    filtered = f.campaign_ids is not None or f.filters_ambassadors
    return Comparison(by, reporting_model, rows, total, filtered)
