"""The group writers (ambassadors.services.groups) called directly, and their refusals reaching the
page and the API through the one conversion each layer has (common.service_errors); the invitation
e-mail queued by the service through ambassadors.tasks."""

import pytest
from django.urls import reverse

from ambassadors import tasks
from ambassadors.models import Ambassador, AmbassadorGroup
from ambassadors.services import groups, invitations
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, GroupFactory

pytestmark = pytest.mark.django_db


def test_names_are_unique_per_organisation_whatever_the_case(org, other_org):
    with tenant_scope(other_org):
        groups.create_group(organization=other_org, name="Sales")
    with tenant_scope(org):
        sales = groups.create_group(organization=org, name="  Sales ", description="Field team")
        assert (sales.name, sales.description, sales.organization_id) == ("Sales", "Field team", org.pk)
        with pytest.raises(groups.GroupError) as refused:
            groups.create_group(organization=org, name="SALES")
        assert (refused.value.field, refused.value.message) == ("name", "There is already a group called “SALES”.")
        partners = groups.create_group(organization=org, name="Partners")
        with pytest.raises(groups.GroupError):
            groups.update_group(partners, name="sales")
        groups.update_group(sales, name="sales")  # its own name in another case is no clash
        groups.update_group(partners, description="Resellers")  # no name given: none checked
        assert sorted(AmbassadorGroup.objects.values_list("name", "description")) == [
            ("Partners", "Resellers"), ("sales", "Field team")]


def test_a_name_taken_on_the_rename_form_and_through_the_api(login, org, admin_user):
    sales, partners = GroupFactory(organization=org, name="Sales"), GroupFactory(organization=org, name="Partners")
    client = login(admin_user)
    page = client.post(reverse("ambassador_group_edit", args=[org.slug, partners.pk]), {"name": "sales"})
    assert page.status_code == 200 and "There is already a group called “sales”." in page.content.decode()
    answer = client.patch(f"/api/v1/o/{org.slug}/groups/{partners.pk}/", {"name": "SALES"},
                          content_type="application/json")
    assert (answer.status_code, answer.json()) == (409, {"detail": "There is already a group called “SALES”.",
                                                         "code": "taken"})
    renamed = client.patch(f"/api/v1/o/{org.slug}/groups/{sales.pk}/", {"name": "Field sales"},
                           content_type="application/json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Field sales"


def test_a_name_taken_at_the_same_moment_is_the_name_error_on_the_page_and_in_the_api(login, org, admin_user,
                                                                                     monkeypatch):
    """Both requests checked the name before either stored it: the unique index on the lower-cased
    name decides, and the loser gets the name error (it was a 500)."""
    GroupFactory(organization=org, name="Sales")
    monkeypatch.setattr(groups, "check_name", lambda name, *, group=None: name.strip())
    client = login(admin_user)
    page = client.post(reverse("ambassador_groups", args=[org.slug]), {"name": "sales"})
    assert page.status_code == 200 and "There is already a group called “sales”." in page.content.decode()
    answer = client.post(f"/api/v1/o/{org.slug}/groups/", {"name": "SALES"}, content_type="application/json")
    assert (answer.status_code, answer.json()) == (409, {"detail": "There is already a group called “SALES”.",
                                                         "code": "taken"})
    with tenant_scope(org):
        assert list(AmbassadorGroup.objects.values_list("name", flat=True)) == ["Sales"]


def test_deleting_a_group_keeps_its_ambassadors(login, org, admin_user):
    sales = GroupFactory(organization=org, name="Sales")
    ann, bob = AmbassadorFactory(organization=org), AmbassadorFactory(organization=org)
    with tenant_scope(org):
        groups.set_groups(ann, [sales])
        groups.set_groups(bob, [sales])
        groups.set_groups(bob, [])
        assert list(sales.ambassadors.all()) == [ann]
    client = login(admin_user)
    response = client.post(reverse("ambassador_group_edit", args=[org.slug, sales.pk]), {"delete": "1"})
    assert response.status_code == 302
    with tenant_scope(org):
        assert not AmbassadorGroup.objects.exists() and Ambassador.objects.filter(pk=ann.pk).exists()
    other = GroupFactory(organization=org, name="Partners")
    assert client.delete(f"/api/v1/o/{org.slug}/groups/{other.pk}/").status_code == 204
    with tenant_scope(org):
        assert not AmbassadorGroup.objects.exists()


def test_invite_queues_its_email_after_the_commit_through_the_task(org, owner, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(tasks.send_invitation_email, "delay", lambda *args: queued.append(args))
    with tenant_scope(org), django_capture_on_commit_callbacks(execute=True):
        invitation = invitations.invite(organization=org, email="new@example.com", invited_by=owner)
        assert queued == []  # not before the commit
    assert queued == [(org.pk, invitation.pk)]
    with tenant_scope(org):
        invitations.invite(organization=org, email="quiet@example.com", send=False)
    assert queued == [(org.pk, invitation.pk)]
