"""Tracking's pages of one organisation (under /o/<org_slug>/, scoped by the tenant middleware)."""

from django.urls import path

from . import imports_views, settings_views

urlpatterns = [
    # Attribution settings (reporting model, window, half-life; recompute progress).
    path("manage/attribution/", settings_views.attribution_settings, name="attribution_settings"),
    # CSV import of leads and sales.
    path("manage/imports/", imports_views.import_list, name="conversion_imports"),
    path("manage/imports/<uuid:public_id>/", imports_views.import_detail, name="conversion_import_detail"),
    path("manage/imports/<uuid:public_id>/rerun/", imports_views.import_rerun, name="conversion_import_rerun"),
    path("manage/imports/<uuid:public_id>/rejected.csv", imports_views.import_rejected,
         name="conversion_import_rejected"),
]
