"""Joining through the public page, and the changes admins make (status, profile, groups)."""

from datetime import UTC

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.events import publish
from common.service_errors import ServiceError
from tenancy.models import Role
from tenancy.services import ensure_membership

from ..models import Ambassador, JoinPage, Status
from .groups import set_groups

# Which status changes an admin may make, from → allowed targets.
TRANSITIONS = {
    Status.PENDING: {Status.ACTIVE, Status.REMOVED},
    Status.ACTIVE: {Status.PAUSED, Status.REMOVED},
    Status.PAUSED: {Status.ACTIVE, Status.REMOVED},
    Status.REMOVED: {Status.ACTIVE},
    Status.INVITED: {Status.REMOVED},
}


class TransitionError(ServiceError):
    """A status change admins may not make (a refusal about the `status` field)."""

    def __init__(self, message: str):
        super().__init__("status", message)


def announce_joined(ambassador: Ambassador) -> None:
    """The domain event ambassador.joined, in the caller's transaction: once per ambassador ever
    (its cause is the ambassador), however it became active (joined, approved, invitation accepted)."""
    publish("ambassador.joined", organization_id=ambassador.organization_id, cause=str(ambassador.public_id),
            occurred_at=ambassador.joined_at, data={"ambassador": {
                "id": str(ambassador.public_id), "display_name": ambassador.display_name, "email": ambassador.email,
                "kind": ambassador.kind, "status": ambassador.status,
                "joined_at": ambassador.joined_at.astimezone(UTC).isoformat().replace("+00:00", "Z")}})


def join_page_of(organization) -> JoinPage:
    page, _ = JoinPage.objects.get_or_create(organization=organization)
    return page


def apply(*, organization, user, display_name: str, kind: str | None = None, title: str = "") -> Ambassador:
    """The user asks to join the programme through its public page. They become active
    at once or wait for approval, as the organisation chose. Applying twice returns the
    existing profile."""
    page = join_page_of(organization)
    existing = Ambassador.objects.filter(organization=organization, user=user).first()
    if existing is not None:
        return existing
    status = Status.PENDING if page.requires_approval else Status.ACTIVE
    now = timezone.now()
    try:
        with transaction.atomic():
            invited = (Ambassador.objects.select_for_update()
                       .filter(organization=organization, email__iexact=user.email, user__isnull=True).first())
            if invited is not None:
                # They were invited, then found the public page: the invitation already vouched for them.
                ambassador = invited
                ambassador.user, ambassador.status = user, Status.ACTIVE
                ambassador.joined_at = ambassador.status_changed_at = now
                ambassador.save()
                announce_joined(ambassador)
            else:
                ambassador = Ambassador.objects.create(
                    organization=organization, user=user, email=user.email.lower(),
                    display_name=display_name.strip() or user.email.split("@")[0],
                    kind=kind or page.default_kind, status=status, title=title,
                    joined_at=now if status == Status.ACTIVE else None, status_changed_at=now,
                )
                set_groups(ambassador, page.default_groups.all())
                if ambassador.status == Status.ACTIVE:
                    announce_joined(ambassador)
            ensure_membership(organization=organization, user=user, role=Role.AMBASSADOR)
    except IntegrityError:  # a double submit raced us
        return Ambassador.objects.get(organization=organization, user=user)
    return ambassador


def set_status(ambassador: Ambassador, status: str) -> Ambassador:
    if status == ambassador.status:
        return ambassador
    if status not in TRANSITIONS.get(ambassador.status, set()):
        raise TransitionError(
            f"An ambassador who is {ambassador.get_status_display().lower()} can't become "
            f"{Status(status).label.lower()}."
        )
    if status == Status.ACTIVE and ambassador.user_id is None:
        raise TransitionError("This person has not accepted their invitation yet.")
    now = timezone.now()
    ambassador.status = status
    ambassador.status_changed_at = now
    joins = status == Status.ACTIVE and ambassador.joined_at is None
    if joins:
        ambassador.joined_at = now
    with transaction.atomic():
        ambassador.save(update_fields=["status", "status_changed_at", "joined_at"])
        if joins:
            announce_joined(ambassador)
    return ambassador


@transaction.atomic
def save_ambassador(ambassador: Ambassador, *, groups=None) -> Ambassador:
    """Store an admin's edit of an ambassador whose fields are set (a form's instance), and its
    groups unless None."""
    ambassador.save()
    if groups is not None:
        set_groups(ambassador, groups)
    return ambassador
