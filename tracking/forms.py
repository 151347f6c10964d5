from django import forms

from .models import AttributionModel
from .services.attribution_settings import MAX_DAYS, MIN_DAYS


class AttributionSettingsForm(forms.Form):
    reporting_model = forms.ChoiceField(
        choices=AttributionModel.choices, label="Reporting model",
        help_text="Which model leaderboards and ROI show. All five are always computed, so switching is instant "
                  "and the model comparison report shows them side by side.")
    window_days = forms.IntegerField(
        min_value=MIN_DAYS, max_value=MAX_DAYS, label="Attribution window (days)",
        help_text="Clicks this many days before a lead (both ends included) count as its touches.")
    half_life_days = forms.IntegerField(
        min_value=MIN_DAYS, max_value=MAX_DAYS, label="Time-decay half-life (days)",
        help_text="Under time decay, a click this much older than another weighs half as much.")
