"""The reward rule form: it parses (fields made from the model's); the rules a rule must keep and
their messages are rewards.services.rules' (`problems`), shown on their fields. A plain form, not
a ModelForm: the model's validation would restate its check constraints without saying what to do."""

from django import forms

from ambassadors.models import AmbassadorGroup
from campaigns.models import Campaign
from common.service_errors import add_form_error
from tenancy.forms import scoped_formfield

from ..models import RewardRule
from ..services import RewardError, rules

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
DATETIME_INPUTS = [DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]
EDITABLE = [name for name in rules.FIELDS if name != "active"]
LABELS = {"event": "Event", "unit": "Reward in", "amount_kind": "Amount", "amount": "Flat amount",
          "percent": "Percentage of the sale", "split": "Who earns a lead or sale",
          "recurrence": "Repeat sales of a customer", "recurrence_months": "Months", "cap_amount": "Cap",
          "cap_period": "Cap period", "starts_at": "Starts", "ends_at": "Ends", "ambassador_kind": "Ambassadors",
          "campaign": "Campaign", "group": "Group"}
HELP = {"starts_at": "Optional. In the organisation's time zone; events before it earn nothing.",
        "ends_at": "Optional. Events from then on earn nothing.",
        "recurrence_months": "With “sales in the first N months”: N, counted from the customer's first sale.",
        "split": "Split like credit (the organisation's reporting model), or all to the first or last touch.",
        "amount": "Money in the organisation's currency, or whole points."}


class RewardRuleForm(forms.Form):
    def __init__(self, data=None, *, organization, rule: RewardRule | None = None):
        initial = {name: getattr(rule, name) for name in EDITABLE} if rule is not None else None
        super().__init__(data, initial=initial)
        self.organization = organization
        self.fields.update(forms.fields_for_model(
            RewardRule, fields=EDITABLE, formfield_callback=scoped_formfield, labels=LABELS, help_texts=HELP,
            widgets={name: forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)
                     for name in ("starts_at", "ends_at")}))
        self.fields["name"].error_messages["required"] = rules.NAME_NEEDED
        # This organisation's campaigns and groups (the form is built inside its tenant scope).
        self.fields["campaign"].queryset = Campaign.objects.order_by("name")
        self.fields["campaign"].empty_label = "Every campaign"
        self.fields["group"].queryset = AmbassadorGroup.objects.order_by("name")
        self.fields["group"].empty_label = "Every ambassador"
        for name in ("starts_at", "ends_at"):
            self.fields[name].input_formats = DATETIME_INPUTS
        self.fields["ambassador_kind"].choices = [("", "Internal and external"),
                                                  *[c for c in self.fields["ambassador_kind"].choices if c[0]]]
        self.fields["cap_period"].choices = [("", "No cap"), *[c for c in self.fields["cap_period"].choices if c[0]]]

    def clean(self):
        data = super().clean()
        if not self.errors:
            for problem in rules.problems(self.organization.pk, {**data, "active": True}):
                add_form_error(self, problem if problem.field in self.fields else RewardError(None, problem.message))
        return data

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in EDITABLE}
