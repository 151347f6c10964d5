"""Django admin for platform staff (scopes are disabled under /admin/, so every organisation
shows; each model shows and filters its organisation). Domains are verified here."""

from collections import Counter

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models

from tenancy.admin import TenantAdmin

from .forms import CampaignMessageForm, DestinationField
from .models import (
    MAX_VARIANTS_PER_CHANNEL,
    Campaign,
    CampaignCost,
    CampaignImage,
    CampaignMessage,
    Domain,
    ShareEvent,
    TrackedLink,
)
from .services import CampaignError
from .services.content import check_variant_room, variants_full_message


class CampaignAdminForm(forms.ModelForm):
    # No Meta here: the admin adds it at request time, when scopes are disabled (building the
    # form's choice fields at import would query outside any scope).

    def clean(self):
        data = super().clean()
        organization = data.get("organization") or getattr(self.instance, "organization", None)
        groups = data.get("target_groups")
        if organization is not None and groups is not None:
            foreign = [g.name for g in groups if g.organization_id != organization.pk]
            if foreign:
                self.add_error("target_groups", f"These groups belong to another organisation: {', '.join(foreign)}.")
        return data


class TenantChildInline(admin.TabularInline):
    """Inline rows take their organisation from the parent."""

    exclude = ("organization",)
    extra = 0


class VariantsFormSet(forms.BaseInlineFormSet):
    """At most MAX_VARIANTS_PER_CHANNEL posts per network, counted over the rows kept."""

    def clean(self):
        super().clean()
        kept = [form.cleaned_data.get("channel") for form in self.forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        full = sorted(channel for channel, n in Counter(kept).items() if channel and n > MAX_VARIANTS_PER_CHANNEL)
        if full:
            raise ValidationError([variants_full_message(channel) for channel in full])


class CampaignMessageInline(TenantChildInline):
    model = CampaignMessage
    form = CampaignMessageForm  # the networks' length limits, as on the site
    formset = VariantsFormSet
    fields = ("channel", "subject", "text")


class CampaignCostInline(TenantChildInline):
    model = CampaignCost
    fields = ("date", "category", "amount", "note")


@admin.register(Campaign)
class CampaignAdmin(TenantAdmin):
    form = CampaignAdminForm
    list_display = ("status", "starts_at", "ends_at", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "slug", "organization__name")
    readonly_fields = ("public_id", "created_at", "updated_at")
    filter_horizontal = ("target_groups",)
    formfield_overrides = {models.URLField: {"form_class": DestinationField}}  # no silent "http://" prefix
    inlines = [CampaignMessageInline, CampaignCostInline]

    def save_formset(self, request, form, formset, change):
        for obj in formset.save(commit=False):
            obj.organization_id = form.instance.organization_id
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


class CampaignMessageAdminForm(CampaignMessageForm):
    # The admin adds the campaign field at request time (see CampaignAdminForm): a variant of a
    # network that has the most already is refused here, as by the service on the site.

    def clean(self):
        data = super().clean()
        campaign, channel = data.get("campaign"), data.get("channel")
        if campaign is not None and channel and (self.instance.pk is None or channel != self.instance.channel
                                                 or campaign.pk != self.instance.campaign_id):
            try:
                check_variant_room(campaign, channel, excluding=self.instance)
            except CampaignError as error:
                self.add_error(error.field, error.message)
        return data


@admin.register(CampaignMessage)
class CampaignMessageAdmin(TenantAdmin):
    form = CampaignMessageAdminForm
    fields = ("campaign", "channel", "subject", "text")  # the organisation is taken from the campaign
    list_display = ("campaign", "channel", "created_at")
    list_filter = ("channel",)
    search_fields = ("text", "campaign__name")
    raw_id_fields = ("campaign",)
    readonly_fields = ("public_id",)

    def save_model(self, request, obj, form, change):
        obj.organization_id = obj.campaign.organization_id
        super().save_model(request, obj, form, change)


@admin.register(CampaignImage)
class CampaignImageAdmin(TenantAdmin):
    """Images are uploaded on the campaign's page (checked by content there); staff look and delete."""

    list_display = ("campaign", "format", "width", "height", "size_bytes", "created_at")
    list_filter = ("format",)
    search_fields = ("original_name", "alt_text", "campaign__name")
    fields = ("organization", "campaign", "public_id", "original_name", "alt_text", "format", "width", "height",
              "size_bytes", "created_at")
    readonly_fields = ("organization", "campaign", "public_id", "original_name", "format", "width", "height",
                       "size_bytes", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(CampaignCost)
class CampaignCostAdmin(TenantAdmin):
    exclude = ("organization",)  # taken from the campaign
    list_display = ("campaign", "date", "category", "amount")
    list_filter = ("category",)
    search_fields = ("note", "campaign__name")
    date_hierarchy = "date"
    raw_id_fields = ("campaign",)
    readonly_fields = ("public_id",)

    def save_model(self, request, obj, form, change):
        obj.organization_id = obj.campaign.organization_id
        super().save_model(request, obj, form, change)


@admin.register(TrackedLink)
class TrackedLinkAdmin(TenantAdmin):
    """Links are made by ambassadors; staff look them up (by code) rather than edit them."""

    list_display = ("campaign", "ambassador", "created_at")
    search_fields = ("code", "campaign__name", "ambassador__display_name", "ambassador__email")
    raw_id_fields = ("campaign", "ambassador")
    readonly_fields = ("code", "organization", "campaign", "ambassador", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(ShareEvent)
class ShareEventAdmin(TenantAdmin):
    list_display = ("ambassador", "campaign", "channel", "shared_at")
    list_filter = ("channel",)
    search_fields = ("link__code", "ambassador__display_name", "campaign__name")
    date_hierarchy = "shared_at"
    readonly_fields = ("organization", "link", "campaign", "ambassador", "channel", "shared_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DomainAdminForm(forms.ModelForm):
    def clean_host(self):
        from .models import normalize_host

        host = normalize_host(self.cleaned_data["host"])
        clash = Domain.objects.with_scopes_disabled().filter(host=host).exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError("This host is already in use.")
        return host


@admin.register(Domain)
class DomainAdmin(TenantAdmin):
    form = DomainAdminForm
    fields = ("organization", "host", "verified")
    list_display = ("verified", "created_at")
    list_display_links = ("__str__",)
    list_editable = ("verified",)
    list_filter = ("verified",)
    search_fields = ("host", "organization__name")
    actions = ["mark_verified", "mark_unverified"]

    @admin.action(description="Mark the selected hosts verified")
    def mark_verified(self, request, queryset):
        for domain in queryset:  # save(), not update(): the link cache is invalidated on save
            domain.verified = True
            domain.save()

    @admin.action(description="Mark the selected hosts not verified")
    def mark_unverified(self, request, queryset):
        for domain in queryset:
            domain.verified = False
            domain.save()
