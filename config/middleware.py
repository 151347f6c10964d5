"""Request hygiene before any view runs (listed in MIDDLEWARE, config/settings.py)."""

import io
import logging

import csp.middleware
from csp.constants import HEADER
from csp.middleware import CheckableLazyObject
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.views import defaults

from tenancy.middleware import UNTENANTED_PREFIXES

logger = logging.getLogger(__name__)
NUL_REFUSED = "Bad request: NUL characters (%00) are not accepted in addresses or form fields."
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefuseNulMiddleware:
    """A NUL character never reaches a view: PostgreSQL can neither store nor compare text with
    one, so a hand-made ?q=%00 or form field would be a 500 wherever it meets a query. A path,
    query string or form field (names and values) holding one is a 400 with a message; a cookie
    holding one is ignored (as if absent: a mangled session cookie logs out rather than locks out).
    Bodies under /api/ are the API's parsers' and fields' to check (tenancy.drf; DRF's text fields
    refuse NUL). The redirect and static files are left alone: they read no query or form."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(UNTENANTED_PREFIXES):
            return self.get_response(request)
        if "\x00" in request.path_info or "%00" in request.META.get("QUERY_STRING", ""):
            return self.refuse(request)
        if "\x00" in request.META.get("HTTP_COOKIE", "") or "\\000" in request.META.get("HTTP_COOKIE", ""):
            request.COOKIES = {name: value for name, value in request.COOKIES.items() if "\x00" not in value}
        if request.path_info.startswith("/api/"):
            return self.api_body(request)
        if request.method == "POST" and request.content_type in FORM_TYPES and not self.large_upload(request):
            try:
                has_nul = any("\x00" in key or any("\x00" in value for value in values)
                              for key, values in request.POST.lists())
            except MultiPartParserError as error:
                return self.unreadable(request, error)
            if has_nul:
                return self.refuse(request)
        return self.get_response(request)

    def api_body(self, request):
        """The API's body is its parsers' (tenancy.drf: JSON only, typed; the CSV import's multipart
        upload), which refuse NUL, bad encodings and oversized bodies with a JSON 4xx, and answer 415
        for a type they don't take. Reading request.POST here would consume a form body a JSON
        endpoint would then see as empty ("field required" instead of 415). Only a multipart body
        whose boundary can't be used is refused here, by its header alone: a JSON 400 for anyone."""
        if request.content_type == "multipart/form-data":
            try:
                MultiPartParser(request.META, io.BytesIO(), [], request.encoding)
            except MultiPartParserError as error:
                return self.unreadable(request, error)
        return self.get_response(request)

    @staticmethod
    def unreadable(request, error):
        """A multipart body Django can't read (no boundary, say): a 400 and one log line, not
        Django's traceback — anyone can send one, signed in or not. JSON {"detail": …} under /api/,
        like every API answer; the site's 400 page elsewhere."""
        request._mark_post_parse_error()  # nothing reads the half-parsed body again
        if request.path_info.startswith("/api/"):
            response = JsonResponse({"detail": f"Multipart form parse error - {error}"}, status=400)
        else:
            response = defaults.bad_request(request, error)
        logger.warning("%s: %s %s (%s)", response.reason_phrase, request.method, request.path, error)
        response._has_been_logged = True  # this line is the request's: Django's handler adds none
        return response

    @staticmethod
    def large_upload(request) -> bool:
        """A multipart body declared larger than MULTIPART_SCAN_MAX_BYTES is not read here: the view
        refuses it by its declared size before reading (a 50 MB "image" must not be parsed to disk
        first), and Django forms refuse NUL in text fields themselves."""
        if request.content_type != "multipart/form-data":
            return False
        try:
            return int(request.META.get("CONTENT_LENGTH") or 0) > settings.MULTIPART_SCAN_MAX_BYTES
        except ValueError:
            return False

    @staticmethod
    def refuse(request):
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": NUL_REFUSED}, status=400)
        return HttpResponseBadRequest(NUL_REFUSED, content_type="text/plain; charset=utf-8")


class CSPMiddleware(csp.middleware.CSPMiddleware):
    """django-csp's middleware, with the site-wide policy built once rather than per response
    (~70 µs each: a fair share of the redirect's budget). Responses with their own policy
    (csp_update, csp_replace, csp_exempt, a nonce) and DEBUG's error pages go the usual way."""

    _OWN = ("_csp_config", "_csp_update", "_csp_replace", "_csp_exempt", "_csp_config_ro", "_csp_update_ro",
            "_csp_replace_ro", "_csp_exempt_ro")
    _cached: tuple = (None, "")

    def process_response(self, request, response):
        config = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        if (config is None or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None) or settings.DEBUG
                or getattr(request, "_csp_nonce", None) is not None or HEADER in response
                or any(hasattr(response, name) for name in self._OWN)
                or request.path_info.startswith(tuple(config.get("EXCLUDE_URL_PREFIXES") or ()))):
            return super().process_response(request, response)
        cached_for, policy = CSPMiddleware._cached
        if cached_for is not config:  # settings changed (tests): build again
            policy = build_policy()
            CSPMiddleware._cached = (config, policy)
        if policy:
            response[HEADER] = policy
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
