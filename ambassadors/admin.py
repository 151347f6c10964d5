from django.contrib import admin

from tenancy.admin import TenantAdmin

from .models import Ambassador, AmbassadorGroup, Invitation, JoinPage, SocialProfile


class SocialProfileInline(admin.TabularInline):
    model = SocialProfile
    extra = 0
    exclude = ["organization"]


@admin.register(Ambassador)
class AmbassadorAdmin(TenantAdmin):
    list_display = ("email", "kind", "status", "hourly_rate", "joined_at")
    list_filter = ("kind", "status")
    search_fields = ("display_name", "email", "organization__name")
    autocomplete_fields = ["user"]
    filter_horizontal = ["groups"]
    inlines = [SocialProfileInline]

    def save_formset(self, request, form, formset, change):
        for profile in formset.save(commit=False):
            profile.organization_id = form.instance.organization_id
            profile.save()
        for obj in formset.deleted_objects:
            obj.delete()


@admin.register(AmbassadorGroup)
class AmbassadorGroupAdmin(TenantAdmin):
    list_display = ("description", "created_at")
    search_fields = ("name", "organization__name")


@admin.register(SocialProfile)
class SocialProfileAdmin(TenantAdmin):
    list_display = ("ambassador", "network", "followers")
    list_filter = ("network",)


@admin.register(Invitation)
class InvitationAdmin(TenantAdmin):
    list_display = ("email", "created_at", "expires_at", "sent_at", "accepted_at", "revoked_at")
    search_fields = ("email", "organization__name")
    readonly_fields = ("public_id",)


@admin.register(JoinPage)
class JoinPageAdmin(TenantAdmin):
    list_display = ("enabled", "requires_approval")
