from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from ambassadors import api as ambassadors_api
from ambassadors.urls import public_urlpatterns as ambassadors_public
from campaigns import api as campaigns_api
from portal import views as portal_views
from tenancy import api as tenancy_api
from tenancy import views as tenancy_views
from tracking import api as tracking_api
from tracking import imports_api as tracking_imports_api

router = DefaultRouter(trailing_slash=True)
router.register("ambassadors", ambassadors_api.AmbassadorViewSet, basename="ambassador")
router.register("groups", ambassadors_api.GroupViewSet, basename="group")
router.register("campaigns", campaigns_api.CampaignViewSet, basename="campaign")
router.register(rf"campaigns/(?P<campaign_id>{campaigns_api.UUID_RE})/messages", campaigns_api.CampaignMessageViewSet,
                basename="campaign-message")
router.register(rf"campaigns/(?P<campaign_id>{campaigns_api.UUID_RE})/costs", campaigns_api.CampaignCostViewSet,
                basename="campaign-cost")
router.register("my/campaigns", campaigns_api.MyCampaignViewSet, basename="my-campaign")
router.register("my/links", campaigns_api.MyLinkViewSet, basename="my-link")
router.register("domains", campaigns_api.DomainViewSet, basename="domain")

# Everything of one organisation lives under /o/<org_slug>/ (the tenant middleware scopes it).
org_patterns = [
    path("", portal_views.org_home, name="org_home"),
    path("", include("tenancy.urls")),
    path("", include("ambassadors.urls")),
    path("", include("campaigns.urls")),
    path("", include("tracking.org_urls")),
    path("", include("reports.urls")),
    path("", include("portal.urls")),
]

urlpatterns = [
    path("", tenancy_views.home, name="home"),
    path("orgs/new/", tenancy_views.new_organization, name="new_organization"),
    path("o/<slug:org_slug>/", include(org_patterns)),
    *ambassadors_public,
    path("", include("tracking.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/me/", tenancy_api.MeView.as_view(), name="api_me"),
    # Machine endpoints: no slug, the organisation comes from the API key (tenancy.api_keys).
    path("api/v1/key/", tenancy_api.ApiKeyInfoView.as_view(), name="api_key_info"),
    path("api/v1/track/lead", tracking_api.TrackLeadView.as_view(), name="api_track_lead"),
    path("api/v1/track/sale", tracking_api.TrackSaleView.as_view(), name="api_track_sale"),
    path("api/v1/imports/", tracking_imports_api.KeyImportListCreateView.as_view(), name="api_key_conversion_imports"),
    path("api/v1/imports/<uuid:public_id>/", tracking_imports_api.KeyImportDetailView.as_view(),
         name="api_key_conversion_import_detail"),
    # The same with a trailing slash, left out of the schema (which shows the spelling).
    path("api/v1/track/lead/", tracking_api.TrackLeadView.as_view(schema=None)),
    path("api/v1/track/sale/", tracking_api.TrackSaleView.as_view(schema=None)),
    path("api/v1/o/<slug:org_slug>/", include(router.urls)),
    path("api/v1/o/<slug:org_slug>/", include(campaigns_api.urlpatterns)),  # links/<code>/qr.png|svg
    path("api/v1/o/<slug:org_slug>/", include("tracking.api_urls")),
    path("api/v1/o/<slug:org_slug>/", include("reports.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), not inline, and
    # templates/drf_spectacular/swagger_ui.html has no inline style: the site's strict CSP holds.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api_docs"),
]


def not_found(request, exception):
    """A URL no route matches: under /api/ a JSON error like every other API answer (the schema
    documents JSON 404s), elsewhere the site's 404 page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


handler404 = not_found
