from django import forms

from .models import COOKIE_DAYS_MAX, COOKIE_DAYS_MIN, AttributionModel, TrackingMode
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


class TrackingSettingsForm(forms.Form):
    mode = forms.ChoiceField(
        choices=TrackingMode.choices, label="Tracking on your site", widget=forms.RadioSelect,
        help_text="How the snippet amb.js keeps the click id of a visitor who came through an ambassador's link.")
    cookie_days = forms.IntegerField(
        min_value=COOKIE_DAYS_MIN, max_value=COOKIE_DAYS_MAX, label="Cookie lifetime (days)",
        help_text="How long the snippet's first-party cookie keeps the click id (full mode, and consent mode once "
                  "the visitor has consented).")
    visitor_cookie = forms.BooleanField(
        required=False, label="Recognise returning visitors with a cookie on the short links",
        help_text="Off: the short link sets no cookie, and a visitor is told apart by a hash of the day's random "
                  "salt, their address and their browser; the same person counts again on another day.")
