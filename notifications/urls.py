from django.urls import path

from . import admin_views, views

# Mounted under /o/<org_slug>/.
urlpatterns = [
    path("me/notifications/", views.my_notifications, name="notification_preferences"),
    path("manage/notifications/", admin_views.notification_settings, name="notification_settings"),
    path("manage/notifications/test/", admin_views.notification_test, name="notification_test"),
]
# Mounted at the site root (no organisation in the URL).
public_urlpatterns = [
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe_page, name="notification_unsubscribe"),
]
