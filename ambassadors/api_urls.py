"""Ambassadors' API, under /api/v1/o/<org_slug>/: ambassadors/ and groups/ (each route also with
a format suffix, e.g. ambassadors.json). The API root at /api/v1/o/<org_slug>/ that lists them
is portal/api_urls.py's."""

from rest_framework.routers import SimpleRouter
from rest_framework.urlpatterns import format_suffix_patterns

from .api import AmbassadorViewSet, GroupViewSet

router = SimpleRouter(trailing_slash=True)
router.register("ambassadors", AmbassadorViewSet, basename="ambassador")
router.register("groups", GroupViewSet, basename="group")

urlpatterns = format_suffix_patterns(router.urls)
