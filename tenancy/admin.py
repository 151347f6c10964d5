from django.contrib import admin

from .models import ApiKey, Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "time_zone", "currency", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


class TenantAdmin(admin.ModelAdmin):
    """Base for every tenant model's admin: the organisation is shown and filterable.
    (The tenant middleware disables scopes for platform staff under /admin/.)"""

    def get_list_display(self, request):
        return ("__str__", "organization", *[f for f in super().get_list_display(request) if f != "__str__"])

    def get_list_filter(self, request):
        return ("organization", *super().get_list_filter(request))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization")


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ("user", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "organization__name")
    autocomplete_fields = ["user"]


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdmin):
    list_display = ("prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "organization__name")
    # Keys are made in the organisation's settings, where the secret is shown once;
    # here they can be looked at and renamed, never given a new hash.
    fields = ("organization", "name", "prefix", "public_id", "secret_hash", "created_by", "created_at",
              "last_used_at", "revoked_at")
    readonly_fields = ("organization", "prefix", "public_id", "secret_hash", "created_by", "created_at",
                       "last_used_at", "revoked_at")

    def has_add_permission(self, request):
        return False
