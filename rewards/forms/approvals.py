"""The approvals queue's forms: its filters, and an action on ticked entries (all checked in
this organisation: another organisation's entry id is simply not found)."""

from django import forms

from campaigns.models import Campaign

from ..models import EntryStatus
from ..selectors import earnings

MAX_BATCH = 500
ACTIONS = [("approve", "Approve now"), ("hold", "Hold for review"), ("cancel", "Cancel")]


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Pending and held"), (EntryStatus.PENDING, "Pending"),
                                                        (EntryStatus.HELD, "Held")])
    due = forms.ChoiceField(required=False, choices=[("", "Any time"), *earnings.DUE_CHOICES])
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.none(), required=False, to_field_name="public_id",
                                      empty_label="Every campaign")
    ambassador = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.order_by("name")  # this organisation's (tenant scope)


class EntryIdsField(forms.Field):
    """The ticked entries' public ids (checkboxes named "entries"), looked up in clean_entries."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"required": "Tick the entries to act on."}

    def to_python(self, value):
        return [str(v) for v in value or []]


class ActionForm(forms.Form):
    action = forms.ChoiceField(choices=ACTIONS)
    entries = EntryIdsField()
    reason = forms.CharField(max_length=300, required=False, strip=True)

    def clean_entries(self):
        ids = self.cleaned_data["entries"]
        if len(ids) > MAX_BATCH:
            raise forms.ValidationError(f"At most {MAX_BATCH} entries at once; filter the queue and act in parts.")
        try:
            wanted = {forms.UUIDField().clean(value) for value in ids}
        except forms.ValidationError:
            raise forms.ValidationError("An entry's id is not valid; reload the page and tick the entries again.") \
                from None
        found = earnings.entries_by_public_id(wanted)
        if len(found) != len(wanted):  # another organisation's id is simply not found here
            raise forms.ValidationError("Some of the ticked entries do not exist; reload the page and try again.")
        return found
