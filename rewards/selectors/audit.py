"""Reads of the audit log (its page, CSV and API): filtered by action, object and time. Inside
the organisation's tenant scope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet

from tenancy.scoping import tenant_scope

from ..models import AuditEntry

CSV_HEADER = ["at_utc", "actor", "action", "object_type", "object_id", "before", "after", "entry_id"]


def audit_entries(*, action: str = "", object_type: str = "", object_id: str = "", since: datetime | None = None,
                  until: datetime | None = None) -> QuerySet[AuditEntry]:
    """Newest first; `since` included, `until` excluded."""
    queryset = AuditEntry.objects.all()
    if action:
        queryset = queryset.filter(action=action)
    if object_type:
        queryset = queryset.filter(object_type=object_type)
    if object_id:
        queryset = queryset.filter(object_id=object_id)
    if since is not None:
        queryset = queryset.filter(at__gte=since)
    if until is not None:
        queryset = queryset.filter(at__lt=until)
    return queryset.order_by("-at", "-pk")


def actions() -> list[str]:
    return sorted(AuditEntry.objects.values_list("action", flat=True).distinct())


def object_types() -> list[str]:
    return sorted(AuditEntry.objects.values_list("object_type", flat=True).distinct())


def pairs(value) -> list[tuple[str, object]] | None:
    """A before/after value as (key, value) pairs for a page (a template would read a key named
    "items" instead of the dict's items); None when it isn't a dict."""
    return sorted(value.items()) if isinstance(value, dict) else None


def with_pairs(entries) -> list[AuditEntry]:
    """The entries, each with `before_pairs` and `after_pairs` for the pages."""
    entries = list(entries)
    for entry in entries:
        entry.before_pairs, entry.after_pairs = pairs(entry.before), pairs(entry.after)
    return entries


def as_json(value) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ": "))


def csv_rows(organization_id: int, entries: QuerySet[AuditEntry]) -> Iterator[list]:
    """One row per entry (before/after as JSON text), read in chunks as the response streams: the
    rows are read after the view has returned, so the generator enters the tenant scope itself."""
    with tenant_scope(organization_id):
        for entry in entries.iterator(chunk_size=2000):
            yield [entry.at.isoformat(), entry.actor_label, entry.action, entry.object_type, entry.object_id,
                   as_json(entry.before), as_json(entry.after), str(entry.public_id)]
