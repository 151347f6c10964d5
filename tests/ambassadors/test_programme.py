"""The public join page, approvals, status changes and ambassadors' own profiles."""

import html

import pytest
from django.urls import reverse

from ambassadors.models import Ambassador, SocialProfile, Status
from ambassadors.services.programme import join_page_of
from tenancy.models import Membership, Role
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, GroupFactory, UserFactory


def open_join_page(org, **changes):
    with tenant_scope(org):
        page = join_page_of(org)
        page.enabled = True
        for key, value in changes.items():
            setattr(page, key, value)
        page.save()
        return page


@pytest.mark.django_db
def test_closed_join_page_is_404(client, org):
    assert client.get(reverse("join", args=[org.slug])).status_code == 404
    assert client.get(reverse("join", args=["nobody-here"])).status_code == 404


@pytest.mark.django_db
def test_visitor_reads_the_page_and_is_asked_to_sign_up(client, org):
    open_join_page(org, headline="Shout about Acme")
    page = client.get(reverse("join", args=[org.slug]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Shout about Acme" in body and "Sign up" in body


@pytest.mark.django_db
def test_applicant_waits_for_approval_then_admin_approves(login, org, admin_user):
    open_join_page(org, requires_approval=True)
    applicant = UserFactory(email="fan@example.com")
    client = login(applicant)
    client.post(reverse("join", args=[org.slug]), {"display_name": "Big Fan", "kind": "external", "title": "Customer"})
    with tenant_scope(org):
        fan = Ambassador.objects.get(user=applicant)
        assert fan.status == Status.PENDING
        assert Membership.objects.get(user=applicant).role == Role.AMBASSADOR
    assert "waiting for approval" in client.get(reverse("join", args=[org.slug])).content.decode()
    assert "An admin will review" in client.get(f"/o/{org.slug}/").content.decode()
    # Applying again changes nothing.
    client.post(reverse("join", args=[org.slug]), {"display_name": "Again", "kind": "internal"})
    with tenant_scope(org):
        assert Ambassador.objects.filter(user=applicant).count() == 1

    admin = login(admin_user)
    assert "Big Fan" in admin.get(f"/o/{org.slug}/").content.decode()  # on the dashboard's approval list
    admin.post(reverse("ambassador_status", args=[org.slug, fan.public_id]), {"status": "active"})
    with tenant_scope(org):
        fan.refresh_from_db()
        assert fan.status == Status.ACTIVE and fan.joined_at is not None


@pytest.mark.django_db
def test_without_approval_applicants_are_active_at_once_in_the_default_groups(login, org):
    partners = GroupFactory(organization=org, name="Partners")
    page = open_join_page(org, requires_approval=False)
    with tenant_scope(org):
        page.default_groups.set([partners])
    user = UserFactory()
    response = login(user).post(reverse("join", args=[org.slug]), {"display_name": "Pat", "kind": "external"})
    assert response.status_code == 302 and response["Location"] == f"/o/{org.slug}/"
    with tenant_scope(org):
        pat = Ambassador.objects.get(user=user)
        assert pat.status == Status.ACTIVE and [g.name for g in pat.groups.all()] == ["Partners"]


@pytest.mark.django_db
def test_status_changes_follow_the_rules(login, org, admin_user):
    ambassador = AmbassadorFactory(organization=org, status=Status.ACTIVE)
    client = login(admin_user)
    url = reverse("ambassador_status", args=[org.slug, ambassador.public_id])
    client.post(url, {"status": "paused"})
    with tenant_scope(org):
        assert Ambassador.objects.get(pk=ambassador.pk).status == Status.PAUSED
    response = client.post(url, {"status": "pending"}, follow=True)
    assert "can't become pending approval" in html.unescape(response.content.decode())
    response = client.post(url, {"status": "bogus"}, follow=True)
    assert "“bogus” is not a status" in response.content.decode()
    with tenant_scope(org):
        assert Ambassador.objects.get(pk=ambassador.pk).status == Status.PAUSED


@pytest.mark.django_db
def test_invited_person_cannot_be_activated_before_accepting(login, org, admin_user):
    invited = AmbassadorFactory(organization=org, user=None, email="later@example.com", status=Status.INVITED)
    response = login(admin_user).post(f"/api/v1/o/{org.slug}/ambassadors/{invited.public_id}/status/",
                                      {"status": "active"}, content_type="application/json")
    assert response.status_code == 409  # not now: the state of things, not the request
    assert "can't become active" in response.json()["detail"]


@pytest.mark.django_db
def test_ambassador_edits_own_profile_and_social_reach(login, org, ambassador_user):
    client = login(ambassador_user)
    url = reverse("my_profile", args=[org.slug])
    assert client.get(url).status_code == 200
    response = client.post(url, {
        "profile-display_name": "Amber", "profile-title": "Engineer", "profile-bio": "I build things.",
        "social-TOTAL_FORMS": "1", "social-INITIAL_FORMS": "0", "social-MIN_NUM_FORMS": "0",
        "social-MAX_NUM_FORMS": "5", "social-0-network": "linkedin", "social-0-handle": "amber",
        "social-0-url": "linkedin.com/in/amber", "social-0-followers": "1200",
    })
    assert response.status_code == 302
    with tenant_scope(org):
        me = Ambassador.objects.get(user=ambassador_user)
        assert me.display_name == "Amber"
        profile = SocialProfile.objects.get(ambassador=me)
        assert (profile.network, profile.followers, profile.organization_id) == ("linkedin", 1200, org.pk)
        assert profile.url == "https://linkedin.com/in/amber"
    assert "1200" in client.get(f"/o/{org.slug}/").content.decode()


@pytest.mark.django_db
def test_profile_rejects_negative_followers(login, org, ambassador_user):
    response = login(ambassador_user).post(reverse("my_profile", args=[org.slug]), {
        "profile-display_name": "Amber", "social-TOTAL_FORMS": "1", "social-INITIAL_FORMS": "0",
        "social-MIN_NUM_FORMS": "0", "social-MAX_NUM_FORMS": "5", "social-0-network": "x",
        "social-0-followers": "-5",
    })
    assert response.status_code == 200
    assert "greater than or equal to 0" in response.content.decode()


@pytest.mark.django_db
def test_manager_without_ambassador_profile_has_no_profile_page(login, org, manager):
    assert login(manager).get(reverse("my_profile", args=[org.slug])).status_code == 404


@pytest.mark.django_db
def test_admin_edits_rate_and_groups_but_only_with_own_groups(login, org, other_org, admin_user):
    mine = GroupFactory(organization=org, name="Mine")
    theirs = GroupFactory(organization=other_org, name="Theirs")
    ambassador = AmbassadorFactory(organization=org)
    client = login(admin_user)
    url = reverse("ambassador_detail", args=[org.slug, ambassador.public_id])
    page = client.get(url).content.decode()
    assert "Mine" in page and "Theirs" not in page
    bad = client.post(url, {"display_name": "X", "kind": "internal", "hourly_rate": "75.50", "groups": [theirs.pk]})
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()
    ok = client.post(url, {"display_name": "X", "kind": "internal", "hourly_rate": "75.50", "groups": [mine.pk]})
    assert ok.status_code == 302
    with tenant_scope(org):
        ambassador.refresh_from_db()
        assert str(ambassador.hourly_rate) == "75.50" and list(ambassador.groups.all()) == [mine]
    negative = client.post(url, {"display_name": "X", "kind": "internal", "hourly_rate": "-1"})
    assert "greater than or equal to 0" in negative.content.decode()


@pytest.mark.django_db
def test_group_names_are_unique_per_org_case_insensitively(login, org, other_org, admin_user):
    GroupFactory(organization=other_org, name="Sales")
    client = login(admin_user)
    assert client.post(reverse("ambassador_groups", args=[org.slug]), {"name": "Sales"}).status_code == 302
    again = client.post(reverse("ambassador_groups", args=[org.slug]), {"name": "sales"})
    assert "already a group called" in again.content.decode()
    api = client.post(f"/api/v1/o/{org.slug}/groups/", {"name": "SALES"}, content_type="application/json")
    assert api.status_code == 409 and "already a group" in api.json()["detail"]
