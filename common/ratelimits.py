"""Rate limits: django-ratelimit counters in the shared cache (Redis when REDIS_URL is set,
per process otherwise), keyed by hashes, never by a client's address; and the 429 answers.

The rates are settings (RATELIMIT_* in config/settings.py, from the environment); an empty
rate switches a limit off. Counting fails open: when the cache cannot be reached a request
passes, so a limiter is never what takes a page down or loses a click.

Where they apply: the tracking API per API key (tracking.api.track), the /l/<code> redirect per
visitor address hash (tracking.views.redirect, with a per-process allowance, see `LocalAllowance`),
the join and invitation pages per address hash and per invitation token (ambassadors.views).
Log-in and sign-up use allauth's own limits (ACCOUNT_RATE_LIMITS), keyed on the hash the
account adapter gives allauth in place of the address."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import threading
import time
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

log = logging.getLogger(__name__)

IPV6_PREFIX = 64  # one IPv6 client usually has a whole /64: count it as one address


def client_ip(request) -> str:
    """REMOTE_ADDR, or the address our trusted proxies saw (never a client-supplied header otherwise)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def exempt(ip: str) -> bool:
    """Addresses in RATELIMIT_EXEMPT_NETWORKS (default: loopback and private networks) are not
    limited by address: health checks, local benchmarks, and a proxy or load balancer that
    TRUSTED_PROXY_COUNT does not declare — where every visitor would otherwise share one
    address and the redirect would refuse them all."""
    networks = _networks(tuple(settings.RATELIMIT_EXEMPT_NETWORKS))
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


def address_hash(ip: str) -> str:
    """A keyed hash (HMAC-SHA256 with SECRET_KEY) of a client address, IPv6 addresses by their /64.
    Without the secret key nobody can tell which address it is (a plain hash of the 2³² IPv4
    addresses is reversed in minutes). The redirect uses the click's own daily-salted ip_hash
    instead (tracking.salts); the layers below tracking cannot reach that salt."""
    try:
        address = ipaddress.ip_address(ip)
        if address.version == 6:
            ip = str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False).network_address)
    except ValueError:
        pass
    return hmac.new(settings.SECRET_KEY.encode(), b"ratelimit:" + ip.encode(), hashlib.sha256).hexdigest()[:32]


def address_key(request) -> str | None:
    """The request's address hash for an address-keyed limit; None for an exempt address."""
    ip = client_ip(request)
    return None if exempt(ip) else address_hash(ip)


@lru_cache(maxsize=32)
def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """("120/m") → (120, 60); None for an empty (switched off) rate."""
    if not rate or not rate.strip():
        return None
    count, _, period = rate.strip().partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[-1:]] * int(period[:-1] or 1)
    return int(count), seconds


# After a cache failure the limits aren't checked for this long (per process): a Redis that hangs
# would otherwise cost every request its timeout (tests/reliability/test_broker_down.py).
CACHE_RETRY_SECONDS = 5.0
_cache_down_until = 0.0


def hit(group: str, key: str, rate: str | None) -> int | None:
    """Count one request of `key` in `group` against `rate` ("30/m"). Over the limit: the
    seconds to wait (for Retry-After); else None. None too when the cache fails, and for
    CACHE_RETRY_SECONDS after it failed."""
    global _cache_down_until
    if not rate or not rate.strip():
        return None
    if time.monotonic() < _cache_down_until:
        return None
    try:
        usage = get_usage(None, group=group, key=lambda _group, _request: key, rate=rate.strip(), increment=True)
    except Exception:  # noqa: BLE001 - an unreachable cache must not fail the request
        _cache_down_until = time.monotonic() + CACHE_RETRY_SECONDS  # after the failure, which may be a timeout
        log.warning("rate limit %s not checked: the cache failed; not asking it for %s s", group,
                    CACHE_RETRY_SECONDS, exc_info=True)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, int(usage["time_left"]))


class LocalAllowance:
    """Per process, the first `burst` requests of a key in the current window skip the shared
    counter (one cache round trip saved per request on the redirect, whose visitors mostly
    click once or twice). A process that has seen more asks the shared counter; so with P
    processes at most P × burst requests go uncounted: the limit is exact to within that.
    Memory is bounded: past MAX_KEYS keys in a window, every further key asks the counter."""

    MAX_KEYS = 100_000

    def __init__(self):
        self._window = -1
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def first_few(self, key: str, period: int, burst: int, now: float) -> bool:
        if burst <= 0:
            return False
        window = int(now) // period
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            seen = self._counts.get(key)
            if seen is None and len(self._counts) >= self.MAX_KEYS:
                return False
            seen = (seen or 0) + 1
            self._counts[key] = seen
        return seen <= burst

    def clear(self) -> None:
        with self._lock:
            self._window, self._counts = -1, {}


def retry_after(response: HttpResponse, seconds: int) -> HttpResponse:
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response


def too_many_page(request, seconds: int, message: str) -> HttpResponse:
    """The browser's answer: a readable page, status 429, Retry-After."""
    return retry_after(render(request, "429.html", {"message": message, "retry_after": seconds}, status=429), seconds)


def too_many_text(seconds: int, message: str) -> HttpResponse:
    """The cheapest answer, for the redirect: plain text, status 429, Retry-After."""
    return retry_after(HttpResponse(f"{message}\n", status=429, content_type="text/plain; charset=utf-8"), seconds)


def limit_page(request, *checks: tuple[str, str | None, str | None], message: str) -> HttpResponse | None:
    """Count the request in each (group, key, rate) (a None key is skipped); the 429 page if any
    is over its limit."""
    waits = [wait for group, key, rate in checks if key is not None and (wait := hit(group, key, rate)) is not None]
    return too_many_page(request, max(waits), message) if waits else None


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]
