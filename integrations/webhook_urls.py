"""The admins' webhook pages (integrations/webhook_views.py), under /o/<org_slug>/."""

from django.urls import path, re_path

from . import webhook_views as views

# A delivery is named by its message's id ("msg_" + random characters: the webhook-id header).
MSG_ID = r"(?P<msg_id>msg_[0-9A-Za-z_-]{1,60})"

webhooks_urlpatterns = [
    path("manage/webhooks/", views.webhooks, name="webhooks"),
    path("manage/webhooks/new/", views.webhook_new, name="webhook_new"),
    path("manage/webhooks/<uuid:endpoint_id>/", views.webhook_edit, name="webhook_edit"),
    path("manage/webhooks/<uuid:endpoint_id>/rotate-secret/", views.webhook_rotate, name="webhook_rotate"),
    path("manage/webhooks/<uuid:endpoint_id>/delete/", views.webhook_delete, name="webhook_delete"),
    path("manage/webhooks/<uuid:endpoint_id>/test/", views.webhook_test, name="webhook_test"),
    path("manage/webhooks/<uuid:endpoint_id>/deliveries/", views.webhook_log, name="webhook_log"),
    re_path(rf"^manage/webhooks/(?P<endpoint_id>[0-9a-f-]{{36}})/deliveries/{MSG_ID}/replay/$", views.webhook_replay,
            name="webhook_replay"),
    path("manage/webhooks/<uuid:endpoint_id>/replay/", views.webhook_replay_range, name="webhook_replay_range"),
]
