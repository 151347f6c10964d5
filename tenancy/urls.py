from django.urls import path

from . import views

urlpatterns = [
    path("manage/settings/", views.organization_settings, name="org_settings"),
    path("manage/members/", views.members, name="org_members"),
    path("manage/members/<int:membership_id>/role/", views.member_role, name="org_member_role"),
]
