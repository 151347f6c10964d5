import pytest

from ambassadors.models import Ambassador
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory, member


def profile_of(user, org):
    with tenant_scope(org):
        return Ambassador.objects.get(user=user)


@pytest.fixture
def campaign(org):
    return CampaignFactory(organization=org, name="Spring webinar", slug="spring-webinar")


@pytest.fixture
def ambassador(ambassador_user, org):
    """The Ambassador profile of `ambassador_user` (active)."""
    return profile_of(ambassador_user, org)


@pytest.fixture
def other_ambassador_user(org):
    return member(org, Role.AMBASSADOR, ambassador=True, email="other-amb@acme.test")


@pytest.fixture
def api(client):
    """JSON requests with the logged-in test client: api.post(url, {...})."""

    class Api:
        def get(self, url, **kwargs):
            return client.get(url, **kwargs)

        def post(self, url, data=None):
            return client.post(url, data or {}, content_type="application/json")

        def patch(self, url, data):
            return client.patch(url, data, content_type="application/json")

        def put(self, url, data):
            return client.put(url, data, content_type="application/json")

        def delete(self, url):
            return client.delete(url)

    return Api()
