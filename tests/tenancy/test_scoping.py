"""Tenant scoping fails closed: no scope, no rows."""

import pytest
from django.urls import reverse

from ambassadors.models import Ambassador, AmbassadorGroup, Invitation, SocialProfile
from tenancy.models import Membership, Role
from tenancy.scoping import ScopeError, scopes_disabled, tenant_scope
from tests.factories import AmbassadorFactory, GroupFactory, member

TENANT_MODELS = [Ambassador, AmbassadorGroup, Invitation, SocialProfile, Membership]


@pytest.mark.django_db
@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__name__)
def test_query_outside_a_scope_raises(model, org):
    with pytest.raises(ScopeError):
        list(model.objects.all())
    with pytest.raises(ScopeError):
        model.objects.filter(pk=1).exists()
    with pytest.raises(ScopeError):
        model.objects.count()


@pytest.mark.django_db
def test_every_tenant_model_is_scoped():
    """A new tenant model that forgets its scoped manager fails here."""
    from django.apps import apps

    for model in apps.get_models():
        if any(f.name == "organization" for f in model._meta.fields) and model.__name__ != "Organization":
            assert hasattr(model.objects, "with_scopes_disabled"), f"{model.__name__} has no scoped manager"


@pytest.mark.django_db
def test_scope_shows_only_that_organisation(org, other_org):
    AmbassadorFactory(organization=org, display_name="Ours")
    AmbassadorFactory(organization=other_org, display_name="Theirs")
    with tenant_scope(org):
        assert [a.display_name for a in Ambassador.objects.all()] == ["Ours"]
    with tenant_scope(other_org.pk):
        assert [a.display_name for a in Ambassador.objects.all()] == ["Theirs"]


@pytest.mark.django_db
def test_a_none_scope_is_refused_not_a_wildcard(org):
    """django-scopes reads None as "no filter"; our entry point refuses it."""
    with pytest.raises(ScopeError), tenant_scope(None):
        pass


@pytest.mark.django_db
def test_a_related_manager_outside_a_scope_raises(org):
    group = GroupFactory(organization=org)
    with pytest.raises(ScopeError):
        list(group.ambassadors.all())


@pytest.mark.django_db
def test_platform_staff_see_every_organisation_in_django_admin(client, org, other_org):
    from accounts.models import User

    staff = User.objects.create_superuser(email="staff@platform.test", password="x")
    AmbassadorFactory(organization=org, display_name="Ana Ours")
    AmbassadorFactory(organization=other_org, display_name="Tom Theirs")
    client.force_login(staff)
    page = client.get(reverse("admin:ambassadors_ambassador_changelist"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Ana Ours" in body and "Tom Theirs" in body
    assert body.count('field-organization') == 2  # the organisation column
    filtered = client.get(reverse("admin:ambassadors_ambassador_changelist"), {"organization__id__exact": org.pk})
    assert "Ana Ours" in filtered.content.decode() and "Tom Theirs" not in filtered.content.decode()
    with scopes_disabled():
        assert Ambassador.objects.count() == 2


@pytest.mark.django_db
def test_non_staff_cannot_use_django_admin(login, org):
    owner = member(org, Role.OWNER)
    response = login(owner).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
