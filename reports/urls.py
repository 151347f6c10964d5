"""The reports' pages, under /o/<org_slug>/ (config/urls.py includes this module there): the
dashboard and digest subscriptions, the leaderboard and points rules, campaign ROI, the funnel
and the model comparison, each page with its CSV export."""

from django.urls import path

from .views import ambassador, channels, digest, leaderboard, pdf, roi

urlpatterns = [
    path("reports/", digest.reports_home, name="reports_home"),
    path("reports/digest/", digest.report_digest, name="report_digest"),
    path("reports/leaderboard/", leaderboard.report_leaderboard, name="report_leaderboard"),
    path("reports/leaderboard.csv", leaderboard.report_leaderboard_csv, name="report_leaderboard_csv"),
    path("manage/points/", leaderboard.manage_points_rules, name="points_rules"),
    path("reports/roi/", roi.roi_page, name="report_roi"),
    path("reports/roi.csv", roi.roi_csv, name="report_roi_csv"),
    path("reports/roi/<uuid:public_id>/", roi.roi_detail_page, name="report_roi_detail"),
    path("reports/roi/<uuid:public_id>.csv", roi.roi_detail_csv, name="report_roi_detail_csv"),
    path("reports/channels.csv", channels.channels_csv, name="report_channels_csv"),
    path("reports/funnel/", roi.funnel_page, name="report_funnel"),
    path("reports/funnel.csv", roi.funnel_csv, name="report_funnel_csv"),
    path("reports/models/", roi.models_page, name="report_models"),
    path("reports/models.csv", roi.models_csv, name="report_models_csv"),
    path("reports/ambassadors/<uuid:public_id>/", ambassador.ambassador_performance_page, name="report_ambassador"),
    path("reports/ambassadors/<uuid:public_id>.csv", ambassador.ambassador_performance_csv,
         name="report_ambassador_csv"),
    path("reports/pdf/", pdf.programme_reports, name="report_pdfs"),
    path("reports/pdf/<uuid:public_id>.pdf", pdf.programme_report_download, name="report_pdf_download"),
]
