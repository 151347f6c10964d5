"""The admin's notification settings form. Webhook URLs are secrets: the form never shows one
back (not even the one just typed), so an empty field means "keep the saved address" and a
checkbox removes it. Whether an address is acceptable is the service's rule
(notifications.chat.validate_webhook_url), applied here so the error sits on its field."""

from django import forms

from common.service_errors import ServiceError

from .chat import CHAT_CHANNELS, LABELS, mask_url, validate_webhook_url
from .models import DeliveryChannel


class SecretURLInput(forms.TextInput):
    """A text input that never renders its value (like PasswordInput(render_value=False))."""

    input_type = "url"

    def get_context(self, name, value, attrs):
        return super().get_context(name, None, attrs)


def _url_field(channel: str) -> forms.CharField:
    return forms.CharField(
        label=f"{LABELS[channel]} incoming-webhook URL", required=False, max_length=500, strip=True,
        widget=SecretURLInput(attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"}))


class NotificationSettingsForm(forms.Form):
    slack_webhook_url = _url_field(DeliveryChannel.SLACK)
    remove_slack = forms.BooleanField(label="Remove the Slack webhook", required=False)
    teams_webhook_url = _url_field(DeliveryChannel.TEAMS)
    remove_teams = forms.BooleanField(label="Remove the Microsoft Teams webhook", required=False)
    reminders_enabled = forms.BooleanField(
        label="Remind ambassadors of featured campaigns they have not shared", required=False)
    reminder_after_days = forms.IntegerField(
        label="Remind after (days)", min_value=1, max_value=60,
        help_text="Days after a featured campaign was announced; each ambassador is reminded once per campaign.")

    def __init__(self, *args, current=None, **kwargs):
        """`current`: the saved NotificationSettings (their masked URLs become the hints)."""
        super().__init__(*args, **kwargs)
        for channel in CHAT_CHANNELS:
            saved = getattr(current, f"{channel}_webhook_url", "") if current is not None else ""
            field = self.fields[f"{channel}_webhook_url"]
            if saved:
                field.widget.attrs["placeholder"] = mask_url(saved)
                field.help_text = f"Saved: {mask_url(saved)}. Leave empty to keep it; paste a new URL to replace it."
            else:
                field.help_text = ("Slack: Apps → Incoming Webhooks → Add to channel; e.g. https://hooks.slack.com/"
                                   "services/T…/B…/…" if channel == DeliveryChannel.SLACK else
                                   "Teams: a channel's Workflows → “Post to a channel when a webhook request is "
                                   "received” (or an Incoming Webhook connector); paste its URL.")
                del self.fields[f"remove_{channel}"]

    def _clean_url(self, channel: str) -> str:
        value = self.cleaned_data.get(f"{channel}_webhook_url", "")
        if not value:
            return ""
        try:
            return validate_webhook_url(channel, value)
        except ServiceError as error:
            raise forms.ValidationError(error.message) from None

    def clean_slack_webhook_url(self):
        return self._clean_url(DeliveryChannel.SLACK)

    def clean_teams_webhook_url(self):
        return self._clean_url(DeliveryChannel.TEAMS)

    def clean(self):
        cleaned = super().clean()
        for channel in CHAT_CHANNELS:
            if cleaned.get(f"remove_{channel}") and cleaned.get(f"{channel}_webhook_url"):
                self.add_error(f"remove_{channel}", f"Either paste a new {LABELS[channel]} URL or remove the saved "
                                                    "one, not both.")
        return cleaned

    def webhook_urls(self) -> dict[str, str | None]:
        """Per channel: the new URL, "" to remove the saved one, None to keep it (the service's KEEP)."""
        urls = {}
        for channel in CHAT_CHANNELS:
            if self.cleaned_data.get(f"remove_{channel}"):
                urls[f"{channel}_webhook_url"] = ""
            else:
                urls[f"{channel}_webhook_url"] = self.cleaned_data.get(f"{channel}_webhook_url") or None
        return urls


class TestMessageForm(forms.Form):
    channel = forms.ChoiceField(choices=[(c.value, LABELS[c]) for c in CHAT_CHANNELS])
