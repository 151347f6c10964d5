"""Reads of tracking's data that reports and pages use."""

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from .models import AttributionSettings, ConversionImport, Credit, ImportStatus

# An import still queued this long after its upload lost its task message (or the broker was
# down when it was queued): the beat queues it again. Running one twice creates nothing new.
IMPORT_REQUEUE_AFTER = timedelta(minutes=5)


def active_version(organization_id: int) -> tuple[int, str]:
    """(credits version, reporting model) that reports show now."""
    settings = AttributionSettings.objects.filter(organization_id=organization_id).first()
    return (settings.version, settings.reporting_model) if settings else (1, AttributionSettings().reporting_model)


def reporting_credits(organization_id: int, model: str | None = None) -> QuerySet[Credit]:
    """The credits reports read: the active version only (never a half-recomputed one), of
    `model`, default the organisation's reporting model. Call inside the tenant scope."""
    version, reporting_model = active_version(organization_id)
    return Credit.objects.filter(organization_id=organization_id, version=version, model=model or reporting_model)


def all_model_credits(organization_id: int) -> QuerySet[Credit]:
    """The active version's credits of every model (the model comparison report)."""
    version, _ = active_version(organization_id)
    return Credit.objects.filter(organization_id=organization_id, version=version)


def imports_waiting_too_long(older_than: timedelta | None = None) -> list[tuple[int, int]]:
    """(organisation, import) of CSV imports still queued `older_than` (default
    IMPORT_REQUEUE_AFTER) after their upload. Platform-wide (the beat): call inside scopes_disabled()."""
    cutoff = timezone.now() - (IMPORT_REQUEUE_AFTER if older_than is None else older_than)
    return list(ConversionImport.objects.filter(status=ImportStatus.QUEUED, created_at__lt=cutoff)
                .order_by("pk").values_list("organization_id", "pk"))
