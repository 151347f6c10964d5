"""Tracking's pages: `urlpatterns` under /o/<org_slug>/ (scoped by the tenant middleware), and
`public_urlpatterns` at the site's root, for anyone: the short link's redirect and the snippet."""

from django.conf import settings
from django.urls import path, re_path

from .views import imports, rates, redirect, snippet
from .views import settings as settings_views

urlpatterns = [
    # Attribution settings (reporting model, window, half-life; recompute progress).
    path("manage/attribution/", settings_views.attribution_settings, name="attribution_settings"),
    # Exchange rates: the table, sales awaiting a rate, CSV upload (admins).
    path("manage/rates/", rates.exchange_rates, name="exchange_rates"),
    # CSV import of leads and sales.
    path("manage/imports/", imports.import_list, name="conversion_imports"),
    path("manage/imports/<uuid:public_id>/", imports.import_detail, name="conversion_import_detail"),
    path("manage/imports/<uuid:public_id>/rerun/", imports.import_rerun, name="conversion_import_rerun"),
    path("manage/imports/<uuid:public_id>/rejected.csv", imports.import_rejected,
         name="conversion_import_rejected"),
]

# Codes and suffixes are matched loosely here and validated in the view, so that junk
# gets the site's 404 page rather than a resolver miss with no page.
public_urlpatterns = [
    re_path(r"^l/(?P<code>[^/]{1,200})/?$", redirect.redirect, name="link_redirect"),
    re_path(r"^l/(?P<code>[^/]{1,200})/(?P<suffix>[^/]{1,20})/?$", redirect.redirect, name="link_redirect_channel"),
    path("js/amb.js", snippet.amb_js, name="amb_js"),
]

if settings.BENCH_VIEWS:
    public_urlpatterns.append(path("_bench/bare", redirect.bare_redirect, name="bench_bare"))
