"""GET /js/amb.js: the browser snippet customers put on their own site (static/js/amb.js).
Served by Django rather than /static/ so its URL stays stable (no hashed file name) and short."""

from functools import cache

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotAllowed

SNIPPET_PATH = settings.BASE_DIR / "static" / "js" / "amb.js"


@cache
def snippet_bytes() -> bytes:
    """Read once per process."""
    return SNIPPET_PATH.read_bytes()


def amb_js(request):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    response = HttpResponse(snippet_bytes(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response
