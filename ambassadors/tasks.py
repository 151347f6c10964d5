"""Thin Celery tasks around ambassadors' services: explicit ids, the organisation's first.

They call only services.invitation_emails, so services.invitations can import this module to queue
the invitation e-mail after its commit (queue_invitation_email) without an import cycle."""

from celery import shared_task
from django_scopes import scopes_disabled

from tenancy.tasking import publish_after_commit, tenant_task

from .services import invitation_emails


@tenant_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(organization_id: int, invitation_id: int) -> bool:
    return invitation_emails.send_invitation_by_id(invitation_id)


def queue_invitation_email(invitation) -> None:
    """Queue send_invitation_email once the current transaction commits (the invitation must be visible)."""
    publish_after_commit(send_invitation_email, invitation.organization_id, invitation.pk,
                         recovery="the invitation is stored; its e-mail can be re-sent from the ambassadors page")


@shared_task(name="ambassadors.tasks.remind_expiring_invitations")
def remind_expiring_invitations() -> int:
    """Fan out: one reminder task per organisation with invitations about to expire."""
    with scopes_disabled():
        organization_ids = invitation_emails.organizations_with_expiring_invitations()
    for organization_id in organization_ids:
        send_invitation_reminders.delay(organization_id)
    return len(organization_ids)


@tenant_task()
def send_invitation_reminders(organization_id: int) -> int:
    return invitation_emails.send_reminders()
