"""The three journeys of the web issue, in a real browser against the live server:

1. an ambassador copies their link and shares it; a visitor's click redirects to the destination
   with amb_cid; once processed, the click shows in the ambassador's figures;
2. a manager sees the leaderboard ordered as the data says and downloads a CSV that matches it;
3. an admin creates a campaign (post and cost included) and invites someone by e-mail; the invitee
   follows the e-mailed link, signs up and sees the campaign.

Each saves screenshots of the pages it passes through to test-artifacts/screenshots/. No network:
linkedin.com is a stub page (routed at the network layer; the site's own answers are never stubbed)
and the campaign's destination is a stub web server on 127.0.0.1 (`shop`). Every share button:
tests/browser/test_share_buttons.py."""

import csv
import re
import threading
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from ambassadors.models import Kind
from campaigns.linkcache import link_cache
from campaigns.models import Campaign, CampaignCost, CampaignMessage, CampaignStatus, ShareEvent, TrackedLink
from campaigns.services.links import record_share
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, click_rollup, member
from tracking import capture
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import Click, DailyClickRollup
from tracking.salts import forget_cached_salt
from tracking.services import attribution
from tracking.services.click_processing import process_pending
from tracking.services.conversions import record_lead, record_sale

from .conftest import TIMEOUT_MS

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# A desktop Chrome's user agent: HeadlessChrome's own is (rightly) classified as a bot.
VISITOR_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/130.0.0.0 Safari/537.36")
STUB_PAGE = "<!doctype html><title>Stub</title><h1>{}</h1>"


def shot(page, journey: int, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"journey-{journey}-{step}.png"), full_page=True)


@pytest.fixture
def fresh_page(browser):
    """Another person's browser: `fresh_page(**context_options)` opens a page in a new context."""
    contexts = []

    def _open(**options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def site_url(settings, live_server):
    """Short links and e-mailed links point at the live server."""
    settings.SITE_URL = live_server.url
    return live_server.url


@pytest.fixture
def spool_capture(settings, tmp_path):
    """Clicks are captured to a spool (the production default) that the test drains by hand."""
    settings.CLICK_CAPTURE = "spool"
    settings.CLICK_SPOOL_DIR = tmp_path / "spool"
    settings.CLICK_SPOOL_DRAIN_THREAD = False
    capture.reset_spool()
    link_cache.clear()
    forget_cached_salt()
    yield
    capture.reset_spool()
    link_cache.clear()
    forget_cached_salt()


@pytest.fixture
def eager_celery(settings):
    """Tasks queued by a page (the invitation e-mail) run at once, in the live server's thread."""
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def shop():
    """The campaign's destination: a stub web server on 127.0.0.1 (`shop.url`), which remembers the
    paths it served (`shop.requests`). Playwright can't route the request a redirect leads to, so the
    browser really follows the 302 to it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/favicon"):
                self.send_error(404)
                return
            server.requests.append(self.path)
            body = STUB_PAGE.format("Spring shop").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.requests = []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url(live_server, name, *args, **kwargs):
    return live_server.url + reverse(name, args=args, kwargs=kwargs or None)


# --- 1. The ambassador --------------------------------------------------------------------------------

def test_ambassador_copies_shares_and_sees_the_click(page, fresh_page, log_in, live_server, site_url, spool_capture,
                                                     shop, org):
    ambassador_user = member(org, Role.AMBASSADOR, ambassador=True, email="amb@acme.test")
    with tenant_scope(org):
        campaign = Campaign.objects.create(organization=org, name="Spring launch", slug="spring",
                                           status=CampaignStatus.ACTIVE,
                                           destination_url=shop.url + "/spring")
        CampaignMessage.objects.create(organization=org, campaign=campaign, channel="linkedin",
                                       text="Our spring range is out: {link}")

    log_in(ambassador_user)
    expect(page).to_have_url(url(live_server, "org_home", org.slug))
    shot(page, 1, "home-before")

    page.goto(url(live_server, "my_campaigns", org.slug))
    page.get_by_role("link", name="Spring launch").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Spring launch")
    with tenant_scope(org):
        link = TrackedLink.objects.get(campaign=campaign, ambassador__user=ambassador_user)
        ambassador = link.ambassador
    short = f"{live_server.url}/l/{link.code}"
    expect(page.get_by_label("Short link (anywhere)")).to_have_value(short)
    shot(page, 1, "campaign")

    # Copy: the short link lands on the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_role("button", name="Copied", exact=True)).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == short

    # Share on LinkedIn: the button opens LinkedIn's share dialog for the LinkedIn variant of the link in a
    # new window, and the page records the share once the window is open. Only linkedin.com is stood in
    # for (no network here), at the network layer; the site's own answers are real.
    dialogs = []

    def to_stub_dialog(route):
        dialogs.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body=STUB_PAGE.format("LinkedIn share dialog"))

    page.context.route("https://www.linkedin.com/**", to_stub_dialog)
    with page.expect_popup() as popup_info, page.expect_response(
            lambda r: r.request.method == "POST" and f"/links/{link.code}/share/linkedin/" in r.url) as recorded:
        page.get_by_role("link", name="Share on LinkedIn").click()
    popup = popup_info.value
    expect(popup.get_by_role("heading", name="LinkedIn share dialog")).to_be_visible()
    assert recorded.value.status == 201 and recorded.value.json()["recorded"] is True
    [dialog] = dialogs
    assert popup.url == dialog and dialog.startswith("https://www.linkedin.com/sharing/share-offsite/?url=")
    assert parse_qs(urlsplit(dialog).query)["url"] == [f"{short}/li"]
    popup.close()
    with tenant_scope(org):
        assert list(ShareEvent.objects.values_list("ambassador_id", "channel")) == [(ambassador.pk, "linkedin")]

    # A visitor, in their own browser, opens the link: 302 to the shop, with the click id.
    visitor = fresh_page(user_agent=VISITOR_UA)
    landed = visitor.goto(short)
    first_hop = landed.request.redirected_from
    assert first_hop is not None and first_hop.url == short and first_hop.response().status == 302
    expect(visitor.get_by_role("heading", name="Spring shop")).to_be_visible()
    parts = urlsplit(visitor.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == shop.url + "/spring"
    [served] = shop.requests
    [click_id] = parse_qs(urlsplit(served).query)["amb_cid"]
    shot(visitor, 1, "visitor-landed")

    # The click pipeline (a Celery task in production): spool → raw clicks → clicks and rollups.
    assert capture.spool().flush_now() == 1
    with scopes_disabled():
        process_pending(org.pk, parallel=1)
        assert list(Click.objects.values_list("click_id", "ambassador_id", "is_bot")) == [
            (click_id, ambassador.pk, False)]
        assert DailyClickRollup.objects.filter(ambassador_id=ambassador.pk).values_list("clicks", "unique_clicks") \
            .get() == (1, 1)

    # The ambassador sees it in their figures.
    page.goto(url(live_server, "org_home", org.slug))
    figures = page.get_by_role("region", name="My figures")
    expect(figures).to_be_visible()
    expect(figures.locator("[data-figure=clicks]")).to_have_text(re.compile(r"^\s*Clicks\s*1\s*$"))
    expect(figures.locator("[data-figure=unique_clicks]")).to_have_text(re.compile(r"^\s*Unique visitors\s*1\s*$"))
    shot(page, 1, "home-after")


# --- 2. The manager -----------------------------------------------------------------------------------

def table_rows(page):
    """The leaderboard as the page shows it: one dict per body row."""
    table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Rank"))
    headers = [h.strip() for h in table.locator("thead").get_by_role("columnheader").all_text_contents()]
    rows = []
    for row in table.locator("tbody").get_by_role("row").all():
        cells = [" ".join(c.split()) for c in row.get_by_role("cell").all_text_contents()]
        rows.append(dict(zip(headers, cells, strict=True)))
    return rows


def number(text: str) -> Decimal:
    return Decimal(re.sub(r"[^\d.\-]", "", text))


def test_manager_sees_the_leaderboard_in_order_and_downloads_the_same_csv(page, log_in, live_server, org, tmp_path):
    manager = member(org, Role.MANAGER, email="manager@acme.test")
    ann = AmbassadorFactory(organization=org, display_name="Ann Archer", kind=Kind.INTERNAL)
    bob = AmbassadorFactory(organization=org, display_name="Bob Baker", kind=Kind.INTERNAL)
    cat = AmbassadorFactory(organization=org, display_name="Cat Cole", kind=Kind.EXTERNAL)
    today = timezone.localdate(timezone=org.tzinfo)
    now = timezone.now()
    with tenant_scope(org):
        campaign = Campaign.objects.create(organization=org, name="Spring", slug="spring",
                                           status=CampaignStatus.ACTIVE, destination_url="https://shop.example.com/")
        links = {a.pk: TrackedLink.objects.create(organization=org, campaign=campaign, ambassador=a,
                                                  code=f"Jr{n:06d}") for n, a in enumerate((ann, bob, cat))}
        for _ in range(2):
            record_share(link=links[ann.pk], channel="linkedin", at=now - timedelta(days=2))
        for amb, clicks, unique in ((ann, 12, 10), (bob, 30, 25), (cat, 4, 4)):
            click_rollup(organization=org, campaign_id=campaign.pk, ambassador_id=amb.pk,
                                            channel="linkedin", day=today - timedelta(days=2), total=clicks,
                                            clicks=clicks, unique_clicks=unique, bot_clicks=0, self_clicks=0)
        # Cat's visitor becomes a lead and pays 800.00.
        visitor = new_visitor_id()
        clicked_at = now - timedelta(days=3)
        Click.objects.create(organization=org, click_id=new_click_id(), link_id=links[cat.pk].pk,
                             campaign_id=campaign.pk, ambassador_id=cat.pk, clicked_at=clicked_at,
                             day=timezone.localdate(clicked_at, timezone=org.tzinfo), visitor_id=visitor,
                             ip_hash="x" * 32, channel="linkedin")
    record_lead(org, visitor_id=visitor, customer_external_id="cus_1", occurred_at=now - timedelta(days=2))
    record_sale(org, customer_external_id="cus_1", amount=Decimal("800.00"), currency=org.currency,
                invoice_id="INV-1", occurred_at=now - timedelta(days=1))
    with tenant_scope(org):
        attribution.attribute_pending(org.pk)

    log_in(manager)
    page.goto(url(live_server, "report_leaderboard", org.slug))
    expect(page.get_by_role("heading", level=1)).to_have_text("Leaderboard")
    # By points (the default): Cat 4 + 25 (lead) + 80 (800.00 × 0.1) = 109, Bob 25, Ann 10 + 2 shares = 12.
    rows = table_rows(page)
    assert [(r["Rank"], r["Ambassador"], number(r["Points"])) for r in rows] == [
        ("1", "Cat Cole", Decimal(109)), ("2", "Bob Baker", Decimal(25)), ("3", "Ann Archer", Decimal(12))]
    shot(page, 2, "leaderboard-points")

    # Ranked by clicks instead (the period picked too: the form doesn't show the default period).
    filters = page.get_by_role("search", name="Leaderboard filters")
    filters.get_by_label("Period").select_option(label="Last 30 days")
    filters.get_by_label("Rank by").select_option(label="Clicks")
    filters.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"[?&]metric=clicks\b"))
    expect(page.get_by_text(re.compile(r"^Last 30 days \("))).to_be_visible()
    rows = table_rows(page)
    assert [(r["Rank"], r["Ambassador"], r["Clicks"]) for r in rows] == [
        ("1", "Bob Baker", "30"), ("2", "Ann Archer", "12"), ("3", "Cat Cole", "4")]
    shot(page, 2, "leaderboard-clicks")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    name = download.suggested_filename
    assert name.startswith("leaderboard-clicks-") and name.endswith(".csv")
    path = tmp_path / name
    download.save_as(path)
    with path.open(newline="", encoding="utf-8-sig") as f:
        # Column names carry their unit ("revenue (EUR)", "leads (credited)"): compared by name here.
        exported = [{key.split(" (")[0]: value for key, value in line.items()} for line in csv.DictReader(f)]

    assert len(exported) == len(rows) == 3
    for shown, line in zip(rows, exported, strict=True):
        assert line["rank"] == shown["Rank"]
        assert line["name"] == shown["Ambassador"]
        for column, field in (("Points", "points"), ("Clicks", "clicks"), ("Unique clicks", "unique_clicks"),
                              ("Leads", "leads"), ("Customers", "customers"), ("Revenue", "revenue"),
                              ("Shares", "shares")):
            assert number(line[field]) == number(shown[column]), (shown["Ambassador"], column, line[field])
    assert number(exported[2]["revenue"]) == Decimal("800.00")


# --- 3. The admin and the invitee ---------------------------------------------------------------------

def field(label: str):
    """A form field's label as Django renders it ("Name:")."""
    return re.compile(rf"^{re.escape(label)}:?$")


def form_under(page, heading: str):
    return page.locator("form").filter(has=page.get_by_role("heading", name=heading))


def test_admin_creates_a_campaign_and_invites_someone_who_signs_up_and_sees_it(
        page, fresh_page, log_in, live_server, site_url, eager_celery, mailoutbox, org):
    admin = member(org, Role.ADMIN, email="admin@acme.test")
    log_in(admin)

    # A campaign...
    page.goto(url(live_server, "campaign_create", org.slug))
    expect(page.get_by_role("heading", level=1)).to_have_text("New campaign")
    page.get_by_label(field("Name")).fill("Autumn webinar")
    page.get_by_label(field("Description")).fill("Our autumn product webinar.")
    page.get_by_label(field("Status")).select_option(label="Active")
    page.get_by_label(field("Destination URL")).fill("https://www.example.com/webinar")
    shot(page, 3, "campaign-new")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Autumn webinar")
    expect(page.get_by_role("status")).to_contain_text("Campaign “Autumn webinar” created")

    # ... with a suggested post ...
    post = form_under(page, "Add a post")
    post.get_by_label(field("Channel")).select_option(label="LinkedIn")
    post.get_by_label(field("Suggested post")).fill("Join our autumn webinar: {link}")
    post.get_by_role("button", name="Add post").click()
    expect(page.get_by_role("status")).to_contain_text("LinkedIn post added")
    expect(page.get_by_role("cell", name="Join our autumn webinar: {link}")).to_be_visible()

    # ... and a cost.
    cost = form_under(page, "Record a cost")
    cost.get_by_label(field("Category")).select_option(label="Media")
    cost.get_by_label(field("Amount")).fill("250.00")
    cost.get_by_label(field("Note")).fill("Sponsored post")
    cost.get_by_role("button", name="Add cost").click()
    expect(page.get_by_role("status")).to_contain_text("Cost of 250.00")
    expect(page.get_by_role("cell", name="Sponsored post")).to_be_visible()
    shot(page, 3, "campaign-manage")
    with tenant_scope(org):
        campaign = Campaign.objects.get(name="Autumn webinar")
        assert campaign.status == CampaignStatus.ACTIVE
        assert list(campaign.messages.values_list("channel", "text")) == [
            ("linkedin", "Join our autumn webinar: {link}")]
        assert list(CampaignCost.objects.filter(campaign=campaign).values_list("amount", flat=True)) == [
            Decimal("250.00")]

    # The invitation.
    page.goto(url(live_server, "ambassador_invite", org.slug))
    invite = form_under(page, "One person")
    invite.get_by_label(field("Email")).fill("ines@example.com")
    invite.get_by_label(field("Name")).fill("Inès Invitee")
    invite.get_by_label(field("Kind")).select_option(value="external")
    invite.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to ines@example.com")
    expect(page.get_by_role("cell", name="ines@example.com")).to_be_visible()
    shot(page, 3, "invite")

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["ines@example.com"] and org.name in message.subject
    link = re.search(rf"{re.escape(live_server.url)}/invite/\S+", message.body).group(0)

    # The invitee, in their own browser.
    invitee = fresh_page()
    invitee.goto(link)
    main = invitee.get_by_role("main")
    expect(main.get_by_role("heading", level=1)).to_have_text(f"{org.name} invites you")
    shot(invitee, 3, "invitation")
    main.get_by_role("link", name="Sign up").click()

    signup = invitee.locator("form").filter(has=invitee.get_by_label(field("Password (again)")))
    expect(signup).to_be_visible()
    expect(signup.get_by_label(field("Email"))).to_have_value("ines@example.com")  # from the invitation
    signup.get_by_label(field("Password")).fill("a-Strong-pass-9")
    signup.get_by_label(field("Password (again)")).fill("a-Strong-pass-9")
    shot(invitee, 3, "signup")
    signup.get_by_role("button", name=re.compile("sign up", re.I)).click()

    # Back on the invitation (no verification e-mail: the link vouched for the address): accept.
    expect(invitee).to_have_url(link)
    invitee.get_by_role("button", name="Accept and join").click()
    expect(invitee).to_have_url(re.compile(rf"/o/{org.slug}/"))
    expect(invitee.get_by_role("main")).to_contain_text(f"Welcome to {org.name}")
    shot(invitee, 3, "portal-home")

    invitee.goto(url(live_server, "my_campaigns", org.slug))
    expect(invitee.get_by_role("heading", name="Autumn webinar")).to_be_visible()
    invitee.get_by_role("link", name="Autumn webinar").first.click()
    expect(invitee.get_by_role("heading", level=1)).to_contain_text("Autumn webinar")
    expect(invitee.get_by_role("link", name="Share on LinkedIn")).to_be_visible()
    expect(invitee.get_by_role("textbox", name="LinkedIn", exact=True)).to_have_value(
        re.compile(r"^Join our autumn webinar: http://\S+/l/\w+/li$"))
    shot(invitee, 3, "campaign")
    assert len(mailoutbox) == 1  # signing up through the invitation sent no verification e-mail
