from django.urls import path

from . import admin_views

# Mounted under /o/<org_slug>/.
urlpatterns = [
    path("manage/notifications/", admin_views.notification_settings, name="notification_settings"),
    path("manage/notifications/test/", admin_views.notification_test, name="notification_test"),
]
# Mounted at the site root (no organisation in the URL).
public_urlpatterns = []
