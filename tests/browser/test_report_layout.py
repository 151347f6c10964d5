"""Every report page at desktop width (1280 px) and at a phone's width (375 px), in Chromium, with data
that stresses the layout: the demo programme with a long campaign name, a long unbreakable ambassador name,
revenue a thousand times the demo's (millions) and a spend of almost a million on one campaign.

A page fails when
* the page itself is wider than the screen (document scrollWidth > clientWidth), or
* a table cell or header, a chart or a figure lies outside the screen, or is cut off by an ancestor that
  clips (overflow hidden/auto/scroll/clip: a scrolling box counts, the column behind it is hidden), or a
  cell's content spills out of the cell, or
* at 375 px, a main report table (ROI, leaderboard, models, funnel per campaign, the overview's top
  ambassadors, the portal's leaderboard; and two tables that static/js/tables.js stacks because they are
  too wide: the ROI detail's ambassadors' time, My earnings' totals) is not shown as stacked rows, or one
  of its values is shown without its column name (the cell's data-label, drawn by CSS ::before), or
* a page shows template code ({# … #}, {% … %}, {{ … }}).

A screenshot of every page is kept in test-artifacts/screenshots/<page>-<width>.png (gitignored), for a
person to look at."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from accounts.models import User
from ambassadors.models import Ambassador
from campaigns.models import Campaign, CampaignStatus
from reports.models import ProgrammeReport, ReportStatus
from tenancy.models import Organization
from tenancy.scoping import tenant_scope
from tests.factories import CostFactory
from tests.support.browser import CspWatch
from tests.support.earnings import build_ledger
from tracking.models import (
    Credit,
    DailyAmbassadorCredits,
    DailyCampaignCredits,
    DailyCreditRollup,
    Sale,
    WeeklyAmbassadorCredits,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDTHS = {1280: 900, 375: 800}
DEMO_PASSWORD = "demo-pass-2026"
LONG_CAMPAIGN = "Spring webinar 2026: ambassador programmes that pay for themselves, for enterprise customers"
LONG_AMBASSADOR = "Maximiliane Wolfeschlegelsteinhausenbergerdorff-Montgomery"
REVENUE_FACTOR = 1000  # the demo's sales are in the thousands: make them millions


@dataclass
class Programme:
    org: Organization
    manager: User
    ambassador: User
    campaign: Campaign  # the long-named one
    someone: Ambassador  # the long-named one


@pytest.fixture
def programme(settings, tmp_path):
    settings.CLICK_SPOOL_DIR = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - closed with the process
    with scopes_disabled():
        org = Organization.objects.get(slug="northwind")
        ambassador = User.objects.get(email="ambassador@northwind.example")
        manager = User.objects.get(email="manager@northwind.example")
    with tenant_scope(org):
        # Big money everywhere the reports read it: sales, their credits and every credit rollup.
        Sale.objects.update(amount=F("amount") * REVENUE_FACTOR)
        Credit.objects.update(amount=F("amount") * REVENUE_FACTOR)
        for rollup in (DailyCreditRollup, DailyAmbassadorCredits, WeeklyAmbassadorCredits, DailyCampaignCredits):
            rollup.objects.update(revenue_cents=F("revenue_cents") * REVENUE_FACTOR)
        campaign = Campaign.objects.filter(status=CampaignStatus.ACTIVE).order_by("pk").first()
        campaign.name = LONG_CAMPAIGN
        campaign.save(update_fields=["name"])
        CostFactory(organization=org, campaign=campaign, amount=Decimal("987654.32"),
                    date=timezone.localdate() - timedelta(days=5),
                    note="Trade fair stand, video production and paid promotion on four networks")
        someone = Ambassador.objects.filter(status="active").exclude(user=ambassador).order_by("pk").first()
        someone.display_name = LONG_AMBASSADOR
        someone.save(update_fields=["display_name"])
        # The PDF page's list: a ready report and one that failed, with a long reason.
        today = timezone.localdate()
        ProgrammeReport.objects.create(organization=org, period_key="90d", period_start=today - timedelta(days=89),
                                       period_end=today, status=ReportStatus.READY, file="reports/x.pdf",
                                       size=1_234_567, requested_by=manager)
        ProgrammeReport.objects.create(organization=org, period_key="30d", period_start=today - timedelta(days=29),
                                       period_end=today, status=ReportStatus.FAILED, requested_by=manager,
                                       failure="Could not be stored: StorageQuotaExceededErrorForTheOrganisationBucket")
    build_ledger(org, ambassador)  # My earnings: money in two currencies, points, a payout, a refund
    return Programme(org=org, manager=manager, ambassador=ambassador, campaign=campaign, someone=someone)


# Main tables that must be stacked rows, each value labelled, at 375 px: page -> CSS selectors.
STACKED = {
    "reports-home": ["#top-ambassadors"],
    "leaderboard": ["#leaderboard"],
    "leaderboard-fair": ["#fair-view"],
    "roi": ["#roi-table"],
    "funnel": ["#funnel-campaigns table"],
    "models": ["#models-table"],
    "models-by-campaign": ["#models-table"],
    "portal": ["table.leaderboard"],
    # Tables without labels in their template, too wide for a phone: static/js/tables.js labels and stacks them.
    "roi-detail": ["#roi-time table"],
    "my-earnings": ["#money-totals"],
}


def manager_pages(p: Programme) -> dict[str, str]:
    base = f"/o/{p.org.slug}"
    return {
        "reports-home": f"{base}/reports/?period=90d",
        "leaderboard": f"{base}/reports/leaderboard/?period=90d",
        "leaderboard-fair": f"{base}/reports/leaderboard/?period=90d&view=fair",
        "roi": f"{base}/reports/roi/?period=90d",
        "roi-detail": f"{base}/reports/roi/{p.campaign.public_id}/?period=90d",
        "funnel": f"{base}/reports/funnel/?period=90d",
        "models": f"{base}/reports/models/?period=90d",
        "models-by-campaign": f"{base}/reports/models/?period=90d&by=campaign",
        "digest": f"{base}/reports/digest/",
        "roi-channel": f"{base}/reports/roi/?period=90d&channel=linkedin",
        "ambassador-performance": f"{base}/reports/ambassadors/{p.someone.public_id}/?period=90d",
        "pdf": f"{base}/reports/pdf/",
        "dashboard": f"{base}/",
        "ambassadors": f"{base}/ambassadors/",
        "ambassador-detail": f"{base}/ambassadors/{p.someone.public_id}/",
    }


def ambassador_pages(p: Programme) -> dict[str, str]:
    base = f"/o/{p.org.slug}"
    return {
        "portal": f"{base}/?period=90d",
        "my-campaigns": f"{base}/campaigns/",
        "my-campaign": f"{base}/campaigns/{p.campaign.public_id}/",
        "points-catalogue": f"{base}/rewards/catalogue/",
        "my-earnings": f"{base}/me/earnings/",
    }


# Returns the layout problems of the page as sentences. Hidden things (display:none, the visually-hidden
# pattern, closed <details>) have no box to check and are skipped.
LAYOUT_PROBLEMS = """(stacked) => {
  const problems = [];
  const root = document.documentElement;
  const vw = root.clientWidth;
  if (root.scrollWidth > vw) { problems.push(`the page is ${root.scrollWidth} px wide on a ${vw} px screen`); }
  // One line per place and kind of problem, naming the first few things it hides.
  const grouped = new Map();
  const note = (e, what) => {
    const table = e.closest('table');
    const holder = (table && table.id) ? table : e.closest('[id]');
    const where = (e.tagName === 'TD' || e.tagName === 'TH' ? 'cells' : e.tagName.toLowerCase())
      + (holder ? ` in #${holder.id}` : '');
    const key = `${where} ${what}`;
    if (!grouped.has(key)) { grouped.set(key, []); }
    const head = (table && table.tHead && e.tagName === 'TD') ? table.tHead.rows[table.tHead.rows.length - 1] : null;
    const column = head && head.cells[e.cellIndex] ? head.cells[e.cellIndex].textContent : '';
    const text = (e.getAttribute('data-label') || column || e.textContent || e.getAttribute('aria-label') || '')
      .trim().replace(/\\s+/g, ' ').slice(0, 30);
    grouped.get(key).push(text);
  };
  // Not drawn: no box, invisible, or inside something shrunk to a pixel (the visually-hidden pattern) or a
  // closed <details> (its content is skipped by content-visibility).
  const shown = (e, r) => {
    if (r.width <= 1 || r.height <= 1 || getComputedStyle(e).visibility === 'hidden') { return false; }
    if (e.closest('details:not([open])')) { return false; }
    for (let a = e.parentElement; a; a = a.parentElement) {
      const box = a.getBoundingClientRect();
      if (box.width <= 1 || box.height <= 1) { return false; }
    }
    return true;
  };
  const things = document.querySelectorAll(
    'main th, main td, main canvas, main svg:not(svg svg), main figure, main img');
  for (const e of things) {
    const r = e.getBoundingClientRect();
    if (!shown(e, r)) { continue; }
    if (r.left < -1 || r.right > vw + 1) { note(e, 'outside the screen'); continue; }
    if ((e.tagName === 'TD' || e.tagName === 'TH') && e.scrollWidth > e.clientWidth + 1) {
      note(e, `spill out of their cells (${e.scrollWidth} px in ${e.clientWidth} px)`); continue;
    }
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (style.overflowX === 'visible') { continue; }
      const box = a.getBoundingClientRect();
      const left = box.left + a.clientLeft, right = left + a.clientWidth;
      if (r.left < left - 1 || r.right > right + 1) {
        const classes = String(a.className || '').trim();
        const name = a.tagName.toLowerCase() + (classes ? '.' + classes.replace(/ +/g, '.') : '');
        note(e, `cut off by ${name} (overflow-x: ${style.overflowX})`);
        break;
      }
    }
  }
  for (const selector of stacked) {
    const tables = document.querySelectorAll(selector);
    if (!tables.length) { problems.push(`no table ${selector} on the page`); }
    for (const table of tables) {
      const row = table.querySelector('tbody tr');
      if (row && getComputedStyle(row).display === 'table-row') {
        problems.push(`${selector} is not shown as stacked rows`);
        continue;
      }
      for (const cell of table.querySelectorAll('tbody td, tbody th, tfoot td, tfoot th')) {
        if (cell.colSpan > 1 || !cell.textContent.trim() || cell.matches('th[scope=row]')) { continue; }
        const label = getComputedStyle(cell, '::before').content;
        if (!label || label === 'none' || label === 'normal' || label === '""') { note(cell, 'show no column name'); }
      }
    }
  }
  for (const [key, texts] of grouped) {
    const distinct = [...new Set(texts)];
    problems.push(`${texts.length} ${key}: ${distinct.slice(0, 8).map(t => `"${t}"`).join(', ')}`
      + (distinct.length > 8 ? ', …' : ''));
  }
  return problems;
}"""


def walk(page, live_server, pages: dict[str, str], width: int) -> list[str]:
    """Visit each page, save its screenshot, and return its layout problems."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, path in pages.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, f"{name}: {response.status}"
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.wait_for_load_state("networkidle")  # charts draw after the page's scripts ran
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        text = page.locator("body").inner_text()
        problems += [f"{name} at {width} px: template code shown: {text[text.index(mark):][:60]!r}"
                     for mark in ("{#", "{%", "{{") if mark in text]
        stacked = STACKED.get(name, []) if width < 600 else []
        problems += [f"{name} at {width} px: {problem}" for problem in page.evaluate(LAYOUT_PROBLEMS, stacked)]
    return problems


@pytest.mark.parametrize("width", list(WIDTHS))
def test_report_pages_fit_for_a_manager(page, log_in, live_server, programme, width):
    csp = CspWatch(page.context)
    page.set_viewport_size({"width": width, "height": WIDTHS[width]})
    log_in(programme.manager, DEMO_PASSWORD)
    problems = walk(page, live_server, manager_pages(programme), width)
    assert not problems, "\n".join(problems)
    csp.assert_clean()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_figures_fit_for_an_ambassador(page, log_in, live_server, programme, width):
    csp = CspWatch(page.context)
    page.set_viewport_size({"width": width, "height": WIDTHS[width]})
    log_in(programme.ambassador, DEMO_PASSWORD)
    problems = walk(page, live_server, ambassador_pages(programme), width)
    assert not problems, "\n".join(problems)
    if width < 600:  # My earnings' totals, stacked by static/js/tables.js: each amount says what it is
        page.goto(f"{live_server.url}{ambassador_pages(programme)['my-earnings']}")
        pending = page.locator("#money-totals tr[data-currency=EUR] td[data-status=pending]")
        expect(pending).to_have_attribute("data-label", "Pending")
        assert pending.evaluate("cell => getComputedStyle(cell, '::before').content") == '"Pending"'
    csp.assert_clean()
