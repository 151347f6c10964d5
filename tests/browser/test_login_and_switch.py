"""What a user notices in a real browser: logging in, landing in the right place, switching
organisations, and being kept out of what is not theirs."""

import re

import pytest
from playwright.sync_api import expect

from tenancy.models import Role
from tests.factories import AmbassadorFactory, MembershipFactory, UserFactory, member

from .conftest import SCREENSHOTS

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def switch_to(page, org_name):
    switcher = page.locator("details.switcher")
    switcher.locator("summary").click()
    switcher.get_by_role("link", name=re.compile(rf"^{re.escape(org_name)}\b")).click()


def test_manager_sees_dashboard_and_only_own_ambassadors(page, log_in, live_server, org, other_org):
    manager = member(org, Role.MANAGER, email="manager@acme.test")
    AmbassadorFactory(organization=org, display_name="Alice Acmeson")
    AmbassadorFactory(organization=other_org, display_name="Rita Rivalova")

    log_in(manager)

    expect(page).to_have_url(f"{live_server.url}/o/{org.slug}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(org.name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    ambassadors_link = main_nav(page).get_by_role("link", name="Ambassadors", exact=True)
    expect(ambassadors_link).to_be_visible()
    ambassadors_link.click()

    expect(page).to_have_url(f"{live_server.url}/o/{org.slug}/ambassadors/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ambassadors")
    table = page.locator("main table")
    expect(table.get_by_role("link", name="Alice Acmeson")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Rita Rivalova")


def test_member_of_two_orgs_switches_between_dashboard_and_portal(page, log_in, live_server, org, other_org):
    user = UserFactory(email="casey@example.com", first_name="Casey", last_name="Consultant")
    MembershipFactory(organization=org, user=user, role=Role.MANAGER)
    MembershipFactory(organization=other_org, user=user, role=Role.AMBASSADOR)
    AmbassadorFactory(organization=other_org, user=user, display_name="Casey Consultant")

    log_in(user)

    # Two organisations: the list, not a guess.
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your organisations")
    expect(page.locator("main").get_by_role("link", name=org.name)).to_be_visible()
    expect(page.locator("main").get_by_role("link", name=other_org.name)).to_be_visible()

    switch_to(page, other_org.name)
    expect(page).to_have_url(f"{live_server.url}/o/{other_org.slug}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Casey Consultant")
    expect(page.locator("details.switcher summary")).to_have_text(other_org.name)
    expect(main_nav(page).get_by_role("link", name="Home", exact=True)).to_be_visible()
    expect(main_nav(page).get_by_role("link", name="Ambassadors", exact=True)).to_have_count(0)

    switch_to(page, org.name)
    expect(page).to_have_url(f"{live_server.url}/o/{org.slug}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(org.name)
    expect(page.locator("details.switcher summary")).to_have_text(org.name)
    expect(main_nav(page).get_by_role("link", name="Ambassadors", exact=True)).to_be_visible()


def test_ambassador_is_refused_settings_and_other_orgs(page, log_in, live_server, org, other_org):
    ambassador = member(org, Role.AMBASSADOR, ambassador=True, email="amb@acme.test")
    log_in(ambassador)
    expect(page).to_have_url(f"{live_server.url}/o/{org.slug}/")

    response = page.goto(f"{live_server.url}/o/{org.slug}/manage/settings/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.locator("main")).to_contain_text("admin role")

    response = page.goto(f"{live_server.url}/o/{other_org.slug}/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.locator("main")).not_to_contain_text(other_org.name)
