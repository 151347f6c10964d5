"""Pages (urlpatterns, under /o/<org_slug>/) and API (api_urlpatterns, under /api/v1/o/<org_slug>/)
of the leaderboard reports."""

from django.urls import path

from . import api_leaderboard, views_leaderboard

urlpatterns: list = [
    path("reports/leaderboard/", views_leaderboard.report_leaderboard, name="report_leaderboard"),
    path("reports/leaderboard.csv", views_leaderboard.report_leaderboard_csv, name="report_leaderboard_csv"),
    path("manage/points/", views_leaderboard.manage_points_rules, name="points_rules"),
]
api_urlpatterns: list = [
    path("reports/leaderboard/", api_leaderboard.LeaderboardView.as_view(), name="api_report_leaderboard"),
    path("reports/leaderboard/fair/", api_leaderboard.FairView.as_view(), name="api_report_leaderboard_fair"),
    path("points-rules/", api_leaderboard.PointsRulesView.as_view(), name="api_points_rules"),
]
