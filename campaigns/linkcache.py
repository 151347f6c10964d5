"""What the redirect needs to know about a link, kept in process memory.

The redirect must not pay a network round trip per request, so each process keeps the
links it has served in a dict. Invalidation is cheap: any change to a campaign, link or
domain bumps a generation number (in the shared cache — Redis in production — or, in
the embedded mode where the cache is per process, a file under VAR_DIR). A process
looks at the generation at most once per GENERATION_CHECK_SECONDS and drops its dict
when it moved, so a change reaches every process within that delay. On a miss the
entry is built from the database (one query) and shared through the cache."""

import logging
import os
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.cache import cache
from django_scopes import scopes_disabled

from .channels import Channel
from .models import Campaign, CampaignStatus, Domain, TrackedLink

GENERATION_KEY = "linkcache:generation"
ENTRY_KEY = "linkcache:v1:{generation}:{code}"
GENERATION_CHECK_SECONDS = float(os.environ.get("LINK_CACHE_CHECK_SECONDS", "1.0"))
ENTRY_TTL_SECONDS = 300  # a safety net: even without invalidation, entries are rebuilt this often
GENERATION_TTL = 7 * 24 * 3600  # if it lapses, the next read starts a new generation: harmless
MISSING = "missing"  # negative entries keep a flood of unknown codes off the database
# When the shared cache fails (Redis down or hung, often with the broker on the same server),
# links come from process memory and the database, and the cache is left alone this long.
CACHE_RETRY_SECONDS = 5.0

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LinkTarget:
    link_id: int
    organization_id: int
    campaign_id: int
    ambassador_id: int
    ambassador_user_id: int | None
    status: str
    starts_at: float | None  # epoch seconds: cheap to compare on the hot path
    ends_at: float | None
    # Per channel: the destination with UTM parameters and "amb_cid=" last in the query,
    # split around the spot where the click id goes.
    destinations: dict
    fallback_url: str
    hosts: frozenset  # the organisation's verified custom domains

    def is_live(self, now: float) -> bool:
        return (self.status == CampaignStatus.ACTIVE and (self.starts_at is None or self.starts_at <= now)
                and (self.ends_at is None or now < self.ends_at))

    def destination(self, channel: str, click_id: str) -> str:
        before, after = self.destinations.get(channel) or self.destinations[Channel.DIRECT]
        return before + click_id + after


def destination_with_parameters(url: str, parameters: dict[str, str]) -> tuple[str, str]:
    """`url` with `parameters` merged into its query (ours replace same-named keys, the
    rest and the fragment are kept) and amb_cid last, split where the click id goes."""
    parts = urlsplit(url)
    ours = {key: value for key, value in parameters.items() if value}
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours and k != "amb_cid"]
    query += list(ours.items())
    encoded = urlencode(query)
    prefix = urlunsplit((parts.scheme, parts.netloc, parts.path, encoded, ""))
    prefix += ("&" if encoded else "?") + "amb_cid="
    return prefix, ("#" + parts.fragment if parts.fragment else "")


def utm_parameters(campaign: Campaign, ambassador, channel: str) -> dict[str, str]:
    values = {"channel": channel, "campaign": campaign.slug, "ambassador": str(ambassador.public_id)[:8],
              "kind": ambassador.kind}

    def fill(template: str) -> str:
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            return template  # an unknown placeholder is kept as written rather than failing the redirect

    return {
        "utm_source": fill(campaign.utm_source), "utm_medium": fill(campaign.utm_medium),
        "utm_campaign": fill(campaign.utm_campaign), "utm_content": fill(campaign.utm_content),
        "utm_term": fill(campaign.utm_term),
    }


def build_target(code: str) -> LinkTarget | None:
    # The redirect knows the code, not yet the organisation: this lookup spans tenants
    # by design, and everything after it is keyed by the link's own organisation.
    with scopes_disabled():
        link = (TrackedLink.objects.select_related("campaign", "ambassador").filter(code=code).first())
        if link is None:
            return None
        campaign, ambassador = link.campaign, link.ambassador
        hosts = frozenset(Domain.objects.filter(organization_id=link.organization_id, verified=True)
                          .values_list("host", flat=True))
    destinations = {
        channel: destination_with_parameters(campaign.destination_url, utm_parameters(campaign, ambassador, channel))
        for channel in Channel.values
    }
    return LinkTarget(
        link_id=link.pk, organization_id=link.organization_id, campaign_id=campaign.pk,
        ambassador_id=ambassador.pk, ambassador_user_id=ambassador.user_id, status=campaign.status,
        starts_at=campaign.starts_at.timestamp() if campaign.starts_at else None,
        ends_at=campaign.ends_at.timestamp() if campaign.ends_at else None,
        destinations=destinations, fallback_url=campaign.fallback_url, hosts=hosts,
    )


class _GenerationSource:
    """Where the generation lives: the shared cache when it is shared, else a file."""

    @staticmethod
    def shared() -> bool:
        return not settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")

    @staticmethod
    def path():
        return settings.VAR_DIR / "linkcache.generation"

    def read(self) -> str:
        if self.shared():
            value = cache.get(GENERATION_KEY)
            if value is None:
                cache.add(GENERATION_KEY, 1, timeout=GENERATION_TTL)
                value = cache.get(GENERATION_KEY, 1)
            return str(value)
        try:
            return str(self.path().stat().st_mtime_ns)
        except FileNotFoundError:
            return "0"

    def bump(self) -> None:
        if self.shared():
            try:
                cache.incr(GENERATION_KEY)
            except ValueError:
                cache.set(GENERATION_KEY, int(time.time() * 1000), timeout=GENERATION_TTL)
        else:
            path = self.path()
            path.touch()
            os.utime(path, ns=(time.time_ns(), time.time_ns()))


class LinkCache:
    def __init__(self):
        self._entries: dict[str, tuple[LinkTarget | None, float]] = {}
        self._generation: str | None = None
        self._checked_at = 0.0
        self._cache_down_until = 0.0
        self._lock = threading.Lock()
        self._source = _GenerationSource()

    def _cache_failed(self, what: str) -> None:
        """The redirect must not fail, or wait, on the cache: serve from memory and the database
        (entries still expire after ENTRY_TTL_SECONDS) and try the cache again later."""
        self._cache_down_until = time.monotonic() + CACHE_RETRY_SECONDS  # after the failure, which may be a timeout
        log.warning("Link cache: the shared cache failed (%s); not using it for %s s", what, CACHE_RETRY_SECONDS,
                    exc_info=True)

    def _refresh_generation(self, now: float) -> None:
        if now - self._checked_at < GENERATION_CHECK_SECONDS or now < self._cache_down_until:
            return
        try:
            generation = self._source.read()
        except Exception:  # noqa: BLE001 - any cache backend's error: keep the links we have
            self._cache_failed("reading the generation")
            return
        with self._lock:
            if generation != self._generation:
                self._entries = {}
                self._generation = generation
            self._checked_at = now

    def get(self, code: str) -> LinkTarget | None:
        now = time.monotonic()
        self._refresh_generation(now)
        hit = self._entries.get(code)
        if hit is not None and now - hit[1] < ENTRY_TTL_SECONDS:
            return hit[0]
        target = self._load(code)
        if len(self._entries) > 100_000:  # bound memory under a flood of distinct codes
            self._entries = {}
        self._entries[code] = (target, now)
        return target

    def _load(self, code: str) -> LinkTarget | None:
        key = ENTRY_KEY.format(generation=self._generation, code=code)
        shared = self._source.shared() and time.monotonic() >= self._cache_down_until
        if shared:
            try:
                cached = cache.get(key)
            except Exception:  # noqa: BLE001 - the database has the answer
                self._cache_failed("reading a link")
                shared, cached = False, None
            if cached is not None:
                return None if cached == MISSING else cached
        target = build_target(code)
        if shared:
            try:
                cache.set(key, MISSING if target is None else target, timeout=ENTRY_TTL_SECONDS)
            except Exception:  # noqa: BLE001 - the next process builds it again
                self._cache_failed("storing a link")
        return target

    def clear(self) -> None:
        with self._lock:
            self._entries = {}
            self._checked_at = 0.0
            self._cache_down_until = 0.0


link_cache = LinkCache()


def invalidate_links() -> None:
    """Every process drops its cached links within GENERATION_CHECK_SECONDS; this one at once."""
    _GenerationSource().bump()
    link_cache.clear()
