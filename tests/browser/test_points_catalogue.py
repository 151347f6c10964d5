"""The rewards catalogue in Chromium under the site's strict CSP: the ambassador goes from My earnings
to the catalogue, redeems an item with their reward points and sees why another can't be redeemed; an
admin reaches the redemptions queue from the admin index and declines it with a note (the Decline button
posts to its own address with `formaction`), and the points are back."""

import pytest
from playwright.sync_api import expect

from rewards.models import Redemption
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import CatalogueItemFactory, MembershipFactory, member
from tests.support.browser import CspWatch
from tests.support.points import earn, invited_ambassador

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_redeem_then_an_admin_declines_and_the_points_come_back(page, log_in, live_server, org):
    ada = invited_ambassador(org, display_name="Ada Lovelace", user__email="ada@acme.test")
    MembershipFactory(organization=org, user=ada.user, role=Role.AMBASSADOR)
    earn(ada, 700)
    hoodie = CatalogueItemFactory(organization=org, name="Hoodie", points_cost=500, stock=2)
    CatalogueItemFactory(organization=org, name="Castle", points_cost=5000)
    admin = member(org, Role.ADMIN, email="admin@acme.test")
    csp = CspWatch(page.context)

    log_in(ada)
    page.goto(f"{live_server.url}/o/{org.slug}/me/earnings/")
    page.get_by_role("link", name="Spend your points in the rewards catalogue").click()
    expect(page.get_by_role("heading", name="Rewards catalogue")).to_be_visible()
    expect(page.locator("[data-points=balance]")).to_have_text("700")
    expect(page.locator("tr", has_text="Castle")).to_contain_text("You have 700 points; this needs 5,000.")
    page.get_by_role("button", name="Redeem Hoodie for 500 points").click()
    expect(page.locator(".message.success")).to_contain_text("Requested: Hoodie for 500 points")
    expect(page.locator("[data-points=balance]")).to_have_text("200")
    expect(page.locator("[data-redemption] [data-status]")).to_have_text("Requested")
    csp.assert_clean()

    page.context.clear_cookies()
    log_in(admin)
    page.goto(f"{live_server.url}/o/{org.slug}/manage/")
    page.get_by_role("link", name="Rewards catalogue").click()
    page.get_by_role("link", name="Redemptions").first.click()
    row = page.locator("tr[data-redemption]", has_text="Ada Lovelace")
    row.get_by_label("Note for Ada Lovelace").fill("Out of sizes")
    row.get_by_role("button", name="Decline").click()
    expect(page.locator(".message.success")).to_contain_text("Declined; the points are back")
    with tenant_scope(org):
        redemption = Redemption.objects.get()
        assert (redemption.status, redemption.note) == ("declined", "Out of sizes")
        hoodie.refresh_from_db()
        assert hoodie.stock == 2
    csp.assert_clean()

    page.context.clear_cookies()
    log_in(ada)
    page.goto(f"{live_server.url}/o/{org.slug}/rewards/catalogue/")
    expect(page.locator("[data-points=balance]")).to_have_text("700")
    expect(page.locator("[data-redemption]")).to_contain_text("Out of sizes")
    csp.assert_clean()
