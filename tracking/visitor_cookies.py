"""Whether the redirect sets and reads the visitor cookie `amb_vid` for an organisation
(TrackingSettings.visitor_cookie), kept in process memory: the redirect is the hot path and must
not pay a query per click.

An organisation's answer is read from the database at most once per POLICY_TTL_SECONDS per
process, so a change reaches every process within that time (this process's at once:
tracking.services.tracking_settings forgets it after the commit). If the database cannot answer,
the last answer is kept (the cookie, the default, when there was none) and asked again after the
same delay: the redirect never fails, or waits twice, on it."""

import logging
import threading
import time

from django.db import DatabaseError
from django_scopes import scopes_disabled

from .models import TrackingSettings

POLICY_TTL_SECONDS = 10.0
MAX_ENTRIES = 100_000  # bound memory; one entry per organisation seen

log = logging.getLogger(__name__)


class VisitorCookiePolicy:
    def __init__(self):
        self._entries: dict[int, tuple[bool, float]] = {}  # organisation id → (cookie on, read at)
        self._lock = threading.Lock()

    def uses_cookie(self, organization_id: int) -> bool:
        now = time.monotonic()
        hit = self._entries.get(organization_id)
        if hit is not None and now - hit[1] < POLICY_TTL_SECONDS:
            return hit[0]
        try:
            value = self._load(organization_id)
        except DatabaseError:
            value = True if hit is None else hit[0]
            log.warning("Visitor cookie policy: the database failed; keeping %s for organisation %s", value,
                        organization_id, exc_info=True)
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries = {}
            self._entries[organization_id] = (value, now)
        return value

    @staticmethod
    def _load(organization_id: int) -> bool:
        # The redirect has no tenant scope; the query is keyed by the link's own organisation.
        with scopes_disabled():
            value = (TrackingSettings.objects.filter(organization_id=organization_id)
                     .values_list("visitor_cookie", flat=True).first())
        return True if value is None else value

    def forget(self, organization_id: int) -> None:
        with self._lock:
            self._entries.pop(organization_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries = {}


visitor_cookie_policy = VisitorCookiePolicy()
