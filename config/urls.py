from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from ambassadors import api as ambassadors_api
from ambassadors.urls import public_urlpatterns as ambassadors_public
from portal import views as portal_views
from tenancy import api as tenancy_api
from tenancy import views as tenancy_views

router = DefaultRouter(trailing_slash=True)
router.register("ambassadors", ambassadors_api.AmbassadorViewSet, basename="ambassador")
router.register("groups", ambassadors_api.GroupViewSet, basename="group")

# Everything of one organisation lives under /o/<org_slug>/ (the tenant middleware scopes it).
org_patterns = [
    path("", portal_views.org_home, name="org_home"),
    path("", include("tenancy.urls")),
    path("", include("ambassadors.urls")),
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
    path("api/v1/o/<slug:org_slug>/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api_docs"),
]
