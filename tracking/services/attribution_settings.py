"""An organisation's attribution settings, and recomputing credits when they change.

Changing the reporting model is instant: every model is stored for every conversion.
Changing the window or half-life changes the credits themselves, so it starts a recompute:
a new *pending* version whose credits background steps compute beside the active ones, a
chunk of customers at a time in id order (`recompute_step`). Conversions arriving meanwhile
are attributed in both versions (tracking.services.attribution.live_params). When the last
chunk is done, the same transaction makes the pending version the active one; reports read
the active version only, so they switch from the old credits to the new ones at once and
never show a mix. The old version's rows are deleted afterwards (`delete_stale_credits`).

A change made while a recompute runs supersedes it (a newer pending version; the old one's
chunks stop and its rows are deleted); changing back to the active values cancels it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from tenancy.scoping import tenant_scope
from tracking.models import AttributionModel, AttributionSettings, Credit, Customer
from tracking.services import rollups
from tracking.services.attribution import Params, ambassador_email_hashes, attribute_customers

MIN_DAYS, MAX_DAYS = 1, 365
STALE_DELETE_CHUNK = 20_000


class SettingsError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def settings_for(organization_id: int) -> AttributionSettings:
    """The organisation's settings row, created with the defaults on first use."""
    with tenant_scope(organization_id):
        settings, _ = AttributionSettings.objects.get_or_create(organization_id=organization_id)
        return settings


@dataclass(frozen=True)
class Change:
    settings: AttributionSettings
    recompute_started: bool  # a new pending version: queue recompute_attribution
    recompute_cancelled: bool  # the pending version was dropped: queue delete_stale_credits


def _check_days(field: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_DAYS <= value <= MAX_DAYS:
        raise SettingsError(field, f"Must be a whole number of days from {MIN_DAYS} to {MAX_DAYS}.")
    return value


def change_settings(organization_id: int, *, reporting_model: str | None = None, window_days: int | None = None,
                    half_life_days: int | None = None) -> Change:
    """Apply a change; the caller queues the tasks the returned Change asks for (after commit)."""
    if reporting_model is not None and reporting_model not in AttributionModel.values:
        raise SettingsError("reporting_model", f"Unknown model {reporting_model!r}; choose one of "
                                               f"{', '.join(AttributionModel.values)}.")
    if window_days is not None:
        _check_days("window_days", window_days)
    if half_life_days is not None:
        _check_days("half_life_days", half_life_days)
    settings_for(organization_id)
    with tenant_scope(organization_id), transaction.atomic():
        settings = AttributionSettings.objects.select_for_update().get(organization_id=organization_id)
        if reporting_model is not None:
            settings.reporting_model = reporting_model
        # What the user now wants: given values, else what they last asked for.
        wanted_window = window_days or settings.pending_window_days or settings.window_days
        wanted_half_life = half_life_days or settings.pending_half_life_days or settings.half_life_days
        started = cancelled = False
        if (wanted_window, wanted_half_life) == (settings.window_days, settings.half_life_days):
            if settings.recomputing:
                _clear_pending(settings)
                cancelled = True
        elif (not settings.recomputing
              or (wanted_window, wanted_half_life) != (settings.pending_window_days, settings.pending_half_life_days)):
            cancelled = settings.recomputing
            _start_pending(settings, wanted_window, wanted_half_life)
            started = True
        settings.save()
        return Change(settings, started, cancelled)


def _start_pending(settings: AttributionSettings, window_days: int, half_life_days: int) -> None:
    customers = Customer.objects.filter(organization_id=settings.organization_id)
    up_to = customers.aggregate(last=Max("pk"))["last"] or 0
    settings.pending_version = max(settings.version, settings.pending_version or 0) + 1
    settings.pending_window_days = window_days
    settings.pending_half_life_days = half_life_days
    settings.recompute_up_to_id = up_to
    settings.recompute_cursor = 0
    settings.recompute_total = customers.filter(pk__lte=up_to).count()
    settings.recompute_done = 0
    settings.recompute_started_at = timezone.now()


def _clear_pending(settings: AttributionSettings) -> None:
    settings.pending_version = settings.pending_window_days = settings.pending_half_life_days = None
    settings.recompute_up_to_id = settings.recompute_started_at = None
    settings.recompute_cursor = settings.recompute_total = settings.recompute_done = 0


@dataclass(frozen=True)
class Step:
    done: int
    total: int
    more: bool  # queue the next step
    finished: bool  # the pending version became the active one in this step


def recompute_step(organization_id: int, version: int, *, chunk: int | None = None) -> Step:
    """Compute the pending version's credits for the next chunk of customers; when none is
    left, make it the active version. A step for a version that is no longer pending (it was
    superseded, cancelled or finished) does nothing, so duplicate or late tasks are harmless.
    The settings row stays locked for the step: steps of one organisation take turns, and
    normal attribution (which only reads the row) is never blocked by it."""
    chunk = chunk or django_settings.ATTRIBUTION_RECOMPUTE_CHUNK
    with tenant_scope(organization_id), transaction.atomic():
        settings = AttributionSettings.objects.select_for_update().filter(organization_id=organization_id).first()
        if settings is None or settings.pending_version != version:
            return Step(0, 0, more=False, finished=False)
        # Every customer to the last one, not just those up to recompute_up_to_id (the progress
        # total): a lead attributed while the change was committing has only the old version.
        # Newer customers were written in both versions already; rewriting them is harmless.
        ids = list(Customer.objects.filter(organization_id=organization_id, pk__gt=settings.recompute_cursor)
                   .order_by("pk").values_list("pk", flat=True)[:chunk])
        if ids:
            params = [Params(version, timedelta(days=settings.pending_window_days),
                             timedelta(days=settings.pending_half_life_days))]
            # Customers not attributed yet (a click pending) are left to normal attribution,
            # which writes both live versions.
            attribute_customers(organization_id, ids, params=params, mark_attributed=False,
                                hashes=ambassador_email_hashes(organization_id))
            settings.recompute_cursor = ids[-1]
            settings.recompute_done = min(settings.recompute_total, settings.recompute_done + len(ids))
        if len(ids) == chunk:
            settings.save()
            return Step(settings.recompute_done, settings.recompute_total, more=True, finished=False)
        settings.version = version
        settings.window_days = settings.pending_window_days
        settings.half_life_days = settings.pending_half_life_days
        settings.last_recomputed_at = timezone.now()
        total = settings.recompute_total
        _clear_pending(settings)
        settings.save()
        return Step(total, total, more=False, finished=True)


def delete_stale_credits(organization_id: int, *, chunk: int = STALE_DELETE_CHUNK) -> tuple[int, bool]:
    """Delete up to `chunk` credits of versions that are neither active nor pending; returns
    (deleted, more). Chunked so a large organisation never holds a long delete."""
    with tenant_scope(organization_id), transaction.atomic():
        settings = AttributionSettings.objects.filter(organization_id=organization_id).first()
        live = [settings.version, settings.pending_version] if settings else [1]
        stale = Credit.objects.filter(organization_id=organization_id).exclude(
            version__in=[v for v in live if v is not None])
        ids = list(stale.order_by("pk").values_list("pk", flat=True)[:chunk])
        if ids:
            Credit.objects.filter(pk__in=ids).delete()
        if len(ids) < chunk:  # the credits are gone: their rollups go too (a few rows per day)
            rollups.delete_stale_versions(organization_id, [v for v in live if v is not None])
        return len(ids), len(ids) == chunk


def organizations_with_stalled_recompute(older_than: timedelta = timedelta(minutes=2)) -> list[tuple[int, int]]:
    """(organisation, pending version) of recomputes whose row hasn't moved for a while: a
    lost task message or a dead worker. Platform-wide (the beat): call inside scopes_disabled()."""
    cutoff = timezone.now() - older_than
    return list(AttributionSettings.objects.filter(pending_version__isnull=False, updated_at__lt=cutoff)
                .values_list("organization_id", "pending_version"))
