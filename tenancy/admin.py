from django.contrib import admin

from .models import Membership, Organization


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
