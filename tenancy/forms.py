import zoneinfo

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from .models import Organization, Role

TIME_ZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz or tz == "UTC"]


class LongSelect(forms.Select):
    """A select of many plain options (the ~550 time zones) rendered in Python: Django's
    template-based Select renders each option through two template includes, which made the
    settings page take 300 ms (bench/pages)."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = "" if value is None else str(value)
        options = format_html_join("", "<option value=\"{}\"{}>{}</option>", (
            (option, mark_safe(" selected") if str(option) == chosen else "", label)  # noqa: S308 - a constant
            for option, label in self.choices))
        return format_html("<select{}>{}</select>", flatatt(self.build_attrs(self.attrs, {**(attrs or {}),
                                                                                         "name": name})), options)


class OrganizationForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="UTC", widget=LongSelect,
                                  help_text="Reports count days and months in this time zone.")

    class Meta:
        model = Organization
        fields = ["name", "slug", "time_zone", "currency"]
        help_texts = {
            "slug": "The organisation's address: /o/<slug>/. Lower-case letters, digits and hyphens.",
            "currency": "Costs, rewards and revenue are recorded in this currency.",
        }


class NewOrganizationForm(OrganizationForm):
    class Meta(OrganizationForm.Meta):
        fields = ["name", "slug", "time_zone", "currency"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Optional: we make one from the name."


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use this key, e.g. “CRM” or “Shop backend”.")


class RoleForm(forms.Form):
    # A plain form: a ModelForm would write the new role onto the instance while
    # validating, before the service checks the old one.
    role = forms.ChoiceField(choices=Role.choices)


def scoped_formfield(db_field, **kwargs):
    """formfield_callback for ModelForms with relations to tenant models: building the
    form class must not query (no scope exists at import), so the choice fields start
    empty and the form sets its queryset inside the request's scope."""
    from django.db import models
    from django_scopes.forms import SafeModelChoiceField, SafeModelMultipleChoiceField

    if isinstance(db_field, models.ManyToManyField):
        kwargs.setdefault("form_class", SafeModelMultipleChoiceField)
    elif isinstance(db_field, models.ForeignKey):
        kwargs.setdefault("form_class", SafeModelChoiceField)
    return db_field.formfield(**kwargs)
