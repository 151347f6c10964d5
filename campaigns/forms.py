from django import forms
from django.core.exceptions import ValidationError

from ambassadors.models import AmbassadorGroup
from tenancy.forms import scoped_formfield

from .channels import MESSAGE_LIMITS, Channel
from .models import Campaign, CampaignCost, CampaignMessage, validate_destination
from .services import campaign_slug_taken, clean_domain_host, unique_campaign_slug
from .share import sample_short_url

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DestinationField(forms.CharField):
    """An address field that does not quietly prepend a scheme (Django's URLField would turn
    "/page" or "example.com" into something else): our validator says what is wrong."""

    widget = forms.URLInput

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)
        self.validators.append(validate_destination)


class CampaignForm(forms.ModelForm):
    destination_url = DestinationField(label="Destination URL",
                                       help_text="Where the links lead, e.g. https://www.example.com/webinar.")
    fallback_url = DestinationField(label="Fallback URL", required=False,
                                    help_text="Where links go once the campaign is paused or ended "
                                              "(empty: a friendly page).")
    slug = forms.SlugField(max_length=60, required=False,
                           help_text="Used in UTM parameters ({campaign}). Made from the name when empty.")

    class Meta:
        model = Campaign
        fields = ["name", "slug", "description", "status", "destination_url", "fallback_url", "starts_at", "ends_at",
                  "target_groups", "minutes_per_share", "utm_source", "utm_medium", "utm_campaign", "utm_content",
                  "utm_term"]
        formfield_callback = scoped_formfield
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
            "target_groups": forms.CheckboxSelectMultiple,
        }
        labels = {"starts_at": "Starts", "ends_at": "Ends", "target_groups": "Target groups",
                  "utm_source": "UTM source", "utm_medium": "UTM medium", "utm_campaign": "UTM campaign",
                  "utm_content": "UTM content", "utm_term": "UTM term"}
        help_texts = {"target_groups": "None ticked: every active ambassador.",
                      "starts_at": "Optional. In the organisation's time zone.",
                      "ends_at": "Optional. Links lead to the fallback afterwards."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this organisation's groups (the form is built inside its tenant scope).
        self.fields["target_groups"].queryset = AmbassadorGroup.objects.all()
        for name in ("starts_at", "ends_at"):
            self.fields[name].input_formats = [DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]

    def clean_slug(self):
        slug = self.cleaned_data.get("slug", "")
        if slug and campaign_slug_taken(slug, exclude_pk=self.instance.pk):
            raise ValidationError(f"Another campaign already uses the slug “{slug}”.")
        return slug

    def clean(self):
        data = super().clean()
        if not data.get("slug") and data.get("name"):
            data["slug"] = unique_campaign_slug(data["name"], exclude_pk=self.instance.pk)
            self.instance.slug = data["slug"]
        return data


class CampaignMessageForm(forms.ModelForm):
    class Meta:
        model = CampaignMessage
        fields = ["channel", "subject", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 4})}
        labels = {"text": "Suggested post"}
        help_texts = {"text": "Put {link} where the link goes; without it the link is added at the end. "
                              "Limits: " + ", ".join(f"{Channel(c).label} {n:,}" for c, n in MESSAGE_LIMITS.items())
                              + " characters (X counts a link as 23)."}

    def clean(self):
        data = super().clean()
        channel, text, subject = data.get("channel"), data.get("text"), data.get("subject")
        if subject and channel and channel != Channel.EMAIL:
            self.add_error("subject", "Only e-mail messages have a subject.")
        if channel and text:
            try:
                CampaignMessage(channel=channel, text=text).validate_length(sample_short_url(channel))
            except ValidationError as error:
                self.add_error("text", error.message_dict["text"])
        return data


class CampaignCostForm(forms.ModelForm):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=None,
                                help_text="In the organisation's currency.")

    class Meta:
        model = CampaignCost
        fields = ["date", "category", "amount", "note"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount is not None and amount <= 0:
            raise ValidationError("Enter an amount greater than zero.")
        return amount


class DomainForm(forms.Form):
    host = forms.CharField(max_length=253, label="Host", help_text="A host name of yours, e.g. links.example.com.")

    def clean_host(self):
        try:
            return clean_domain_host(self.cleaned_data["host"])
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from error
