"""The one writer of the audit log: every money and points action calls `record` in the
transaction that performs it, so an action and its audit entry commit (or roll back) together."""

from django.utils import timezone

from ..models import AuditEntry


def actor_label(actor) -> str:
    if actor is None:
        return "system"
    return getattr(actor, "email", "") or str(actor)


def record(*, organization_id: int, actor, action: str, object_type: str, object_id, before=None,
           after=None, at=None) -> AuditEntry:
    """Append one entry: `actor` a user or None (the system: beat, tasks); `before`/`after` plain
    JSON values (strings for Decimals and times), never secrets."""
    return AuditEntry.objects.create(
        organization_id=organization_id, at=at or timezone.now(), actor=actor if actor is not None else None,
        actor_label=actor_label(actor), action=action, object_type=object_type, object_id=str(object_id),
        before=before, after=after)
