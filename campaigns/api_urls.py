"""Campaigns' API, under /api/v1/o/<org_slug>/: campaigns/ with their messages/ and costs/,
my/campaigns/, my/links/, domains/ (each route also with a format suffix, e.g. campaigns.json),
and links/<code>/qr.png|svg. The API root at /api/v1/o/<org_slug>/ that lists them is
portal/api_urls.py's."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter
from rest_framework.urlpatterns import format_suffix_patterns

from .api import (
    CODE_RE,
    UUID_RE,
    CampaignCostViewSet,
    CampaignMessageViewSet,
    CampaignViewSet,
    DomainViewSet,
    LinkQRView,
    MyCampaignViewSet,
    MyLinkViewSet,
)

router = SimpleRouter(trailing_slash=True)
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register(rf"campaigns/(?P<campaign_id>{UUID_RE})/messages", CampaignMessageViewSet,
                basename="campaign-message")
router.register(rf"campaigns/(?P<campaign_id>{UUID_RE})/costs", CampaignCostViewSet, basename="campaign-cost")
router.register("my/campaigns", MyCampaignViewSet, basename="my-campaign")
router.register("my/links", MyLinkViewSet, basename="my-link")
router.register("domains", DomainViewSet, basename="domain")

urlpatterns = [
    *format_suffix_patterns(router.urls),
    # A file name with a dot needs its own pattern (no format suffix).
    re_path(rf"^links/(?P<code>{CODE_RE})/qr\.(?P<fmt>png|svg)$", LinkQRView.as_view(), name="link_qr"),
]
