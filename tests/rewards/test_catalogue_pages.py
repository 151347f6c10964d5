"""The catalogue's pages and API: the ambassador's catalogue (balance as "reward points", items,
redeem, their redemptions), the admins' catalogue management and redemptions queue, the
redemptions/ and catalogue/ API with JSON errors; role walls and another organisation's 404s."""

import json

import pytest

from rewards.models import AuditEntry, CatalogueItem, Redemption
from rewards.selectors.points import points_balance
from rewards.services import points as service
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import (
    CatalogueItemFactory,
    GroupFactory,
    MembershipFactory,
    OrganizationFactory,
    RedemptionFactory,
    member,
)
from tests.support.points import earn, invited_ambassador
from tests.support.responses import content


@pytest.fixture
def admin(org):
    return member(org, Role.ADMIN, email="admin@acme.test")


@pytest.fixture
def ada(org):
    ambassador = invited_ambassador(org, display_name="Ada Lovelace", email="ada@acme.test",
                                    user__email="ada@acme.test")
    member_of(org, ambassador)
    earn(ambassador, 700)
    earn(ambassador, 80, status="pending")
    return ambassador


def member_of(org, ambassador):
    MembershipFactory(organization=org, user=ambassador.user, role=Role.AMBASSADOR)


@pytest.fixture
def hoodie(org):
    return CatalogueItemFactory(organization=org, name="Hoodie", points_cost=500, stock=3)


def api(client, method, url, body=None):
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json")


def test_the_ambassador_sees_reward_points_redeems_and_is_told_why_not(org, ada, hoodie, login):
    CatalogueItemFactory(organization=org, name="Castle", points_cost=5000)
    partners = GroupFactory(organization=org, name="Partners")
    secret = CatalogueItemFactory(organization=org, name="Partner dinner", points_cost=1)
    secret.groups.add(partners)
    client = login(ada.user)
    url = f"/o/{org.slug}/rewards/catalogue/"
    page = content(client.get(url))
    assert "Reward points to spend" in page and 'data-points="balance">700<' in page
    assert 'data-points="pending">80<' in page
    assert "Hoodie" in page and "Partner dinner" not in page  # another group's item isn't shown
    assert "You have 700 points; this needs 5,000." in page  # the castle's button says why not

    response = client.post(f"/o/{org.slug}/rewards/catalogue/{hoodie.public_id}/redeem/", follow=True)
    page = content(response)
    assert "Requested: Hoodie for 500 points" in page and 'data-points="balance">200<' in page
    assert 'data-status="requested"' in page

    refused = client.post(f"/o/{org.slug}/rewards/catalogue/{hoodie.public_id}/redeem/")
    assert refused.status_code == 400
    assert "You have 200 points; this needs 500." in content(refused)
    with tenant_scope(org):
        assert Redemption.objects.count() == 1


def test_the_admin_adds_edits_and_deletes_items_with_audit(org, admin, login):
    group = GroupFactory(organization=org, name="Partners")
    client = login(admin)
    url = f"/o/{org.slug}/manage/rewards/catalogue/"
    bad = client.post(url, {"name": "Mug", "points_cost": "0", "active": "on"})
    assert bad.status_code == 400 and "Ensure this value is greater than or equal to 1." in content(bad)
    response = client.post(url, {"name": "Mug", "description": "A big one", "points_cost": "250", "stock": "10",
                                 "groups": [group.pk], "active": "on"}, follow=True)
    assert "Added “Mug” to the catalogue." in content(response)
    with tenant_scope(org):
        item = CatalogueItem.objects.get(name="Mug")
        assert (item.points_cost, item.stock, list(item.groups.all()), item.active) == (250, 10, [group], True)
    edit = f"/o/{org.slug}/manage/rewards/catalogue/{item.public_id}/"
    assert client.get(edit).status_code == 200
    client.post(edit, {"name": "Mug", "description": "A big one", "points_cost": "300", "stock": "", "groups": []})
    with tenant_scope(org):
        item.refresh_from_db()
        assert (item.points_cost, item.stock, item.active) == (300, None, False)  # unticked: withdrawn
        change = AuditEntry.objects.get(action="catalogue_item.changed")
        assert change.actor == admin and change.before["points_cost"] == 250 and change.after["active"] is False
        RedemptionFactory(organization=org, item=item)
    refused = client.post(f"{edit}delete/", follow=True)
    assert "deactivate it instead" in content(refused)
    other = CatalogueItemFactory(organization=org, name="Sticker")
    client.post(f"/o/{org.slug}/manage/rewards/catalogue/{other.public_id}/delete/")
    with tenant_scope(org):
        assert not CatalogueItem.objects.filter(pk=other.pk).exists()


def test_the_redemptions_queue_approves_fulfils_and_declines(org, ada, hoodie, admin, login):
    with tenant_scope(org):
        redemption = service.request_redemption(ada, hoodie)
    client = login(admin)
    queue = f"/o/{org.slug}/manage/rewards/redemptions/"
    page = content(client.get(queue))
    assert "Ada Lovelace" in page and "needs approval" in page
    base = f"{queue}{redemption.public_id}/"
    page = content(client.post(f"{base}fulfil/", {"status_filter": "requested"}, follow=True))
    assert "Approve this redemption before marking it fulfilled." in page
    client.post(f"{base}approve/", {"note": "Size M on its way"})
    client.post(f"{base}fulfil/")
    redemption.refresh_from_db()
    assert (redemption.status, redemption.note) == ("fulfilled", "Size M on its way")
    page = content(client.post(f"{base}decline/", follow=True))
    assert "can&#x27;t be declined" in page or "can't be declined" in page

    with tenant_scope(org):
        second = service.request_redemption(ada, CatalogueItemFactory(organization=org, points_cost=100))
    assert second.status == "approved"  # their first was approved: this one needed nobody
    client.post(f"{queue}{second.public_id}/decline/", {"note": "Discontinued"})
    with tenant_scope(org):
        second.refresh_from_db()
        assert second.status == "declined"
        assert points_balance(ada) == 200  # 700 − 500 (fulfilled); the declined 100 came back
    mine = content(login(ada.user).get(f"/o/{org.slug}/rewards/catalogue/"))
    assert "Discontinued" in mine and "points returned" in mine


def test_the_api_lists_creates_and_decides_with_json_errors(org, ada, hoodie, admin, manager, login, client):
    base = f"/api/v1/o/{org.slug}/"
    login(ada.user)
    catalogue = client.get(f"{base}catalogue/").json()
    assert catalogue["balance"] == 700
    assert catalogue["items"][0]["id"] == str(hoodie.public_id) and catalogue["items"][0]["available"] is True
    created = api(client, "post", f"{base}redemptions/", {"item": str(hoodie.public_id)})
    assert created.status_code == 201 and created.json()["status"] == "requested"
    refused = api(client, "post", f"{base}redemptions/", {"item": str(hoodie.public_id)})
    assert refused.status_code == 400 and refused.json() == {"points": ["You have 200 points; this needs 500."]}
    assert api(client, "post", f"{base}redemptions/", {"item": "nope"}).json() == {"item": ["Must be a valid UUID."]}
    missing = api(client, "post", f"{base}redemptions/", {"item": "00000000-0000-0000-0000-000000000000"})
    assert missing.status_code == 400 and missing.json() == {"item": ["No such item in the catalogue."]}
    listed = client.get(f"{base}redemptions/").json()
    assert [r["id"] for r in listed["results"]] == [created.json()["id"]]
    approve = f"{base}redemptions/{created.json()['id']}/approve/"
    assert api(client, "post", approve).status_code == 403  # ambassadors don't decide

    login(manager)
    assert client.get(f"{base}redemptions/").json()["count"] == 1  # managers read everything
    assert api(client, "post", approve).status_code == 403
    assert client.get(f"{base}catalogue/").status_code == 403  # no ambassador profile, no points

    login(admin)
    approved = api(client, "post", approve, {"note": "OK"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = api(client, "post", approve)
    assert again.status_code == 409 and again.json() == {"detail": "This redemption is already approved."}
    declined = api(client, "post", f"{base}redemptions/{created.json()['id']}/decline/", {"note": "x" * 301})
    assert declined.status_code == 400 and "note" in declined.json()
    assert client.get(f"{base}redemptions/", {"status": "approved"}).json()["count"] == 1
    assert client.get(f"{base}redemptions/", {"status": "bogus"}).status_code == 400
    assert client.get(f"{base}redemptions/", {"mine": "true"}).json()["count"] == 0


def test_pages_are_for_their_roles(org, ada, manager, login, client):
    login(ada.user)
    for url in ("manage/rewards/catalogue/", "manage/rewards/redemptions/", "manage/rewards/settings/"):
        assert client.get(f"/o/{org.slug}/{url}").status_code == 403
    login(manager)
    assert client.get(f"/o/{org.slug}/manage/rewards/redemptions/").status_code == 403
    page = client.get(f"/o/{org.slug}/rewards/catalogue/")
    assert page.status_code == 200 and "no ambassador profile" in content(page)


def test_another_organisations_items_and_redemptions_are_404(org, ada, admin, login, client):
    other = OrganizationFactory(slug="rival")
    theirs = invited_ambassador(other)
    earn(theirs, 1000)
    item = CatalogueItemFactory(organization=other, points_cost=10)
    redemption = RedemptionFactory(organization=other, item=item, ambassador=theirs)
    login(admin)
    for url in (f"/o/{org.slug}/manage/rewards/catalogue/{item.public_id}/",
                f"/api/v1/o/{org.slug}/redemptions/{redemption.public_id}/",
                f"/o/{other.slug}/manage/rewards/catalogue/", f"/api/v1/o/{other.slug}/redemptions/"):
        assert client.get(url).status_code == 404, url
    for url in (f"/o/{org.slug}/manage/rewards/catalogue/{item.public_id}/delete/",
                f"/o/{org.slug}/manage/rewards/redemptions/{redemption.public_id}/decline/",
                f"/api/v1/o/{org.slug}/redemptions/{redemption.public_id}/decline/"):
        assert client.post(url).status_code == 404, url
    login(ada.user)
    assert client.post(f"/o/{org.slug}/rewards/catalogue/{item.public_id}/redeem/").status_code == 404
    body = api(client, "post", f"/api/v1/o/{org.slug}/redemptions/", {"item": str(item.public_id)})
    assert body.status_code == 400 and body.json() == {"item": ["No such item in the catalogue."]}
    with tenant_scope(other):
        redemption.refresh_from_db()
        assert redemption.status == "requested" and CatalogueItem.objects.get(pk=item.pk).stock is None
