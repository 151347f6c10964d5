"""The ambassador's e-mail preferences page (/o/<slug>/me/notifications/): the current choices,
saving them, refusing what a kind doesn't offer; another organisation's page and e-mails are
not found."""

import pytest

from ambassadors.models import Ambassador
from notifications.models import Frequency, Kind, Preference
from notifications.preferences import DEFAULTS, frequency_for, set_frequency
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, CampaignFactory, DeliveryFactory, member

pytestmark = pytest.mark.django_db


def ambassador_of(org, user) -> Ambassador:
    with tenant_scope(org):
        return Ambassador.objects.get(user=user)


@pytest.fixture
def seller(org):
    return ambassador_of(org, member(org, Role.AMBASSADOR, ambassador=True, email="seller@acme.test"))


def page(org) -> str:
    return f"/o/{org.slug}/me/notifications/"


def test_the_page_shows_the_defaults_and_saves_a_choice(org, seller, client):
    client.force_login(seller.user)
    response = client.get(page(org))
    assert response.status_code == 200
    html = response.content.decode()
    for kind, frequency in DEFAULTS.items():
        assert f'name="{kind}" value="{frequency}"' in html and "checked" in html
    assert 'name="digest" value="daily"' not in html  # a digest is weekly or off

    saved = client.post(page(org), {Kind.CAMPAIGN_NEW: "daily", Kind.DIGEST: "off", Kind.REMINDER: "immediately"})
    assert saved.status_code == 302 and saved["Location"] == page(org)
    with tenant_scope(org):
        assert frequency_for(seller, Kind.CAMPAIGN_NEW) == Frequency.DAILY
        assert frequency_for(seller, Kind.DIGEST) == Frequency.OFF
    assert b"Your e-mail choices are saved." in client.get(page(org)).content


def test_the_home_page_leads_to_the_preferences(org, seller, client):
    client.force_login(seller.user)
    home = client.get(f"/o/{org.slug}/").content.decode()
    assert f'href="{page(org)}"' in home


def test_a_frequency_the_kind_does_not_offer_is_refused(org, seller, client):
    client.force_login(seller.user)
    response = client.post(page(org), {Kind.CAMPAIGN_NEW: "daily", Kind.DIGEST: "daily", Kind.REMINDER: "off"})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    with tenant_scope(org):
        assert not Preference.objects.filter(ambassador=seller).exists()  # nothing half-saved


def test_the_page_lists_my_own_recent_emails_only(org, seller, client):
    campaign = CampaignFactory(organization=org, name="Mine to read")
    DeliveryFactory(organization=org, ambassador=seller, campaign=campaign, status="sent")
    other = AmbassadorFactory(organization=org)
    DeliveryFactory(organization=org, ambassador=other, campaign=CampaignFactory(organization=org, name="Not mine"))
    client.force_login(seller.user)
    html = client.get(page(org)).content.decode()
    assert "Mine to read" in html and "Not mine" not in html


def test_a_member_without_an_ambassador_profile_gets_404(org, admin_user, client):
    client.force_login(admin_user)
    assert client.get(page(org)).status_code == 404


def test_another_organisations_page_is_not_found(org, other_org, seller, client):
    rival = member(other_org, Role.AMBASSADOR, ambassador=True, email="rival@rival.test")
    rival_ambassador = ambassador_of(other_org, rival)
    with tenant_scope(other_org):
        set_frequency(rival_ambassador, Kind.CAMPAIGN_NEW, Frequency.WEEKLY)
    DeliveryFactory(organization=other_org, ambassador=rival_ambassador,
                    campaign=CampaignFactory(organization=other_org, name="Rival secret"))
    client.force_login(seller.user)
    assert client.get(page(other_org)).status_code == 404
    assert client.post(page(other_org), {Kind.CAMPAIGN_NEW: "off", Kind.DIGEST: "off",
                                         Kind.REMINDER: "off"}).status_code == 404
    assert "Rival secret" not in client.get(page(org)).content.decode()
    with tenant_scope(other_org):
        assert frequency_for(rival_ambassador, Kind.CAMPAIGN_NEW) == Frequency.WEEKLY


def test_logged_out_visitors_are_sent_to_sign_in(org, client):
    response = client.get(page(org))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
