from celery import shared_task
from django_scopes import scopes_disabled

from tenancy.tasking import tenant_task

from .services import invitations


@tenant_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(organization_id: int, invitation_id: int) -> bool:
    return invitations.send_invitation_by_id(invitation_id)


@shared_task(name="ambassadors.tasks.remind_expiring_invitations")
def remind_expiring_invitations() -> int:
    """Fan out: one reminder task per organisation with invitations about to expire."""
    with scopes_disabled():
        organization_ids = invitations.organizations_with_expiring_invitations()
    for organization_id in organization_ids:
        send_invitation_reminders.delay(organization_id)
    return len(organization_ids)


@tenant_task()
def send_invitation_reminders(organization_id: int) -> int:
    return invitations.send_reminders()
