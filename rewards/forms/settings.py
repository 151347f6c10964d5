"""Forms of the reward settings page. The rules and their messages are rewards.services.settings';
these only parse (the choices are the model's)."""

from decimal import Decimal

from django import forms
from django_scopes.forms import SafeModelChoiceField

from ambassadors.models import AmbassadorGroup

from ..models import HOLDING_DAYS, MINIMUM_PAYOUTS
from ..services.settings import CLICKS_MAX, POINT_VALUE_MAX

HOLDING_CHOICES = [(str(days), label) for days, label in HOLDING_DAYS]
MINIMUM_CHOICES = [(f"{amount:.2f}", label) for amount, label in MINIMUM_PAYOUTS]


class RewardSettingsForm(forms.Form):
    point_value = forms.DecimalField(
        min_value=Decimal("0"), max_value=POINT_VALUE_MAX, max_digits=10, decimal_places=4,
        help_text="What one reward point is worth in the organisation's currency. The ROI counts points at this "
                  "value (0: points cost nothing in the ROI).")
    minimum_payout = forms.TypedChoiceField(
        choices=MINIMUM_CHOICES, coerce=Decimal,
        help_text="A payout run leaves out ambassadors whose approved money is below this (it waits for the next run).")
    money_holding_days = forms.TypedChoiceField(
        label="Money holding period", choices=HOLDING_CHOICES, coerce=int,
        help_text="How long money earned waits before approval (refunds and fraud checks come in meanwhile).")
    points_holding_days = forms.TypedChoiceField(
        label="Points holding period", choices=HOLDING_CHOICES, coerce=int,
        help_text="How long points earned wait before they can be spent.")
    max_clicks_per_minute = forms.IntegerField(
        label="Click velocity limit", min_value=1, max_value=CLICKS_MAX,
        help_text="Clicks on one link faster than this per minute hold that link's earnings for review.")

    @classmethod
    def for_settings(cls, settings, data=None):
        return cls(data, initial={"point_value": settings.point_value,
                                  "minimum_payout": f"{settings.minimum_payout:.2f}",
                                  "money_holding_days": str(settings.money_holding_days),
                                  "points_holding_days": str(settings.points_holding_days),
                                  "max_clicks_per_minute": settings.max_clicks_per_minute})


class GroupHoldingForm(forms.Form):
    group = SafeModelChoiceField(queryset=AmbassadorGroup.objects.none(),
                                 help_text="An ambassador in several groups waits the longest of their periods.")
    money_holding_days = forms.TypedChoiceField(label="Money holding period", choices=HOLDING_CHOICES, coerce=int)
    points_holding_days = forms.TypedChoiceField(label="Points holding period", choices=HOLDING_CHOICES, coerce=int)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="holding", **kwargs)
        self.fields["group"].queryset = AmbassadorGroup.objects.order_by("name")
