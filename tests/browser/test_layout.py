"""The main pages at a phone's width (375 px) and at desktop width (1280 px): nothing widens the page
beyond the screen, the menu works (folded behind "Menu" on the phone), and a screenshot of every page
is kept in test-artifacts/screenshots/<page>-<width>.png for a person to look at."""

from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ambassadors.models import Status
from campaigns.models import CampaignStatus
from tenancy.models import Role
from tests.factories import (
    AmbassadorFactory,
    CampaignFactory,
    CostFactory,
    GroupFactory,
    LinkFactory,
    MessageFactory,
    member,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDTHS = {375: 800, 1280: 900}


@pytest.fixture
def programme(org):
    """A small but realistic programme: campaigns with messages and costs, ambassadors in groups, links."""
    sales = GroupFactory(organization=org, name="Sales")
    webinar = CampaignFactory(organization=org, name="Spring webinar: ambassador programmes that work",
                              destination_url="https://www.example.com/webinars/2026/spring-ambassador-programmes"
                                              "?utm_placeholder=very-long-parameter-value-that-does-not-wrap")
    launch = CampaignFactory(organization=org, name="Autumn launch", status=CampaignStatus.DRAFT)
    for campaign in (webinar, launch):
        MessageFactory(campaign=campaign, channel="linkedin")
        MessageFactory(campaign=campaign, channel="x", text="Our webinar: {link}")
        CostFactory(campaign=campaign, amount=Decimal("1250.00"))
    ambassador = member(org, Role.AMBASSADOR, email="ada.longname-lovelace@ambassadors.example.com",
                        first_name="Ada", last_name="Lovelace")
    me = AmbassadorFactory(organization=org, user=ambassador, display_name="Ada Lovelace")
    me.groups.add(sales)
    LinkFactory(campaign=webinar, ambassador=me)
    for i, status in enumerate([Status.ACTIVE, Status.ACTIVE, Status.PENDING, Status.INVITED, Status.PAUSED]):
        other = AmbassadorFactory(organization=org, display_name=f"Ambassador number {i} with a rather long name",
                                  status=status)
        LinkFactory(campaign=webinar, ambassador=other)
    return {
        "ambassador": ambassador, "webinar": webinar,
        "manager": member(org, Role.MANAGER, email="manager@acme.test"),
        "admin": member(org, Role.ADMIN, email="admin@acme.test"),
    }


def pages_for(role, org, programme):
    base = f"/o/{org.slug}"
    if role == "ambassador":
        return {"org-home": f"{base}/", "my-campaigns": f"{base}/campaigns/",
                "campaign-detail": f"{base}/campaigns/{programme['webinar'].public_id}/",
                "my-profile": f"{base}/profile/"}
    if role == "manager":
        return {"reports-home": f"{base}/reports/", "leaderboard": f"{base}/reports/leaderboard/",
                "roi-list": f"{base}/reports/roi/", "funnel": f"{base}/reports/funnel/",
                "model-comparison": f"{base}/reports/models/"}
    return {"manage-home": f"{base}/manage/", "campaigns-manage": f"{base}/manage/campaigns/",
            "ambassadors-list": f"{base}/ambassadors/", "attribution-settings": f"{base}/manage/attribution/",
            "api-keys": f"{base}/manage/api-keys/"}


NAV_LINKS = {"ambassador": ["Home", "Campaigns", "My profile"],
             "manager": ["Home", "Reports", "Leaderboard", "Ambassadors"],
             "admin": ["Home", "Reports", "Ambassadors", "Manage"]}


def check_menu(page, role, width, screenshot=None):
    nav = page.get_by_role("navigation", name="Main")
    menu = page.locator("details.navmenu > summary")
    links = [nav.get_by_role("link", name=name, exact=True) for name in NAV_LINKS[role]]
    if width < 900:
        expect(menu).to_be_visible()
        expect(links[0]).to_be_hidden()
        menu.click()
        for link in links:
            expect(link).to_be_visible()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        if screenshot:
            page.screenshot(path=str(screenshot))
        assert no_overflow(page)
        menu.click()
        expect(links[0]).to_be_hidden()
    else:
        expect(menu).to_be_hidden()
        for link in links:
            expect(link).to_be_visible()
    if role != "admin":
        expect(nav.get_by_role("link", name="Manage", exact=True)).to_have_count(0)


def no_overflow(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def overflowing_elements(page):
    return page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').trim().slice(0, 40))""")


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("role", ["ambassador", "manager", "admin"])
def test_main_pages_fit_the_screen_and_the_menu_works(page, log_in, live_server, org, programme, role, width):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": WIDTHS[width]})
    log_in(programme[role])
    pages = pages_for(role, org, programme)
    first = next(iter(pages))
    for name, path in pages.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, f"{name}: {response.status}"
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        # The report pages' own screenshots (<page>-<width>.png, with a busy programme) are taken by
        # test_report_layout.py; here they show a programme without activity yet.
        shot = f"{name}-no-activity-{width}.png" if role == "manager" else f"{name}-{width}.png"
        page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
        assert no_overflow(page), f"{name} at {width}px is wider than the screen: {overflowing_elements(page)}"
        check_menu(page, role, width, screenshot=ARTIFACTS / f"menu-{role}-{width}.png" if name == first else None)
