"""Forms of the ambassador pages: they parse input; the rules are the services' (a group's name is
ambassadors.services.groups'), whose refusals become field errors through common.service_errors."""

from django import forms

from common.service_errors import form_errors
from tenancy.forms import scoped_formfield

from .models import Ambassador, AmbassadorGroup, JoinPage, Kind, SocialProfile
from .services import groups


class GroupChoiceMixin:
    def limit_groups(self, field_name="groups"):
        # Only this organisation's groups (the form runs inside its tenant scope).
        self.fields[field_name].queryset = AmbassadorGroup.objects.all()


class InviteForm(GroupChoiceMixin, forms.Form):
    email = forms.EmailField()
    display_name = forms.CharField(label="Name", max_length=120, required=False)
    kind = forms.ChoiceField(choices=Kind.choices, initial=Kind.INTERNAL)
    groups = forms.ModelMultipleChoiceField(queryset=AmbassadorGroup.objects.none(), required=False,
                                            widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_groups()


class CsvInviteForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: email, name, kind (internal/external), group (several separated by “;” or “|”).",
    )


class AmbassadorForm(GroupChoiceMixin, forms.ModelForm):
    class Meta:
        model = Ambassador
        fields = ["display_name", "title", "kind", "hourly_rate", "groups"]
        formfield_callback = scoped_formfield
        widgets = {"groups": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_groups()


class ProfileForm(forms.ModelForm):
    """What ambassadors edit about themselves (not their kind, rate or groups)."""

    class Meta:
        model = Ambassador
        fields = ["display_name", "title", "bio"]
        widgets = {"bio": forms.Textarea(attrs={"rows": 4})}


class SocialProfileForm(forms.ModelForm):
    url = forms.URLField(max_length=300, required=False, assume_scheme="https")
    class Meta:
        model = SocialProfile
        fields = ["network", "handle", "url", "followers"]


SocialProfileFormSet = forms.inlineformset_factory(
    Ambassador, SocialProfile, form=SocialProfileForm, extra=1, can_delete=True, max_num=5
)


class GroupForm(forms.ModelForm):
    class Meta:
        model = AmbassadorGroup
        fields = ["name", "description"]

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean(self):
        # A name taken shows at once, with any other error (the service checks it again on saving).
        data = super().clean()
        if "name" in data:
            with form_errors(self):
                data["name"] = groups.check_name(data["name"], group=self.instance)
        return data


class JoinPageForm(GroupChoiceMixin, forms.ModelForm):
    class Meta:
        model = JoinPage
        fields = ["enabled", "requires_approval", "headline", "intro", "default_kind", "default_groups"]
        formfield_callback = scoped_formfield
        widgets = {"default_groups": forms.CheckboxSelectMultiple, "intro": forms.Textarea(attrs={"rows": 4})}
        labels = {"enabled": "Open the public join page"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_groups("default_groups")


class ApplyForm(forms.Form):
    display_name = forms.CharField(label="Your name", max_length=120)
    title = forms.CharField(label="Your role or company", max_length=120, required=False)
    kind = forms.ChoiceField(choices=Kind.choices, label="I am")
