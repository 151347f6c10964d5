from django import forms

from .models import Frequency, Kind
from .preferences import ALLOWED

HELP = {
    Kind.CAMPAIGN_NEW: "When a campaign you can share starts: right away, or gathered in one e-mail a day "
                       "or a week (08:00 your organisation's time).",
    Kind.DIGEST: "Your clicks, leads, points and rank, every Monday.",
    Kind.REMINDER: "A nudge about a featured campaign you have not shared yet (if your organisation sends them).",
}


class PreferencesForm(forms.Form):
    """One choice per kind of e-mail, among the frequencies that kind offers."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in Kind.values:
            self.fields[kind] = forms.ChoiceField(
                label=Kind(kind).label, help_text=HELP[kind], widget=forms.RadioSelect,
                choices=[(f, Frequency(f).label) for f in ALLOWED[kind]])
