"""The link-domains page (admins): add a host, see it waiting for DNS, remove it; the same
rules as the API (one organisation per host, not the platform's own)."""

import pytest
from django.urls import reverse

from campaigns.models import Domain
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import member


@pytest.mark.django_db
def test_admin_adds_and_removes_a_domain(org, admin_user, login):
    client = login(admin_user)
    url = reverse("campaign_domains", args=[org.slug])
    response = client.post(url, {"host": "Links.Example.COM"}, follow=True)
    assert "links.example.com is added" in response.content.decode()
    assert "Waiting for DNS" in response.content.decode()
    with tenant_scope(org):
        domain = Domain.objects.get()
    assert (domain.host, domain.verified) == ("links.example.com", False)
    client.post(reverse("campaign_domain_delete", args=[org.slug, domain.public_id]))
    with tenant_scope(org):
        assert not Domain.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("host", "message"), [
    ("not a host", ""),
    ("app.example.com", "own address"),
    ("taken.example.com", "already in use"),
])
def test_bad_hosts_are_refused_with_a_message_and_the_input_kept(org, other_org, admin_user, login, settings,
                                                                 host, message):
    settings.SITE_URL = "http://app.example.com"
    with tenant_scope(other_org):
        Domain.objects.create(organization=other_org, host="taken.example.com")
    response = login(admin_user).post(reverse("campaign_domains", args=[org.slug]), {"host": host})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and f'value="{host}"' in page
    with tenant_scope(org):
        assert not Domain.objects.exists()


@pytest.mark.django_db
def test_managers_get_403_and_other_orgs_404(org, other_org, manager, login):
    assert login(manager).get(reverse("campaign_domains", args=[org.slug])).status_code == 403
    with tenant_scope(other_org):
        theirs = Domain.objects.create(organization=other_org, host="theirs.example.com")
    stranger = member(other_org, Role.OWNER, email="owner@rival.test")
    client = login(stranger)
    assert client.get(reverse("campaign_domains", args=[org.slug])).status_code == 404
    # Their own page can't delete through our slug, and ours can't reach theirs.
    admin = member(org, Role.ADMIN, email="admin2@acme.test")
    assert login(admin).post(reverse("campaign_domain_delete", args=[org.slug, theirs.public_id])).status_code == 404
    with tenant_scope(other_org):
        assert Domain.objects.filter(pk=theirs.pk).exists()
