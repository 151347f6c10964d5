"""The webhook endpoints' API (integrations/webhook_api.py), under /api/v1/o/<org_slug>/."""

from django.urls import path

from . import webhook_api

webhook_api_urlpatterns = [
    path("webhooks/", webhook_api.WebhookEndpointsView.as_view(), name="api_webhooks"),
    path("webhooks/<uuid:endpoint_id>/", webhook_api.WebhookEndpointView.as_view(), name="api_webhook"),
    path("webhooks/<uuid:endpoint_id>/rotate-secret/", webhook_api.RotateSecretView.as_view(),
         name="api_webhook_rotate_secret"),
    path("webhooks/<uuid:endpoint_id>/test/", webhook_api.SendTestView.as_view(), name="api_webhook_test"),
    path("webhooks/<uuid:endpoint_id>/deliveries/", webhook_api.DeliveriesView.as_view(),
         name="api_webhook_deliveries"),
    # A delivery is named by its endpoint and its message's id (the webhook-id header, "msg_…").
    path("webhooks/<uuid:endpoint_id>/deliveries/<str:msg_id>/replay/", webhook_api.ReplayDeliveryView.as_view(),
         name="api_webhook_delivery_replay"),
    path("webhooks/<uuid:endpoint_id>/replay/", webhook_api.ReplayRangeView.as_view(), name="api_webhook_replay"),
]
