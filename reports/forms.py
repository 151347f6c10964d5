"""The reports' forms and the one way their query parameters are read.

    ?period=7d|30d|90d|month|quarter|custom  (&start=YYYY-MM-DD&end=YYYY-MM-DD for custom)
    &model=first_touch|last_touch|linear|time_decay|position_based   (default: the org's)
    &campaign=<campaign public id>  (repeatable)   &group=<group id>   &kind=internal|external
    (&metric=… on the leaderboard, &by=ambassador|campaign on the model comparison)

report_filter() turns them into a ReportFilter, or raises ParamError naming the parameter and
saying what was wrong (a 400 with the message): the pages through ReportFilterForm, their CSV
exports and the API all call it. ReportFilterForm is every report page's filter form: the
leaderboard renders its fields, the dashboard and the ROI, funnel and comparison pages their own
markup from its choices."""

from __future__ import annotations

import uuid

from django import forms

from ambassadors.models import AmbassadorGroup, Kind
from campaigns.models import Campaign
from tracking.models import AttributionModel

from .filters import ReportFilter
from .models import PointsRules
from .periods import DEFAULT, PRESETS, PeriodError, parse_date, period_for
from .selectors.comparison import BY
from .selectors.leaderboard import DEFAULT_METRIC, METRICS


class ParamError(ValueError):
    """A bad parameter; `field` names it and the message says what was wrong (for a 400)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


API_PARAMETERS = ("period", "start", "end", "model", "campaign", "group", "kind")


def report_filter(organization, params, *, strict: bool = False) -> ReportFilter:
    """The ReportFilter the query parameters ask for (`params`: a QueryDict or a dict of lists/values).
    `strict` (the API): a parameter given empty or twice is a ParamError, where a page's form sends
    its unset fields empty to mean "the default"; and a start or end is checked even when the
    period is a preset, which ignores them."""
    get = params.get
    if strict:
        for name in API_PARAMETERS:
            if name in params and any(not value.strip() for value in _getlist(params, name)):
                raise ParamError(name, "May not be empty: leave the parameter out for the default.")
            if name != "campaign" and len(_getlist(params, name)) > 1:
                raise ParamError(name, "Give this parameter once (campaign is the one that repeats).")
        for name in ("start", "end"):
            if get(name) and (get("period") or DEFAULT) != "custom":
                try:
                    parse_date(get(name))
                except ValueError:
                    raise ParamError(name, f"The {name} date “{get(name)[:40]}” is not a date like 2026-03-31.") \
                        from None
    try:
        period = period_for(get("period") or None, organization.tzinfo, start=get("start") or None,
                            end=get("end") or None)
    except PeriodError as error:
        raise ParamError(error.field, str(error)) from None

    model = get("model") or None
    if model is not None and model not in AttributionModel.values:
        raise ParamError("model", f"Unknown model “{model}”; use one of {', '.join(AttributionModel.values)}.")

    campaign_ids = None
    public_ids = [value for value in _getlist(params, "campaign") if value]
    if public_ids:
        try:
            parsed = [uuid.UUID(value) for value in public_ids]
        except ValueError:
            raise ParamError("campaign", "A campaign is given by its id (a UUID).") from None
        found = dict(Campaign.objects.filter(organization_id=organization.pk, public_id__in=parsed)
                     .values_list("public_id", "id"))
        missing = [str(value) for value in parsed if value not in found]
        if missing:
            raise ParamError("campaign", f"No campaign with id {missing[0]} here.")
        campaign_ids = tuple(sorted(found.values()))

    group_id = None
    if get("group"):
        if not (get("group").isascii() and get("group").isdigit() and 0 < int(get("group")) < 2**63):  # a bigint
            raise ParamError("group", "A group is given by its number.")
        group_id = int(get("group"))
        if not AmbassadorGroup.objects.filter(organization_id=organization.pk, pk=group_id).exists():
            raise ParamError("group", f"No group {group_id} here.")

    kind = get("kind") or None
    if kind is not None and kind not in Kind.values:
        raise ParamError("kind", f"Kind must be one of {', '.join(Kind.values)}.")

    return ReportFilter(organization.pk, period, model=model, campaign_ids=campaign_ids, group_id=group_id,
                        kind=kind)


def metric_param(params, *, strict: bool = False) -> str:
    """The leaderboard's `metric` (default points); ParamError if unknown (or, `strict`, empty)."""
    metric = params.get("metric", DEFAULT_METRIC) if strict else params.get("metric") or DEFAULT_METRIC
    if strict and len(_getlist(params, "metric")) > 1:
        raise ParamError("metric", "Give this parameter once.")
    if metric not in METRICS:
        raise ParamError("metric", f"Unknown metric “{metric}”; use one of {', '.join(METRICS)}.")
    return metric


def by_param(params, *, strict: bool = False) -> str:
    """The model comparison's `by` (default ambassador); ParamError if unknown (or, `strict`, empty)."""
    by = params.get("by", "ambassador") if strict else params.get("by") or "ambassador"
    if strict and len(_getlist(params, "by")) > 1:
        raise ParamError("by", "Give this parameter once.")
    if by not in BY:
        raise ParamError("by", f"Compare by one of {', '.join(BY)}.")
    return by


def _getlist(params, name: str) -> list[str]:
    if hasattr(params, "getlist"):
        return params.getlist(name)
    value = params.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


class ReportFilterForm(forms.Form):
    """A report's period and filters: the controls (choices of this organisation) and, through
    report_filter(), the reading of what was asked. An absent period shows as the default one,
    which is what the report uses, not as the first choice."""

    period = forms.ChoiceField(choices=list(PRESETS.items()), required=False)
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    model = forms.ChoiceField(required=False, label="Attribution model")
    campaign = forms.MultipleChoiceField(required=False, label="Campaigns",
                                         widget=forms.SelectMultiple(attrs={"size": 3}))
    group = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(choices=[("", "Internal and external"), *((v, Kind(v).label.split(" (")[0])
                                                                          for v in Kind.values)], required=False)

    def __init__(self, organization, data, *, reporting_model: str | None = None, **kwargs):
        if not data.get("period"):
            data = data.copy()
            data["period"] = DEFAULT
        super().__init__(data, **kwargs)
        self.organization = organization
        default = (f"Organisation's ({AttributionModel(reporting_model).label.lower()})" if reporting_model
                   else "Organisation's model")
        self.fields["model"].choices = [("", default), *AttributionModel.choices]
        self.fields["campaign"].choices = [
            (str(public_id), name) for public_id, name in
            Campaign.objects.filter(organization_id=organization.pk).order_by("name", "pk")
            .values_list("public_id", "name")]
        self.fields["group"].choices = [("", "All groups"), *(
            (str(pk), name) for pk, name in
            AmbassadorGroup.objects.filter(organization_id=organization.pk).order_by("name").values_list("id", "name"))]

    def report_filter(self) -> ReportFilter:
        """What the form asks for; ParamError (field, message) when something is wrong."""
        return report_filter(self.organization, self.data)

    def choices(self, name: str) -> list[tuple[str, str]]:
        """A field's choices without the empty "all" one (for pages that write their own markup)."""
        return [(value, label) for value, label in self.fields[name].choices if value != ""]


class LeaderboardFilterForm(ReportFilterForm):
    """The report filter form and what the leaderboard ranks by."""

    metric = forms.ChoiceField(choices=list(METRICS.items()), required=False, label="Rank by")
    field_order = ["period", "start", "end", "metric", "model", "campaign", "group", "kind"]


class PointsRulesForm(forms.ModelForm):
    class Meta:
        model = PointsRules
        fields = ["per_share", "per_unique_click", "per_lead", "per_revenue_unit"]
        labels = {"per_share": "Points per share", "per_unique_click": "Points per unique click",
                  "per_lead": "Points per lead", "per_revenue_unit": "Points per 1.00 of revenue"}
        help_texts = {
            "per_unique_click": "Bot clicks, link previews and clicks on one's own link are never unique: they "
                                "earn nothing.",
            "per_lead": "Under split models a lead is shared (0.5 lead to each of two ambassadors, say).",
            "per_revenue_unit": "Revenue credited under the reporting model, in the organisation's currency.",
        }
