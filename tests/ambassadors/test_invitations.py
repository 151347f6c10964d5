"""Invitations: signed, expiring, single-use; every bad token gets a clear page."""

from datetime import timedelta

import pytest
from django.core import mail, signing
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from ambassadors.models import Ambassador, Invitation, Status
from ambassadors.services import invitation_emails, invitations
from tenancy.models import Membership, Role
from tenancy.scoping import tenant_scope
from tests.factories import UserFactory, member


@pytest.fixture
def invitation(org, owner):
    with tenant_scope(org):
        return invitations.invite(organization=org, email="New.Person@Example.com", display_name="New Person",
                                  kind="internal", invited_by=owner, send=False)


def token_path(invitation):
    return reverse("invitation", kwargs={"token": invitations.make_token(invitation)})


def ambassadors_of(org):
    with tenant_scope(org):
        return list(Ambassador.objects.exclude(status=Status.REMOVED).values_list("email", "status", "user_id"))


@pytest.mark.django_db(transaction=True)
def test_admin_invites_from_the_page_and_the_email_holds_a_working_link(login, org, admin_user, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        client = login(admin_user)
        response = client.post(reverse("ambassador_invite", args=[org.slug]),
                               {"email": "ines@example.com", "display_name": "Inès", "kind": "external"})
        assert response.status_code == 302
    finally:
        app.conf.task_always_eager = False
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ines@example.com"] and "Acme" in message.subject
    link = next(line for line in message.body.splitlines() if "/invite/" in line)
    path = link.split("127.0.0.1:8000", 1)[1]
    assert client.get(path).status_code == 200
    with tenant_scope(org):
        inv = Invitation.objects.get(email="ines@example.com")
        assert inv.sent_at is not None and inv.ambassador.status == Status.INVITED


@pytest.mark.django_db
def test_invitee_signs_up_through_the_link_and_lands_as_ambassador(client, org, invitation):
    path = token_path(invitation)
    page = client.get(path)
    assert page.status_code == 200 and "Acme invites you" in page.content.decode()
    password = "a-Strong-pass-9"
    signup = client.post(reverse("account_signup") + f"?next={path}",
                         {"email": "new.person@example.com", "password1": password, "password2": password})
    # The invitation vouched for the address: no verification e-mail round trip, straight back to the link.
    assert signup.status_code == 302 and signup["Location"] == path, signup.content[:500]
    accepted = client.post(path)
    assert accepted.status_code == 302 and accepted["Location"] == f"/o/{org.slug}/"
    user = User.objects.get(email="new.person@example.com")
    assert ambassadors_of(org) == [("new.person@example.com", Status.ACTIVE, user.pk)]
    with tenant_scope(org):
        assert Membership.objects.get(user=user).role == Role.AMBASSADOR
    assert "Hello, New Person" in client.get(f"/o/{org.slug}/").content.decode()


@pytest.mark.django_db
def test_existing_user_logs_in_and_accepts(login, org, invitation):
    user = UserFactory(email="new.person@example.com")
    client = login(user)
    assert "Accept and join" in client.get(token_path(invitation)).content.decode()
    client.post(token_path(invitation))
    assert ambassadors_of(org) == [("new.person@example.com", Status.ACTIVE, user.pk)]


@pytest.mark.django_db
def test_accepting_twice_does_not_create_a_second_ambassador(login, org, invitation):
    user = UserFactory(email="new.person@example.com")
    client = login(user)
    first = client.post(token_path(invitation))
    second = client.post(token_path(invitation))
    assert first.status_code == second.status_code == 302
    assert second["Location"] == f"/o/{org.slug}/"
    with tenant_scope(org):
        assert Ambassador.objects.filter(user=user).count() == 1
        assert Membership.objects.filter(user=user).count() == 1
    # The service itself is idempotent for the same user.
    again = invitations.accept(token=invitations.make_token(invitation), user=user)
    assert again.created is False


@pytest.mark.django_db
def test_reused_token_by_someone_else_gets_a_clear_page(login, org, invitation):
    login(UserFactory(email="new.person@example.com")).post(token_path(invitation))
    intruder = login(UserFactory(email="intruder@example.com"))
    page = intruder.get(token_path(invitation))
    assert page.status_code == 410
    assert "already been used" in page.content.decode()
    assert intruder.post(token_path(invitation)).status_code == 410
    assert len(ambassadors_of(org)) == 1


@pytest.mark.django_db
def test_expired_token_gets_a_clear_page(client, org, invitation):
    with tenant_scope(org):
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    page = client.get(token_path(invitation))
    assert page.status_code == 410 and "has expired" in page.content.decode()
    assert client.post(token_path(invitation)).status_code == 410


@pytest.mark.django_db
def test_token_older_than_max_age_is_expired_even_if_the_row_says_otherwise(client, org, invitation, settings):
    token = invitations.make_token(invitation)
    settings.INVITATION_MAX_AGE = timedelta(seconds=-1)
    page = client.get(reverse("invitation", kwargs={"token": token}))
    assert page.status_code == 410 and "has expired" in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("mangle", [
    lambda t: t[:-3] + ("abc" if not t.endswith("abc") else "xyz"),  # signature changed
    lambda t: "x" + t,  # payload changed
    lambda t: signing.dumps({"i": "00000000-0000-0000-0000-000000000000"}, salt="other"),  # signed for another use
    lambda t: "not-a-token",
    lambda t: "é" * 40,
], ids=["signature", "payload", "wrong-salt", "garbage", "unicode"])
def test_tampered_token_gets_a_clear_page(client, org, invitation, mangle):
    token = mangle(invitations.make_token(invitation))
    page = client.get(reverse("invitation", kwargs={"token": token}))
    assert page.status_code == 404
    assert "doesn't work" in page.content.decode() and "not valid" in page.content.decode()
    login_user = UserFactory()
    client.force_login(login_user)
    assert client.post(reverse("invitation", kwargs={"token": token})).status_code == 404
    assert ambassadors_of(org) == [("new.person@example.com", Status.INVITED, None)]


@pytest.mark.django_db
def test_token_for_a_deleted_invitation(client, org, invitation):
    token = invitations.make_token(invitation)
    with tenant_scope(org):
        invitation.ambassador.delete()
    page = client.get(reverse("invitation", kwargs={"token": token}))
    assert page.status_code == 404 and "no longer exists" in page.content.decode()


@pytest.mark.django_db
def test_revoked_invitation(login, org, admin_user, invitation):
    client = login(admin_user)
    client.post(reverse("invitation_action", args=[org.slug, invitation.public_id, "revoke"]))
    client.logout()
    page = client.get(token_path(invitation))
    assert page.status_code == 410 and "withdrawn" in page.content.decode()


@pytest.mark.django_db
def test_inviting_an_existing_ambassador_is_refused_with_a_message(login, org, admin_user, invitation):
    client = login(admin_user)
    response = client.post(reverse("ambassador_invite", args=[org.slug]),
                           {"email": "NEW.person@example.com", "kind": "internal"})
    assert response.status_code == 200
    assert "already an ambassador or invited" in response.content.decode()
    with tenant_scope(org):
        assert Ambassador.objects.count() == 1


@pytest.mark.django_db
def test_invalid_invite_form_says_what_is_wrong(login, org, admin_user):
    response = login(admin_user).post(reverse("ambassador_invite", args=[org.slug]),
                                      {"email": "not-an-email", "kind": "robot"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid email address" in body and "robot is not one of the available choices" in body


@pytest.mark.django_db
def test_reminder_is_sent_once_before_expiry(org, invitation):
    with tenant_scope(org):
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() + timedelta(days=1))
        assert invitation_emails.organizations_with_expiring_invitations() == [org.pk]
        assert invitation_emails.send_reminders() == 1
        assert invitation_emails.send_reminders() == 0  # a retried task sends nothing twice
    assert len(mail.outbox) == 1 and mail.outbox[0].subject.startswith("Reminder:")


@pytest.mark.django_db
def test_invitation_of_one_org_cannot_be_seen_from_another_orgs_task(org, other_org, invitation):
    with tenant_scope(other_org):
        assert invitation_emails.send_invitation_by_id(invitation.pk) is False
    assert mail.outbox == []


@pytest.mark.django_db
def test_invited_person_who_uses_the_join_page_becomes_active(login, org, invitation):
    from ambassadors.services.programme import join_page_of

    with tenant_scope(org):
        page = join_page_of(org)
        page.enabled = True
        page.save()
    user = UserFactory(email="new.person@example.com")
    login(user).post(reverse("join", args=[org.slug]), {"display_name": "N P", "kind": "external"})
    assert ambassadors_of(org) == [("new.person@example.com", Status.ACTIVE, user.pk)]


@pytest.mark.django_db
def test_member_who_already_is_ambassador_accepting_keeps_one_profile(login, org, owner, invitation):
    user = member(org, Role.AMBASSADOR, ambassador=True, email="someone.else@example.com")
    login(user).post(token_path(invitation))
    with tenant_scope(org):
        assert Ambassador.objects.filter(user=user).count() == 1
        assert Ambassador.objects.get(pk=invitation.ambassador_id).status == Status.REMOVED
