"""Forms of the reports pages. The leaderboard's filter form only renders the controls: the
query parameters are read (and checked, with messages) by reports.params and metric_param,
the same way for the page, the CSV and the API."""

from __future__ import annotations

from django import forms

from ambassadors.models import AmbassadorGroup, Kind
from campaigns.models import Campaign
from tracking.models import AttributionModel

from .models import PointsRules
from .periods import PRESETS
from .selectors.leaderboard import METRICS


class LeaderboardFilterForm(forms.Form):
    period = forms.ChoiceField(choices=list(PRESETS.items()), required=False)
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    metric = forms.ChoiceField(choices=list(METRICS.items()), required=False, label="Rank by")
    model = forms.ChoiceField(required=False, label="Attribution model")
    campaign = forms.MultipleChoiceField(required=False, label="Campaigns",
                                         widget=forms.SelectMultiple(attrs={"size": 3}))
    group = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(choices=[("", "Internal and external"), *((v, Kind(v).label.split(" (")[0])
                                                                          for v in Kind.values)], required=False)

    def __init__(self, organization, *args, reporting_model: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", f"Organisation's ({AttributionModel(reporting_model).label.lower()})"),
                                        *AttributionModel.choices]
        self.fields["campaign"].choices = [
            (str(public_id), name) for public_id, name in
            Campaign.objects.filter(organization_id=organization.pk).order_by("name").values_list("public_id", "name")]
        self.fields["group"].choices = [("", "All groups"), *(
            (str(pk), name) for pk, name in
            AmbassadorGroup.objects.filter(organization_id=organization.pk).order_by("name").values_list("id", "name"))]


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
