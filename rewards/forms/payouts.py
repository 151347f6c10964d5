"""Forms of the payout pages: making a run (exclusions, a note) and the ambassador's payout details.
The rules (what is valid, the password check) are rewards.services'; these only parse."""

from django import forms

from ..models import PayoutMethod


class RunForm(forms.Form):
    """`candidates`: (public id, label) of the ambassadors a run would pay, offered for exclusion."""

    exclude = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                        label="Leave out of this run")
    note = forms.CharField(required=False, max_length=300, label="Note (optional)",
                           help_text="For your records, e.g. the month it pays.")

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exclude"].choices = list(candidates)


class PayoutDetailsForm(forms.Form):
    method = forms.ChoiceField(choices=PayoutMethod.choices, widget=forms.RadioSelect, label="How to pay you")
    paypal_email = forms.CharField(required=False, max_length=254, label="PayPal e-mail",
                                   widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    iban = forms.CharField(required=False, max_length=60, label="IBAN",
                           widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    account_holder = forms.CharField(required=False, max_length=140, label="Account holder",
                                     help_text="The name on the bank account.")
    password = forms.CharField(required=False, label="Your password",
                               help_text="Needed to change details you already gave.",
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, needs_password=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not needs_password:
            del self.fields["password"]
