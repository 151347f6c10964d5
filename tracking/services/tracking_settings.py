"""An organisation's tracking settings (TrackingSettings): the mode of the snippet amb.js on its
own site, the lifetime of the snippet's cookie, and whether the redirect keeps a visitor cookie.

* full: amb.js keeps the click id in a first-party cookie (`cookie_days`) and localStorage;
* consent: amb.js stores nothing, and fills no form, until the visitor consents (amb.consent(true),
  Google Consent Mode's analytics_storage granted, or IAB TCF v2 purpose 1);
* cookieless: amb.js stores nothing; the click id travels in the site's own links and forms.

Without the visitor cookie the redirect tells visitors apart by a daily-salted hash of address and
user agent (tracking.salts.hash_visitor). A change reaches the snippet as its cached copy expires
(SNIPPET_MAX_AGE) and the redirect within tracking.visitor_cookies.POLICY_TTL_SECONDS."""

from __future__ import annotations

from django.db import transaction

from tenancy.scoping import tenant_scope
from tracking.models import COOKIE_DAYS_MAX, COOKIE_DAYS_MIN, TrackingMode, TrackingSettings
from tracking.services.attribution_settings import SettingsError
from tracking.visitor_cookies import visitor_cookie_policy

__all__ = ["SettingsError", "change_tracking", "current_tracking", "snippet_config", "tracking_settings_for"]


def tracking_settings_for(organization_id: int) -> TrackingSettings:
    """The organisation's row, created with the defaults (full, 30 days, visitor cookie on) on first use."""
    with tenant_scope(organization_id):
        settings, _ = TrackingSettings.objects.get_or_create(organization_id=organization_id)
        return settings


def current_tracking(organization_id: int) -> TrackingSettings:
    """The organisation's settings for reading (public pages): the defaults, unsaved, when it has no row."""
    with tenant_scope(organization_id):
        found = TrackingSettings.objects.filter(organization_id=organization_id).first()
    return found or TrackingSettings(organization_id=organization_id)


def _check(mode, cookie_days, visitor_cookie) -> None:
    if mode is not None and mode not in TrackingMode.values:
        raise SettingsError("mode", f"Unknown tracking mode {mode!r}; choose one of {', '.join(TrackingMode.values)}.")
    if cookie_days is not None and (isinstance(cookie_days, bool) or not isinstance(cookie_days, int)
                                    or not COOKIE_DAYS_MIN <= cookie_days <= COOKIE_DAYS_MAX):
        raise SettingsError("cookie_days", f"Must be a whole number of days from {COOKIE_DAYS_MIN} to "
                                           f"{COOKIE_DAYS_MAX}.")
    if visitor_cookie is not None and not isinstance(visitor_cookie, bool):
        raise SettingsError("visitor_cookie", "Must be true or false.")


def change_tracking(organization_id: int, *, mode: str | None = None, cookie_days: int | None = None,
                    visitor_cookie: bool | None = None) -> TrackingSettings:
    """Apply the given values (None: unchanged); SettingsError(field, message) when one is refused."""
    _check(mode, cookie_days, visitor_cookie)
    tracking_settings_for(organization_id)
    with tenant_scope(organization_id), transaction.atomic():
        settings = TrackingSettings.objects.select_for_update().get(organization_id=organization_id)
        if mode is not None:
            settings.mode = mode
        if cookie_days is not None:
            settings.cookie_days = cookie_days
        if visitor_cookie is not None:
            settings.visitor_cookie = visitor_cookie
        settings.save()
        # This process's redirect follows at once; the others within POLICY_TTL_SECONDS.
        transaction.on_commit(lambda: visitor_cookie_policy.forget(organization_id))
        return settings


def snippet_config(settings: TrackingSettings) -> dict:
    """What amb.js is told about the organisation (tracking/views/snippet.py)."""
    return {"mode": settings.mode, "days": settings.cookie_days}
