"""Inviting people by e-mail and accepting invitations."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tenancy.services import ensure_membership
from tenancy.tasking import publish_after_commit

from ..models import Ambassador, Invitation, Kind, Status

TOKEN_SALT = "ambassadors.invitation"
REMIND_BEFORE_EXPIRY = timedelta(days=2)


class InvitationError(Exception):
    """Why a token can't be used; `reason` picks the page shown to the visitor."""

    def __init__(self, reason: str, message: str, invitation: Invitation | None = None):
        super().__init__(message)
        self.reason = reason
        self.invitation = invitation


class AlreadyInvited(Exception):
    pass


def make_token(invitation: Invitation) -> str:
    return signing.dumps({"i": str(invitation.public_id)}, salt=TOKEN_SALT, compress=True)


def invitation_url(invitation: Invitation) -> str:
    return settings.SITE_URL + reverse("invitation", kwargs={"token": make_token(invitation)})


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
        ambassador.groups.set(groups)
    invitation = Invitation.objects.create(
        organization=organization, ambassador=ambassador, email=email, invited_by=invited_by,
        expires_at=timezone.now() + settings.INVITATION_MAX_AGE,
    )
    if send:
        from ..tasks import send_invitation_email

        publish_after_commit(send_invitation_email, organization.pk, invitation.pk,
                             recovery="the invitation is stored; its e-mail can be re-sent from the ambassadors page")
    return invitation


def send_invitation_by_id(invitation_id: int) -> bool:
    """Send (or re-send) the e-mail of a pending invitation; False when it's no longer pending."""
    invitation = Invitation.objects.select_related("organization", "invited_by").filter(
        pk=invitation_id, accepted_at__isnull=True, revoked_at__isnull=True).first()
    if invitation is None:
        return False
    send_invitation(invitation)
    return True


def organizations_with_expiring_invitations() -> list[int]:
    soon = timezone.now() + REMIND_BEFORE_EXPIRY
    return list(Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, reminded_at__isnull=True,
        expires_at__gt=timezone.now(), expires_at__lte=soon,
    ).values_list("organization_id", flat=True).distinct().order_by())


def send_reminders() -> int:
    """Remind, once, everyone in the current organisation whose invitation expires soon."""
    now = timezone.now()
    pending = Invitation.objects.select_related("organization", "invited_by").filter(
        accepted_at__isnull=True, revoked_at__isnull=True, reminded_at__isnull=True,
        expires_at__gt=now, expires_at__lte=now + REMIND_BEFORE_EXPIRY,
    )
    sent = 0
    for invitation in pending:
        # Claim the reminder first so a retried task never sends it twice.
        if Invitation.objects.filter(pk=invitation.pk, reminded_at__isnull=True).update(reminded_at=now):
            send_invitation(invitation, reminder=True)
            sent += 1
    return sent


def send_invitation(invitation: Invitation, reminder: bool = False) -> None:
    context = {
        "reminder": reminder,
        "invitation": invitation,
        "organization": invitation.organization,
        "url": invitation_url(invitation),
        "inviter": invitation.invited_by,
    }
    name = " ".join(invitation.organization.name.split())  # one line: CR/LF must not break (or inject) headers
    send_mail(
        subject=("Reminder: " if reminder else "") + f"{name} invites you to its ambassador programme",
        message=render_to_string("ambassadors/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())


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
