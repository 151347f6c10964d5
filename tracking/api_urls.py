"""Tracking's API of one organisation (under /api/v1/o/<org_slug>/)."""

from django.urls import path

from . import imports_api, settings_api

urlpatterns = [
    path("attribution-settings/", settings_api.AttributionSettingsView.as_view(), name="api_attribution_settings"),
    path("imports/", imports_api.ImportListCreateView.as_view(), name="api_conversion_imports"),
    path("imports/<uuid:public_id>/", imports_api.ImportDetailView.as_view(), name="api_conversion_import_detail"),
]
