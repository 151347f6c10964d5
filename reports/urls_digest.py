"""Pages (urlpatterns, under /o/<org_slug>/) and API (api_urlpatterns, under /api/v1/o/<org_slug>/)
of the reports dashboard and the e-mail digest."""

from django.urls import path

from . import api_digest, views_digest

urlpatterns = [
    path("reports/", views_digest.reports_home, name="reports_home"),
    path("reports/digest/", views_digest.report_digest, name="report_digest"),
]
api_urlpatterns = [
    path("reports/digest/", api_digest.DigestSubscriptionsView.as_view(), name="api_report_digest"),
]
