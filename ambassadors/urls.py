from django.urls import path

from . import views

# Mounted under /o/<org_slug>/.
urlpatterns = [
    # ambassadors/ (the managers' list, with performance columns) is portal.ambassadors.ambassador_list
    path("ambassadors/<uuid:public_id>/", views.ambassador_detail, name="ambassador_detail"),
    path("ambassadors/<uuid:public_id>/status/", views.ambassador_status, name="ambassador_status"),
    path("manage/invite/", views.invite, name="ambassador_invite"),
    path("manage/invite/csv/", views.invite_csv, name="ambassador_invite_csv"),
    path("manage/invitations/<uuid:public_id>/<str:action>/", views.invitation_action, name="invitation_action"),
    path("manage/groups/", views.groups, name="ambassador_groups"),
    path("manage/groups/<int:group_id>/", views.group_edit, name="ambassador_group_edit"),
    path("manage/join-page/", views.join_page_settings, name="join_page_settings"),
    path("profile/", views.my_profile, name="my_profile"),
]

public_urlpatterns = [
    path("join/<slug:org_slug>/", views.join, name="join"),
    path("invite/<str:token>/", views.invitation, name="invitation"),
]
