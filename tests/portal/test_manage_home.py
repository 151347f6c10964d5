"""The admin index (/o/<org>/manage/): one place from which an admin reaches every admin page."""

import pytest
from django.urls import reverse

from ambassadors.models import Status
from campaigns.models import CampaignStatus
from tenancy.models import Role
from tenancy.services import create_api_key
from tests.factories import AmbassadorFactory, CampaignFactory, member

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "campaign_manage_list", "campaign_create", "ambassador_list", "ambassador_invite", "ambassador_invite_csv",
    "ambassador_groups", "join_page_settings", "org_settings", "attribution_settings", "points_rules",
    "org_api_keys", "org_members", "conversion_imports",
]


def test_admin_sees_a_link_to_every_admin_page_and_the_counts(login, org, admin_user, scoped):
    CampaignFactory(organization=org, status=CampaignStatus.ACTIVE)
    CampaignFactory(organization=org, status=CampaignStatus.DRAFT)
    AmbassadorFactory(organization=org, status=Status.PENDING)
    AmbassadorFactory(organization=org, status=Status.PENDING)
    AmbassadorFactory(organization=org, status=Status.ACTIVE)
    with scoped(org):
        create_api_key(organization=org, name="CRM", created_by=admin_user)

    client = login(admin_user)
    response = client.get(reverse("manage_home", args=[org.slug]))

    assert response.status_code == 200
    html = response.content.decode()
    for name in ADMIN_PAGES:
        assert f'href="{reverse(name, args=[org.slug])}' in html, name
    assert 'data-count="pending">2<' in html
    assert 'data-count="campaigns">1<' in html
    assert 'data-count="api_keys">1<' in html
    # The main menu has one "Manage" entry instead of a link per admin page.
    assert f'href="{reverse("manage_home", args=[org.slug])}"' in html


def test_every_link_on_the_index_opens_for_the_admin(login, org, admin_user):
    client = login(admin_user)
    for name in ADMIN_PAGES:
        assert client.get(reverse(name, args=[org.slug])).status_code == 200, name


def test_counts_take_a_bounded_number_of_queries(login, org, admin_user, django_assert_max_num_queries):
    for _ in range(5):
        AmbassadorFactory(organization=org, status=Status.PENDING)
    client = login(admin_user)
    client.get(reverse("manage_home", args=[org.slug]))  # warm the session and caches
    with django_assert_max_num_queries(12):
        assert client.get(reverse("manage_home", args=[org.slug])).status_code == 200


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AMBASSADOR])
def test_managers_and_ambassadors_are_refused(login, org, role):
    user = member(org, role, ambassador=role == Role.AMBASSADOR)
    client = login(user)
    response = client.get(reverse("manage_home", args=[org.slug]))
    assert response.status_code == 403
    assert "admin role" in response.content.decode()
    home = client.get(reverse("org_home", args=[org.slug])).content.decode()
    assert f'href="{reverse("manage_home", args=[org.slug])}"' not in home


def test_another_organisations_admin_gets_404(login, org, other_org):
    outsider = member(other_org, Role.ADMIN)
    response = login(outsider).get(reverse("manage_home", args=[org.slug]))
    assert response.status_code == 404
    assert org.name not in response.content.decode()
