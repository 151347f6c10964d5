"""Forms of the campaign pages: they parse input; the rules are the services' (campaigns.services),
whose refusals become field errors through common.service_errors.form_errors."""

from django import forms

from ambassadors.models import AmbassadorGroup
from common.service_errors import add_form_error, form_errors
from tenancy.forms import scoped_formfield

from .channels import MESSAGE_LIMITS, Channel
from .models import Campaign, CampaignCost, CampaignMessage, validate_destination
from .services import campaigns, content, costs, domains, images

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
        fields = ["name", "slug", "description", "status", "featured", "destination_url", "fallback_url", "starts_at",
                  "ends_at", "target_groups", "minutes_per_share", "utm_source", "utm_medium", "utm_campaign",
                  "utm_content", "utm_term"]
        formfield_callback = scoped_formfield
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
            "target_groups": forms.CheckboxSelectMultiple,
        }
        labels = {"starts_at": "Starts", "ends_at": "Ends", "target_groups": "Target groups", "featured": "Featured",
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

    def clean(self):
        # A slug taken shows with the other errors; an empty one is made from the name on saving.
        data = super().clean()
        with form_errors(self):
            campaigns.check_slug(data.get("slug", ""), campaign=self.instance)
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
        channel = data.get("channel")
        if channel:
            for problem in content.message_problems(channel=channel, subject=data.get("subject") or "",
                                                    text=data.get("text") or ""):
                add_form_error(self, problem)
        return data


class CampaignImageForm(forms.Form):
    """An image upload: the file is only received here; campaigns.services.images judges it by its content."""

    image = forms.FileField(
        label="Image", allow_empty_file=True, error_messages={"required": "Choose an image file to upload."},
        help_text=f"PNG, JPEG or WebP, at most {images.MAX_IMAGE_BYTES // (1024 * 1024)} MB and "
                  f"{images.MAX_PIXELS // 1_000_000} megapixels. Location and camera details are removed.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    alt_text = forms.CharField(
        label="Description", required=False, max_length=images.ALT_TEXT_MAX,
        help_text="What the image shows, for people who can't see it (ambassadors can reuse it as alt text).",
    )

    @classmethod
    def refused(cls, message: str) -> "CampaignImageForm":
        """The form shown again for a request refused before its body was read (too large)."""
        form = cls(data={})
        form.full_clean()
        form.errors["image"] = form.error_class([message])
        return form


class CampaignCostForm(forms.ModelForm):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=None,
                                help_text="In the organisation's currency.")

    class Meta:
        model = CampaignCost
        fields = ["date", "category", "amount", "note"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def clean(self):
        data = super().clean()
        with form_errors(self):
            costs.check_amount(data.get("amount"))
        return data


class DomainForm(forms.Form):
    host = forms.CharField(max_length=253, label="Host", help_text="A host name of yours, e.g. links.example.com.")

    def clean(self):
        data = super().clean()
        if "host" in data:
            with form_errors(self):
                data["host"] = domains.clean_domain_host(data["host"])
        return data
