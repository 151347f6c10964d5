"""The drill-down in Chromium under the site's strict CSP: a manager sorts the ambassadors list by
clicks, opens the busiest ambassador's performance, reads the figures the selector computes, sees the
trend chart drawn (axes titled with their units, the same numbers as the table) and switches to weeks;
the page fits 1280 and 375 px without the page scrolling sideways (screenshots kept in
test-artifacts/screenshots/). The programme is the drill-down tests' (tests/reports/test_ambassador_drilldown.py)."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from reports.selectors.ambassador import ambassador_performance
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.browser.test_charts import read_chart
from tests.factories import member
from tests.reports.test_ambassador_drilldown import flt, world  # noqa: F401 - the fixture
from tests.support.browser import CspWatch

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PERIOD = "period=custom&start=2026-03-02&end=2026-03-15"


def page_overflows(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth")


def test_a_manager_drills_down_from_the_sorted_list(page, log_in, live_server, world):  # noqa: F811
    manager = member(world.org, Role.MANAGER, email="manager@acme.test")
    with tenant_scope(world.org):
        expected = ambassador_performance(flt(world), world.ann.pk, grain="week")
    csp = CspWatch(page.context)
    log_in(manager)
    page.goto(f"{live_server.url}/o/{world.org.slug}/ambassadors/?{PERIOD}")
    page.locator("#ambassador-list thead a[data-sort=clicks]").click()
    page.wait_for_url(re.compile(r"sort=-clicks"))
    first = page.locator("#ambassador-list tbody tr").first
    expect(first).to_contain_text("Ann")
    expect(first.locator("td[data-col=clicks]")).to_have_text("20")
    expect(first.locator("td[data-col=earned]")).to_have_text("€25.00")
    expect(page.locator("#ambassador-list th[aria-sort=descending]")).to_contain_text("Clicks")

    first.get_by_role("link", name="Performance").click()
    expect(page.get_by_role("heading", name=re.compile("Performance of Ann"))).to_be_visible()
    totals = expected.totals
    shown = {
        "shares": str(totals.shares), "clicks": str(totals.clicks), "unique_clicks": str(totals.unique_clicks),
        "leads": "0.5", "customers": "0.5", "revenue": "€500.00", "points": "82.50", "time_cost": "€20.00",
        "earned": "€25.00", "reward_points": "30",
    }
    # The selector's figures, as the page shows them in their units.
    assert (totals.leads, totals.customers, totals.revenue, totals.points, totals.time_cost, totals.earned,
            totals.reward_points) == (Decimal("0.5"), Decimal("0.5"), Decimal("500.00"), Decimal("82.50"),
                                      Decimal("20.00"), Decimal("25.00"), 30)
    for name, text in shown.items():
        expect(page.locator(f"#amb-figures td[data-figure={name}]")).to_have_text(text)

    page.get_by_label("By", exact=True).select_option("week")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"grain=week"))
    expect(page.locator("#amb-periods > .table-scroll tbody tr")).to_have_count(2)
    chart = read_chart(page, "#ambassador-trend")
    assert chart is not None, "Chart.js did not draw the trend"
    titles = {scale["id"]: scale["title"] for scale in chart["scales"]}
    assert titles == {"x": "Week", "y": "Clicks and leads (count)", "y2": "Revenue (EUR)"}
    assert chart["labels"] == [line.label for line in expected.by_period]
    assert chart["data"] == [[line.figures.clicks for line in expected.by_period],
                             [float(line.figures.leads) for line in expected.by_period],
                             [float(line.figures.revenue) for line in expected.by_period]]
    campaigns = page.locator("#amb-campaigns tbody tr")
    expect(campaigns).to_have_count(2)
    expect(campaigns.first).to_contain_text("Spring")
    expect(page.locator("#amb-channels tbody tr").first).to_contain_text("LinkedIn")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        page.locator("#amb-figures").wait_for()
        assert not page_overflows(page), f"the drill-down scrolls sideways at {width} px"
        page.screenshot(path=str(ARTIFACTS / f"ambassador-drilldown-{width}.png"), full_page=True)
    csp.assert_clean()

