"""The connection form: the provider's signing secret (required to connect; left empty on a
change, the stored one stays) and, for HubSpot, its settings. The rules are the service's
(integrations.inbound.services.clean_secret / clean_settings): the form only collects."""

from django import forms

from integrations.models import Provider

from .services import HUBSPOT_DEFAULTS, MAX_SECRET_LENGTH

HUBSPOT_FIELDS = {
    "deal_stage": ("Won deal stage", "The internal id of the pipeline stage that means won (HubSpot: Settings → "
                                     "Objects → Deals → Pipelines; the default pipeline's is closedwon)."),
    "click_property": ("Click id property", "The contact (and deal) property your forms fill with amb_cid."),
    "amount_property": ("Deal amount property", "Read when HubSpot sends its change (subscribe to it)."),
    "currency_property": ("Deal currency property", "Read likewise; without it the organisation's currency."),
    "default_amount": ("Default amount", "For a won deal whose amount was never sent; empty: such a deal is "
                                         "refused, with the reason in the event log."),
}


class ConnectionForm(forms.Form):
    signing_secret = forms.CharField(max_length=MAX_SECRET_LENGTH, strip=True, required=False,
                                     widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))

    def __init__(self, *args, provider: str, connection=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider = provider
        secret = self.fields["signing_secret"]
        if provider == Provider.STRIPE:
            secret.label = "Signing secret (whsec_…)"
            secret.help_text = "Stripe: Developers → Webhooks → your endpoint → Signing secret."
        else:
            secret.label = "Client secret"
            secret.help_text = "HubSpot: your app → Auth → Client secret (it signs the app's webhooks)."
        if connection is None:
            secret.required = True
        else:
            secret.help_text += " Leave empty to keep the stored one."
        if provider == Provider.HUBSPOT:
            current = {**HUBSPOT_DEFAULTS, **(connection.settings if connection else {})}
            for name, (label, help_text) in HUBSPOT_FIELDS.items():
                self.fields[name] = forms.CharField(label=label, help_text=help_text, max_length=100,
                                                    required=name != "default_amount", initial=current.get(name, ""))

    def settings(self) -> dict | None:
        if self.provider != Provider.HUBSPOT:
            return None
        return {name: self.cleaned_data.get(name) or "" for name in HUBSPOT_FIELDS}
