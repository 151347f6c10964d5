"""The reports' pages, under /o/<org_slug>/ (see urls_*.py for each family)."""

from . import urls_digest, urls_leaderboard, urls_roi

urlpatterns = [*urls_digest.urlpatterns, *urls_leaderboard.urlpatterns, *urls_roi.urlpatterns]
