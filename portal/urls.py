from django.urls import path

from . import ambassadors, views

# Mounted under /o/<org_slug>/.
urlpatterns = [
    path("", views.org_home, name="org_home"),
    path("manage/", views.manage_home, name="manage_home"),
    path("ambassadors/", ambassadors.ambassador_list, name="ambassador_list"),
    path("me/", views.my_portal, name="my_portal"),
    path("me/onboarding/done/", views.onboarding_done, name="portal_onboarding_done"),
]
