"""Forms of the fraud case pages: an admin's decision with a note (required to confirm fraud:
rewards.services.fraud says so)."""

from django import forms


class CaseDecisionForm(forms.Form):
    note = forms.CharField(max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="Kept with the case and in the audit log; confirming fraud needs one (it is "
                                     "the canceled entries' reason).")
