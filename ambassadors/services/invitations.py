"""Inviting people by e-mail and accepting invitations.

The e-mail itself and the link in it live in invitation_emails, which the task that sends them
imports; `invite` queues that task through ambassadors.tasks (so this module imports the tasks,
and the tasks only invitation_emails: no cycle). `make_token` and `send_invitation` can be taken
from here too."""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from common.service_errors import ServiceError
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tenancy.services import ensure_membership

from .. import tasks
from ..models import Ambassador, Invitation, Kind, Status
from .groups import set_groups
from .invitation_emails import TOKEN_SALT, send_invitation
from .invitation_emails import make_token as make_token  # re-exported: callers make links from here
from .programme import announce_joined


class InvitationError(Exception):
    """Why a token can't be used; `reason` picks the page shown to the visitor."""

    def __init__(self, reason: str, message: str, invitation: Invitation | None = None):
        super().__init__(message)
        self.reason = reason
        self.invitation = invitation


class AlreadyInvited(ServiceError):
    """The address is already an ambassador (or invited) here: a refusal about the `email` field."""

    def __init__(self, message: str):
        super().__init__("email", message)


def normalise_email(email: str) -> str:
    return email.strip().lower()


@transaction.atomic
def invite(*, organization, email: str, display_name: str = "", kind: str = Kind.EXTERNAL, groups=(),
           invited_by=None, send: bool = True) -> Invitation:
    """Create an ambassador in status invited and its invitation, then e-mail the link.
    Raises AlreadyInvited when the e-mail is already an ambassador of this organisation."""
    email = normalise_email(email)
    if Ambassador.objects.filter(organization=organization, email__iexact=email).exists():
        raise AlreadyInvited(f"{email} is already an ambassador or invited.")
    try:
        with transaction.atomic():
            ambassador = Ambassador.objects.create(
                organization=organization, email=email, display_name=display_name.strip() or email.split("@")[0],
                kind=kind, status=Status.INVITED,
            )
    except IntegrityError as exc:  # a concurrent invitation of the same address
        raise AlreadyInvited(f"{email} is already an ambassador or invited.") from exc
    if groups:
        set_groups(ambassador, groups)
    invitation = Invitation.objects.create(
        organization=organization, ambassador=ambassador, email=email, invited_by=invited_by,
        expires_at=timezone.now() + settings.INVITATION_MAX_AGE,
    )
    if send:
        tasks.queue_invitation_email(invitation)
    return invitation


def resend(invitation: Invitation) -> Invitation:
    """A fresh expiry and a new e-mail (the old link keeps working until the new expiry)."""
    if invitation.accepted_at:
        raise InvitationError("used", "This invitation has already been accepted.", invitation)
    invitation.expires_at = timezone.now() + settings.INVITATION_MAX_AGE
    invitation.revoked_at = None
    invitation.reminded_at = None
    invitation.save(update_fields=["expires_at", "revoked_at", "reminded_at"])
    send_invitation(invitation)
    return invitation


def revoke(invitation: Invitation) -> None:
    if invitation.accepted_at:
        raise InvitationError("used", "An accepted invitation can't be revoked; pause or remove the ambassador.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    Ambassador.objects.filter(pk=invitation.ambassador_id).update(status=Status.REMOVED,
                                                                   status_changed_at=timezone.now())


def invitation_from_token(token: str) -> Invitation:
    """The invitation a token names, or InvitationError saying why it can't be used.
    Runs before any tenant scope (the token is how we learn the organisation)."""
    max_age = settings.INVITATION_MAX_AGE.total_seconds()
    try:
        payload = signing.loads(token, salt=TOKEN_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise InvitationError("expired", "This invitation has expired.") from exc
    except signing.BadSignature as exc:
        raise InvitationError("invalid", "This invitation link is not valid. Check that you copied all of it.") from exc
    with scopes_disabled():
        invitation = (Invitation.objects.select_related("organization", "ambassador")
                      .filter(public_id=payload.get("i")).first())
    if invitation is None:
        raise InvitationError("invalid", "This invitation no longer exists.")
    if invitation.revoked_at:
        raise InvitationError("revoked", "This invitation was withdrawn.", invitation)
    if invitation.accepted_at:
        raise InvitationError("used", "This invitation has already been used.", invitation)
    if invitation.expires_at <= timezone.now():
        raise InvitationError("expired", "This invitation has expired.", invitation)
    return invitation


@dataclass
class Acceptance:
    ambassador: Ambassador
    created: bool  # False when this user had already accepted (a double submit)


def accept(*, token: str, user) -> Acceptance:
    """Accept an invitation as `user`: they become an active ambassador of its organisation.
    Safe against double submits and races: the invitation row is locked, and accepting
    twice yields the same ambassador, never a second one."""
    invitation = invitation_from_token_allowing_own_reuse(token, user)
    organization = invitation.organization
    with tenant_scope(organization), transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        ambassador = Ambassador.objects.select_for_update().get(pk=locked.ambassador_id)
        if locked.accepted_at:
            if locked.accepted_by_id == user.pk:
                return Acceptance(ambassador, created=False)
            raise InvitationError("used", "This invitation has already been used.", locked)
        existing = Ambassador.objects.filter(organization=organization, user=user).exclude(pk=ambassador.pk).first()
        if existing is not None:
            # This person is already an ambassador here (say, joined through the public page):
            # keep that profile, retire the invited placeholder.
            locked.accepted_at, locked.accepted_by = timezone.now(), user
            locked.save(update_fields=["accepted_at", "accepted_by"])
            ambassador.status = Status.REMOVED
            ambassador.save(update_fields=["status"])
            ensure_membership(organization=organization, user=user, role=Role.AMBASSADOR)
            return Acceptance(existing, created=False)
        now = timezone.now()
        ambassador.user = user
        ambassador.status = Status.ACTIVE
        ambassador.joined_at = ambassador.status_changed_at = now
        ambassador.save(update_fields=["user", "status", "joined_at", "status_changed_at"])
        announce_joined(ambassador)
        locked.accepted_at, locked.accepted_by = now, user
        locked.save(update_fields=["accepted_at", "accepted_by"])
        ensure_membership(organization=organization, user=user, role=Role.AMBASSADOR)
    return Acceptance(ambassador, created=True)


def invitation_from_token_allowing_own_reuse(token: str, user) -> Invitation:
    try:
        return invitation_from_token(token)
    except InvitationError as error:
        if error.reason == "used" and error.invitation and error.invitation.accepted_by_id == user.pk:
            return error.invitation
        raise
