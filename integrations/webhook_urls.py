"""The admins' webhook pages (integrations/webhook_views.py), under /o/<org_slug>/."""

from django.urls import path

from . import webhook_views as views

webhooks_urlpatterns = [
    path("manage/webhooks/", views.webhooks, name="webhooks"),
    path("manage/webhooks/new/", views.webhook_new, name="webhook_new"),
    path("manage/webhooks/<uuid:endpoint_id>/", views.webhook_edit, name="webhook_edit"),
    path("manage/webhooks/<uuid:endpoint_id>/rotate-secret/", views.webhook_rotate, name="webhook_rotate"),
    path("manage/webhooks/<uuid:endpoint_id>/delete/", views.webhook_delete, name="webhook_delete"),
    path("manage/webhooks/<uuid:endpoint_id>/test/", views.webhook_test, name="webhook_test"),
    path("manage/webhooks/<uuid:endpoint_id>/deliveries/", views.webhook_log, name="webhook_log"),
    # A delivery is named by its endpoint and its message's id (the webhook-id header, "msg_…").
    path("manage/webhooks/<uuid:endpoint_id>/deliveries/<str:msg_id>/replay/", views.webhook_replay,
         name="webhook_replay"),
    path("manage/webhooks/<uuid:endpoint_id>/replay/", views.webhook_replay_range, name="webhook_replay_range"),
]
