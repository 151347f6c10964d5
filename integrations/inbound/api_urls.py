"""The provider connections' API (integrations/inbound/api.py), under /api/v1/o/<org_slug>/."""

from django.urls import path, re_path

from . import api
from .urls import PROVIDER

connection_api_urlpatterns = [
    path("integrations/connections/", api.ConnectionsView.as_view(), name="api_inbound_connections"),
    re_path(rf"^integrations/connections/{PROVIDER}/$", api.ConnectionView.as_view(), name="api_inbound_connection"),
    re_path(rf"^integrations/connections/{PROVIDER}/events/$", api.ConnectionEventsView.as_view(),
            name="api_inbound_connection_events"),
]
