"""Pages (urlpatterns, under /o/<org_slug>/) and API (api_urlpatterns, under /api/v1/o/<org_slug>/)
of the roi reports: campaign ROI, the funnel and the model comparison."""

from django.urls import path

from . import api_roi, views_roi

urlpatterns: list = [
    path("reports/roi/", views_roi.roi_page, name="report_roi"),
    path("reports/roi.csv", views_roi.roi_csv, name="report_roi_csv"),
    path("reports/roi/<uuid:public_id>/", views_roi.roi_detail_page, name="report_roi_detail"),
    path("reports/roi/<uuid:public_id>.csv", views_roi.roi_detail_csv, name="report_roi_detail_csv"),
    path("reports/funnel/", views_roi.funnel_page, name="report_funnel"),
    path("reports/funnel.csv", views_roi.funnel_csv, name="report_funnel_csv"),
    path("reports/models/", views_roi.models_page, name="report_models"),
    path("reports/models.csv", views_roi.models_csv, name="report_models_csv"),
]
api_urlpatterns: list = [
    path("reports/roi/", api_roi.RoiListView.as_view(), name="api_report_roi"),
    path("reports/roi/<uuid:public_id>/", api_roi.RoiDetailView.as_view(), name="api_report_roi_detail"),
    path("reports/funnel/", api_roi.FunnelView.as_view(), name="api_report_funnel"),
    path("reports/models/", api_roi.ModelsView.as_view(), name="api_report_models"),
]
