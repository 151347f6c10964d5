"""Forms of the webhook pages. What an endpoint may be (a safe http(s) URL, known event types) is
integrations.services.endpoints' rule; these forms only shape the input and show its errors."""

from django import forms

from common.events import EVENT_TYPES

from .models import DeliveryStatus
from .selectors import LOG_DAYS
from .services.delivery import TEST_EVENT_TYPE
from .services.endpoints import MAX_DESCRIPTION_LENGTH, MAX_URL_LENGTH

EVENT_HELP = {
    "lead.created": "A customer's first lead is recorded.",
    "sale.created": "A sale is stored (once per invoice).",
    "sale.refunded": "A paid sale is refunded.",
    "ambassador.joined": "An ambassador becomes active (joins, is approved or accepts an invitation).",
    "campaign.published": "A campaign goes live for the first time.",
    "earning.created": "A reward is written to the earnings ledger.",
    "earning.updated": "A ledger entry changes status (approved, held, released, canceled, refunded); "
                       "payments come as payout.paid.",
    "payout.paid": "A payout run is marked paid.",
}
EVENT_CHOICES = [(name, f"{name} — {EVENT_HELP.get(name, '')}".rstrip(" —")) for name in EVENT_TYPES]
DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class EndpointForm(forms.Form):
    url = forms.CharField(label="URL", max_length=MAX_URL_LENGTH,
                          widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks"}),
                          help_text="Events are POSTed here, signed (Standard Webhooks). Internal addresses are "
                                    "refused.")
    description = forms.CharField(max_length=MAX_DESCRIPTION_LENGTH, required=False,
                                  help_text="For you: what receives these events.")
    events = forms.MultipleChoiceField(choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple,
                                       error_messages={"required": "Choose at least one event type."})


class EndpointEditForm(EndpointForm):
    enabled = forms.BooleanField(required=False, help_text="Turning a disabled endpoint back on forgets its "
                                                           "failures; deliveries start again.")


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *DeliveryStatus.choices], required=False)
    event_type = forms.ChoiceField(label="Event", choices=[("", "Any event"), *[(n, n) for n in EVENT_TYPES],
                                                           (TEST_EVENT_TYPE, "Test events")], required=False)


class ReplayRangeForm(forms.Form):
    since = forms.DateTimeField(input_formats=DATETIME_LOCAL,
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                help_text="From (included), in the organisation's time zone.")
    until = forms.DateTimeField(input_formats=DATETIME_LOCAL,
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                help_text="To (excluded).")

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until:
            if until <= since:
                self.add_error("until", "Must be after “since”.")
            elif (until - since).days >= LOG_DAYS:
                self.add_error("until", f"At most {LOG_DAYS} days after “since” (the log keeps {LOG_DAYS} days).")
        return cleaned
