"""The site's URLs, put together from the apps' own: every app exports urls.py and api_urls.py.

* urls.py: `urlpatterns`, the pages of one organisation, under /o/<org_slug>/;
  `public_urlpatterns`, pages at the site's root (the home page, sign-up for an organisation,
  join and invitation pages, the short links, the snippet);
* api_urls.py: `urlpatterns`, the API of one organisation, under /api/v1/o/<org_slug>/;
  `public_urlpatterns`, under /api/v1/ for the signed-in user; `key_urlpatterns`, the machine
  endpoints under /api/v1/, whose organisation is the API key's (tenancy.api_keys).

Everything under an organisation's slug is scoped to it by the tenant middleware. This module
only adds what belongs to the site as a whole: sign-in (allauth), the admin, the OpenAPI schema
and its docs, and the error handlers (JSON under /api/)."""

from importlib import import_module

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import DisallowedHost, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# The apps with routes, lowest layer first (their patterns are tried in this order).
APPS = ("tenancy", "ambassadors", "campaigns", "tracking", "rewards", "reports", "notifications", "integrations",
        "portal")


def app_patterns(module: str, name: str) -> list:
    """The `name` list of every app's `module` (urls or api_urls); an app without one adds none."""
    return [pattern for app in APPS for pattern in getattr(import_module(f"{app}.{module}"), name, [])]


urlpatterns = [
    path("o/<slug:org_slug>/", include([path("", include(f"{app}.urls")) for app in APPS])),
    *app_patterns("urls", "public_urlpatterns"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(app_patterns("api_urls", "public_urlpatterns"))),
    path("api/v1/", include(app_patterns("api_urls", "key_urlpatterns"))),
    path("api/v1/o/<slug:org_slug>/", include([path("", include(f"{app}.api_urls")) for app in APPS])),
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


def bad_request(request, exception):
    """Django's own 400s, outside the API's parsers (a bad Host header, a body read too early):
    JSON under /api/, 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE as tenancy.drf answers it."""
    if not request.path_info.startswith("/api/"):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        limit_kb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
        return JsonResponse({"detail": f"Request body too large: at most {limit_kb} kB."}, status=413)
    if isinstance(exception, DisallowedHost):
        return JsonResponse({"detail": "Bad request: the Host header names no host of this site."}, status=400)
    if isinstance(exception, TooManyFieldsSent):
        return JsonResponse({"detail": f"Too many fields: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}."},
                            status=400)
    if isinstance(exception, TooManyFilesSent):
        return JsonResponse({"detail": f"Too many files: at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES}."},
                            status=400)
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request, exception):
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)
    return defaults.permission_denied(request, exception)


def server_error(request):
    """An unexpected error: under /api/ a JSON error without details (the traceback goes to the
    log and the error tracker, never into the answer), elsewhere the site's 500 page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)


handler400 = bad_request
handler403 = permission_denied
handler404 = not_found
handler500 = server_error
