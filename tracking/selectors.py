"""Reads of tracking's data that reports and pages use."""

from django.db.models import QuerySet

from .models import AttributionSettings, Credit


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
