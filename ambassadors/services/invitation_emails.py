"""The invitation e-mail and the link in it: sending it (or sending it again), and the reminders
before an invitation expires.

ambassadors.tasks runs these, with explicit ids; invitations.py (whose `invite` queues that task
once its transaction commits) imports this module and the tasks, never the other way round, so
services and tasks form no import cycle."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from ..models import Invitation

TOKEN_SALT = "ambassadors.invitation"
REMIND_BEFORE_EXPIRY = timedelta(days=2)


def make_token(invitation: Invitation) -> str:
    return signing.dumps({"i": str(invitation.public_id)}, salt=TOKEN_SALT, compress=True)


def invitation_url(invitation: Invitation) -> str:
    return settings.SITE_URL + reverse("invitation", kwargs={"token": make_token(invitation)})


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
