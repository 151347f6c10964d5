"""GET /l/<code>[/<suffix>]: the hot path. Look the link up in process memory, make a
click id, write one durable record, answer 302. Everything else happens in Celery.

Rate limit (RATELIMIT_REDIRECT, per visitor address hash): over it the answer is 429 with a
short plain-text message and Retry-After, and no click is recorded; a 302 always means a
recorded click, never the other way round.

The visitor is the `amb_vid` cookie, or, for an organisation that turned it off
(TrackingSettings.visitor_cookie, read from process memory: tracking.visitor_cookies), a hash of
the day's random salt, the organisation, the address and the user agent (salts.hash_visitor)."""

import time

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.http.request import split_domain_port
from django.shortcuts import render
from django.views import defaults

from campaigns.channels import SUFFIX_TO_CHANNEL, channel_from_referrer
from campaigns.codes import is_valid_code
from campaigns.linkcache import link_cache
from common import ratelimits

from .. import capture
from ..ids import is_valid_id, new_click_id, new_visitor_id
from ..models import REFERRER_HOST_MAX, UA_MAX
from ..salts import hash_ip, hash_visitor
from ..visitor_cookies import visitor_cookie_policy

VISITOR_COOKIE = "amb_vid"
VISITOR_COOKIE_AGE = 365 * 24 * 3600


client_ip = ratelimits.client_ip  # REMOTE_ADDR, or the address our trusted proxies saw
_allowance = ratelimits.LocalAllowance()
TOO_MANY_CLICKS = "Too many clicks from your network in a short time. Please wait a minute and try again."


def over_click_limit(ip_hash: str, now: float) -> int | None:
    """Seconds to wait when this address is over RATELIMIT_REDIRECT, else None. An address's first
    few clicks of a window in this process skip the shared counter (ratelimits.LocalAllowance)."""
    rate = ratelimits.parse_rate(settings.RATELIMIT_REDIRECT)
    if rate is None:
        return None
    burst = min(settings.RATELIMIT_REDIRECT_LOCAL_BURST, rate[0] // 10)
    if _allowance.first_few(ip_hash, rate[1], burst, now):
        return None
    return ratelimits.hit("redirect", ip_hash, settings.RATELIMIT_REDIRECT)


def referrer_host(request) -> str:
    referrer = request.META.get("HTTP_REFERER", "")
    if not referrer:
        return ""
    # Cheaper than urlsplit and enough for a host: scheme://host[:port]/...
    rest = referrer.partition("//")[2] if "//" in referrer else referrer
    host = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2].split(":", 1)[0]
    return capture.clean_text(host.lower(), REFERRER_HOST_MAX)


def request_host(request) -> str:
    return split_domain_port(request.get_host())[0]


def redirect(request, code, suffix=None):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    channel_hint = ""
    if suffix is not None:
        channel_hint = SUFFIX_TO_CHANNEL.get(suffix, "")
        if not channel_hint:
            return unknown_link(request)
    if not is_valid_code(code):
        return unknown_link(request)
    target = link_cache.get(code)
    if target is None:
        return unknown_link(request)
    host = request_host(request)
    if host not in settings.PLATFORM_HOSTS and host not in target.hosts:
        return unknown_link(request)  # a code of another organisation on this custom domain

    now = time.time()
    if not target.is_live(now):
        return inactive(request, target)

    ip = client_ip(request)
    ip_hash = hash_ip(ip, now)
    wait = None if ratelimits.exempt(ip) else over_click_limit(ip_hash, now)
    if wait is not None:
        return ratelimits.too_many_text(wait, TOO_MANY_CLICKS)
    user_agent = capture.clean_text(request.META.get("HTTP_USER_AGENT", ""), UA_MAX)
    new_visitor = False
    if visitor_cookie_policy.uses_cookie(target.organization_id):
        visitor_id = request.COOKIES.get(VISITOR_COOKIE, "")
        new_visitor = not is_valid_id(visitor_id)
        if new_visitor:
            visitor_id = new_visitor_id()
    else:
        # The organisation keeps no cookie: neither set nor read; one visitor per browser, address and day.
        visitor_id = hash_visitor(target.organization_id, ip, user_agent, now)
    referrer = referrer_host(request)
    click_id = new_click_id(now)
    capture.record(capture.ClickRecord(
        click_id=click_id,
        organization_id=target.organization_id,
        link_id=target.link_id,
        clicked_at=now,
        visitor_id=visitor_id,
        ip_hash=ip_hash,
        user_agent=user_agent,
        referrer_host=referrer,
        channel_hint=channel_hint,
        is_head=request.method == "HEAD",
    ))

    response = HttpResponse(status=302)
    response["Location"] = target.destination(channel_hint or channel_from_referrer(referrer) or "direct", click_id)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer-when-downgrade"
    if new_visitor:
        set_visitor_cookie(response, visitor_id, request.is_secure())
    return response


def unknown_link(request):
    """The site's own 404 page, with DEBUG on too: whoever follows a mistyped or deleted link is a
    visitor, never someone debugging, and Django's debug page would list every URL pattern."""
    response = defaults.page_not_found(request, Http404("Unknown link."))
    response["Cache-Control"] = "no-store"
    return response


def set_visitor_cookie(response, visitor_id: str, secure: bool) -> None:
    # The morsel by hand: half the cost of set_cookie(), which also formats an Expires date.
    response.cookies[VISITOR_COOKIE] = visitor_id
    morsel = response.cookies[VISITOR_COOKIE]
    morsel["max-age"] = VISITOR_COOKIE_AGE
    morsel["path"] = "/"
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if secure:
        morsel["secure"] = True


def inactive(request, target):
    """A paused or ended campaign: its fallback address, or a friendly page."""
    if target.fallback_url:
        response = HttpResponse(status=302)
        response["Location"] = target.fallback_url
    else:
        response = render(request, "tracking/link_inactive.html", status=410)
    response["Cache-Control"] = "no-store"
    return response


def bare_redirect(request):
    """Benchmark baseline only (BENCH_VIEWS=1): a fixed 302 through the same stack."""
    response = HttpResponse(status=302)
    response["Location"] = "https://www.example.com/landing?utm_source=bench"
    response["Cache-Control"] = "no-store"
    return response
