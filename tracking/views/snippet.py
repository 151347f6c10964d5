"""GET /js/amb.js: the browser snippet customers put on their own site (static/js/amb.js).
Served by Django rather than /static/ so its URL stays stable (no hashed file name) and short.

`?org=<slug>` serves the organisation's tracking settings inside the file (the snippet's
`var served = {};` becomes `var served = {"mode": …, "days": …};`), so the customer's page needs
no inline script and a change of mode reaches visitors as their copy expires (SNIPPET_MAX_AGE).
An unknown or malformed slug is a 404 / 400, so a typo shows in the browser's console at once."""

import json
import re
from functools import cache

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotAllowed
from django_scopes import scopes_disabled

from tenancy.models import Organization

from ..services.tracking_settings import current_tracking, snippet_config

SNIPPET_PATH = settings.BASE_DIR / "static" / "js" / "amb.js"
SERVED_PLACEHOLDER = b"var served = {};"
SNIPPET_MAX_AGE = 3600  # the plain file
CONFIGURED_MAX_AGE = 300  # with an organisation's settings: a change of mode reaches visitors within 5 minutes
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")
CONTENT_TYPE = "application/javascript; charset=utf-8"


@cache
def snippet_bytes() -> bytes:
    """Read once per process."""
    return SNIPPET_PATH.read_bytes()


def configured_snippet(config: dict) -> bytes:
    served = b"var served = " + json.dumps(config, sort_keys=True).encode() + b";"
    return snippet_bytes().replace(SERVED_PLACEHOLDER, served, 1)


def _refused(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def amb_js(request):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    slug = request.GET.get("org")
    if slug is None:
        body, max_age = snippet_bytes(), SNIPPET_MAX_AGE
    else:
        if not SLUG_RE.match(slug):
            return _refused(400, "org must be your organisation's slug: letters, digits, - and _, at most 50.")
        with scopes_disabled():  # a public file: the organisation comes from the query, nothing else is read
            organization_id = Organization.objects.filter(slug=slug).values_list("pk", flat=True).first()
        if organization_id is None:
            return _refused(404, f"No organisation {slug!r}: check the org= of the snippet's address.")
        body, max_age = configured_snippet(snippet_config(current_tracking(organization_id))), CONFIGURED_MAX_AGE
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Cache-Control"] = f"public, max-age={max_age}"
    return response
