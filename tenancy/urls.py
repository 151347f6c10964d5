"""Tenancy's pages: `urlpatterns` under /o/<org_slug>/ (the organisation's settings, members and
API keys), and `public_urlpatterns` at the site's root (the home page, a new organisation)."""

from django.urls import path

from . import views

urlpatterns = [
    path("manage/settings/", views.organization_settings, name="org_settings"),
    path("manage/members/", views.members, name="org_members"),
    path("manage/members/<int:membership_id>/role/", views.member_role, name="org_member_role"),
    path("manage/api-keys/", views.api_keys, name="org_api_keys"),
    path("manage/api-keys/<uuid:key_id>/revoke/", views.api_key_revoke, name="org_api_key_revoke"),
]

public_urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/new/", views.new_organization, name="new_organization"),
]
