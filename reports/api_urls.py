"""The reports' API, under /api/v1/o/<org_slug>/ (see urls_*.py for each family)."""

from . import urls_digest, urls_leaderboard, urls_roi

urlpatterns = [*urls_digest.api_urlpatterns, *urls_leaderboard.api_urlpatterns, *urls_roi.api_urlpatterns]
