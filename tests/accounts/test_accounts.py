"""Sign-up with e-mail verification, log-in, password reset, and creating an organisation."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from tenancy.models import Membership, Organization, Role
from tenancy.scoping import tenant_scope
from tests.factories import PASSWORD, UserFactory


def link_in(message):
    return re.search(r"https?://[^\s]+", message.body).group(0).split("testserver", 1)[-1]


@pytest.mark.django_db
def test_sign_up_needs_a_verified_address_then_create_an_organisation(client):
    response = client.post(reverse("account_signup"),
                           {"email": "Founder@Startup.io", "password1": "s3cret-Pass!", "password2": "s3cret-Pass!"})
    assert response.status_code == 302 and response["Location"] == reverse("account_email_verification_sent")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["founder@startup.io"]
    # Not logged in before verifying.
    assert client.get(reverse("new_organization")).status_code == 302

    confirm = link_in(mail.outbox[0])
    assert client.get(confirm).status_code == 200
    done = client.post(confirm)
    assert done.status_code == 302
    created = client.post(reverse("new_organization"),
                          {"name": "Startup", "slug": "startup", "time_zone": "Europe/Lisbon", "currency": "EUR"})
    assert created["Location"] == "/o/startup/"
    user = User.objects.get(email="founder@startup.io")
    with tenant_scope(Organization.objects.get(slug="startup")):
        assert Membership.objects.get(user=user).role == Role.OWNER


@pytest.mark.django_db
def test_log_in_and_out(client):
    user = UserFactory(email="pat@example.com")
    bad = client.post(reverse("account_login"), {"login": "pat@example.com", "password": "wrong"})
    assert bad.status_code == 200 and "not correct" in bad.content.decode()
    ok = client.post(reverse("account_login"), {"login": "PAT@example.com", "password": PASSWORD})
    assert ok.status_code == 302
    assert client.get("/").context["user"] == user
    client.post(reverse("account_logout"))
    assert not client.get("/").context["user"].is_authenticated


@pytest.mark.django_db
def test_password_reset(client):
    UserFactory(email="forgetful@example.com")
    client.post(reverse("account_reset_password"), {"email": "forgetful@example.com"})
    assert len(mail.outbox) == 1
    form_url = client.get(link_in(mail.outbox[0]), follow=True).redirect_chain[-1][0]
    done = client.post(form_url, {"password1": "brand-New-pass-7", "password2": "brand-New-pass-7"})
    assert done.status_code == 302
    assert client.login(email="forgetful@example.com", password="brand-New-pass-7")
