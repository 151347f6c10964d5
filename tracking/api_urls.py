"""Tracking's API: `urlpatterns` under /api/v1/o/<org_slug>/ (signed-in members), and
`key_urlpatterns` under /api/v1/: the machine endpoints, whose organisation is the API key's
(tenancy.api_keys)."""

from django.urls import path

from .api import imports, settings, track

urlpatterns = [
    path("attribution-settings/", settings.AttributionSettingsView.as_view(), name="api_attribution_settings"),
    path("tracking-settings/", settings.TrackingSettingsView.as_view(), name="api_tracking_settings"),
    path("imports/", imports.ImportListCreateView.as_view(), name="api_conversion_imports"),
    path("imports/<uuid:public_id>/", imports.ImportDetailView.as_view(), name="api_conversion_import_detail"),
]

key_urlpatterns = [
    path("track/lead", track.TrackLeadView.as_view(), name="api_track_lead"),
    path("track/sale", track.TrackSaleView.as_view(), name="api_track_sale"),
    path("imports/", imports.KeyImportListCreateView.as_view(), name="api_key_conversion_imports"),
    path("imports/<uuid:public_id>/", imports.KeyImportDetailView.as_view(), name="api_key_conversion_import_detail"),
    # The same with a trailing slash, left out of the schema (which shows the spelling).
    path("track/lead/", track.TrackLeadView.as_view(schema=None)),
    path("track/sale/", track.TrackSaleView.as_view(schema=None)),
]
