"""The audit log's filters (page and CSV alike): action, object, and days in the organisation's
time zone (from the first day's midnight to the end of the last)."""

from datetime import datetime, time, timedelta

from django import forms

from ..selectors import audit


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False)
    object_type = forms.ChoiceField(required=False, label="Object")
    object_id = forms.CharField(required=False, max_length=64, label="Object id")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To (included)", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data, *, tzinfo):
        super().__init__(data)
        self.tzinfo = tzinfo
        self.fields["action"].choices = [("", "Every action"), *((a, a) for a in audit.actions())]
        self.fields["object_type"].choices = [("", "Every object"), *((t, t) for t in audit.object_types())]

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "The last day can't come before the first.")
        return data

    def filters(self) -> dict:
        """The selector's arguments (call after is_valid())."""
        data = self.cleaned_data
        since, until = data.get("since"), data.get("until")
        return {"action": data.get("action", ""), "object_type": data.get("object_type", ""),
                "object_id": (data.get("object_id") or "").strip(),
                "since": datetime.combine(since, time.min, self.tzinfo) if since else None,
                "until": datetime.combine(until + timedelta(days=1), time.min, self.tzinfo) if until else None}
