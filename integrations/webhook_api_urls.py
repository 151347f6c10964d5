"""The webhook endpoints' API (integrations/webhook_api.py), under /api/v1/o/<org_slug>/."""

from django.urls import path, re_path

from . import webhook_api

# A delivery is named by its message's id ("msg_" + random characters: the webhook-id header).
MSG_ID = r"(?P<msg_id>msg_[0-9A-Za-z_-]{1,60})"

webhook_api_urlpatterns = [
    path("webhooks/", webhook_api.WebhookEndpointsView.as_view(), name="api_webhooks"),
    path("webhooks/<uuid:endpoint_id>/", webhook_api.WebhookEndpointView.as_view(), name="api_webhook"),
    path("webhooks/<uuid:endpoint_id>/rotate-secret/", webhook_api.RotateSecretView.as_view(),
         name="api_webhook_rotate_secret"),
    path("webhooks/<uuid:endpoint_id>/test/", webhook_api.SendTestView.as_view(), name="api_webhook_test"),
    path("webhooks/<uuid:endpoint_id>/deliveries/", webhook_api.DeliveriesView.as_view(),
         name="api_webhook_deliveries"),
    re_path(rf"^webhooks/(?P<endpoint_id>[0-9a-f-]{{36}})/deliveries/{MSG_ID}/replay/$",
            webhook_api.ReplayDeliveryView.as_view(), name="api_webhook_delivery_replay"),
    path("webhooks/<uuid:endpoint_id>/replay/", webhook_api.ReplayRangeView.as_view(), name="api_webhook_replay"),
]
