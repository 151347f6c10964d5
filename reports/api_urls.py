"""The reports' API, under /api/v1/o/<org_slug>/ (config/urls.py includes this module there):
digest subscriptions, the programme report's PDF, the leaderboard, fair view and points rules,
campaign ROI, the funnel and the model comparison."""

from django.urls import path

from .api import ambassador, channels, digest, leaderboard, overview, pdf, roi

urlpatterns = [
    path("reports/digest/", digest.DigestSubscriptionsView.as_view(), name="api_report_digest"),
    path("reports/pdf/", pdf.ProgrammeReportsView.as_view(), name="api_report_pdfs"),
    path("reports/pdf/<uuid:public_id>/", pdf.ProgrammeReportView.as_view(), name="api_report_pdf_detail"),
    path("reports/leaderboard/", leaderboard.LeaderboardView.as_view(), name="api_report_leaderboard"),
    path("reports/leaderboard/fair/", leaderboard.FairView.as_view(), name="api_report_leaderboard_fair"),
    path("points-rules/", leaderboard.PointsRulesView.as_view(), name="api_points_rules"),
    path("reports/overview/", overview.OverviewView.as_view(), name="api_report_overview"),
    path("reports/roi/", roi.RoiListView.as_view(), name="api_report_roi"),
    path("reports/roi/<uuid:public_id>/", roi.RoiDetailView.as_view(), name="api_report_roi_detail"),
    path("reports/channels/", channels.ChannelsView.as_view(), name="api_report_channels"),
    path("reports/funnel/", roi.FunnelView.as_view(), name="api_report_funnel"),
    path("reports/models/", roi.ModelsView.as_view(), name="api_report_models"),
    path("ambassadors/<uuid:public_id>/performance/", ambassador.AmbassadorPerformanceView.as_view(),
         name="api_ambassador_performance"),
]
