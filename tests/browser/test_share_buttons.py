"""Every share button, in Chromium, against the live server: on the ambassador's home and on the campaign
page, each opens the network's share dialog with the ambassador's tracked link of that network (and, for X,
WhatsApp and e-mail, the post as the ambassador edited it), and exactly one share is recorded per opened
dialog; a blocked pop-up records nothing and says so; without JavaScript the plain link works.

Only the outside sites are stood in for, at the network layer: Playwright routes linkedin.com, x.com,
facebook.com and wa.me to stub pages (tests/support/browser.py), and for the no-JavaScript path, where the
site's own 302 leads to the network (a request Playwright does not route), Chromium resolves those hosts to
a local HTTPS stub. The e-mail button opens a mailto: address, which loads nothing: Chromium reports it
through the DevTools event Page.frameRequestedNavigation. Every page and pop-up fails the test on any
Content-Security-Policy violation. Firefox and Safari can't run here; static/js/share.js uses standard
APIs only (window.open, fetch with keepalive, crypto)."""

import json
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from campaigns.models import CampaignMessage, ShareEvent, TrackedLink
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import PASSWORD, CampaignFactory, member
from tests.support.browser import CspWatch, external_sites, requested_navigations, route_to_stubs
from tests.support.services import CHROMIUM, CHROMIUM_ARGS

from .conftest import TIMEOUT_MS

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

NETWORK_HOSTS = ["www.linkedin.com", "x.com", "www.facebook.com", "wa.me"]
BUTTONS = {"linkedin": "Share on LinkedIn", "x": "Share on X", "facebook": "Share on Facebook",
           "whatsapp": "Send on WhatsApp", "email": "Send by e-mail"}
SUFFIX = {"linkedin": "li", "x": "x", "facebook": "fb", "whatsapp": "wa", "email": "em"}
POSTS = {  # channel: (subject, suggested text)
    "linkedin": ("", "Our spring range is out: {link}"),
    "x": ("", "Spring is here {link} #spring"),
    "whatsapp": ("", "Look what's new: {link}"),
    "email": ("Our spring range", "Hello,\n\nour spring range is out: {link}\n\nBest"),
}
EDITS = {"x": "My own words for X", "whatsapp": "WhatsApp, my way", "email": "Dear friend,\nhave a look."}


@pytest.fixture
def site_url(settings, live_server):
    """Short links point at the live server."""
    settings.SITE_URL = live_server.url
    return live_server.url


@pytest.fixture
def world(org, site_url):
    user = member(org, Role.AMBASSADOR, ambassador=True, email="amb@acme.test")
    campaign = CampaignFactory(organization=org, name="Spring launch", slug="spring")
    with tenant_scope(org):
        messages = {channel: CampaignMessage.objects.create(organization=org, campaign=campaign, channel=channel,
                                                            subject=subject, text=text)
                    for channel, (subject, text) in POSTS.items()}
    return {"org": org, "user": user, "campaign": campaign, "messages": messages}


def shares(org) -> list[ShareEvent]:
    with tenant_scope(org):
        return list(ShareEvent.objects.order_by("pk"))


def link_of(world) -> TrackedLink:
    with tenant_scope(world["org"]):
        return TrackedLink.objects.get(campaign=world["campaign"], ambassador__user=world["user"])


def is_record(channel):
    return lambda response: response.request.method == "POST" and f"/share/{channel}/" in response.url


def query(url) -> dict:
    return parse_qs(urlsplit(url).query)


def assert_dialog(channel, url, tracked, text=None):
    """`url` is `channel`'s share dialog for the tracked link `tracked` (with `text` where it takes text)."""
    parts = urlsplit(url)
    if channel == "linkedin":
        assert (parts.netloc, parts.path, query(url)) == ("www.linkedin.com", "/sharing/share-offsite/",
                                                          {"url": [tracked]})
    elif channel == "facebook":
        assert (parts.netloc, parts.path, query(url)) == ("www.facebook.com", "/sharer/sharer.php", {"u": [tracked]})
    elif channel == "x":
        assert (parts.netloc, parts.path, query(url)) == ("x.com", "/intent/post", {"text": [text], "url": [tracked]})
    elif channel == "whatsapp":
        assert (parts.netloc, parts.path, query(url)) == ("wa.me", "/", {"text": [text]})
    else:
        raise AssertionError(channel)


def mail_parts(mailto: str) -> dict[str, str]:
    assert mailto.startswith("mailto:?"), mailto
    return {key: unquote(value) for key, value in (pair.split("=", 1) for pair in mailto[len("mailto:?"):].split("&"))}


def log_in(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    form = page.locator("form:has(input[name=login])")
    form.locator("input[name=login]").fill(user.email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def kit_of(page):
    kit = page.locator("[data-share-kit]")
    expect(kit).to_have_count(1)
    return kit


def show_posts(kit):
    posts = kit.locator("details.share-posts")
    if posts.get_attribute("open") is None:
        posts.locator("summary").click()


@pytest.mark.parametrize("where", ["home", "campaign page"])
def test_every_button_opens_its_network_with_my_link_and_my_words_once(page, live_server, world, where):
    org = world["org"]
    csp = CspWatch(page.context)
    stubs = route_to_stubs(page.context, NETWORK_HOSTS)
    navigations = requested_navigations(page)
    log_in(page, live_server, world["user"])
    path = (reverse("org_home", args=[org.slug]) if where == "home"
            else reverse("my_campaign", args=[org.slug, world["campaign"].public_id]))
    page.goto(live_server.url + path)
    kit = kit_of(page)
    link = link_of(world)
    short = f"{live_server.url}/l/{link.code}"
    page.reload()  # loading the page, twice, records nothing
    assert shares(org) == []

    show_posts(kit)
    for channel, text in EDITS.items():
        field = kit.locator(f"#post-{link.code}-{channel}")
        expect(kit.locator(f"label[for=post-{link.code}-{channel}]")).to_have_count(1)
        expect(field).to_be_editable()
        field.fill(text)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"share-buttons-{where.replace(' ', '-')}.png"), full_page=True)

    for channel in ("linkedin", "x", "facebook", "whatsapp"):
        with page.expect_popup() as popup_info, page.expect_response(is_record(channel)) as recorded:
            kit.get_by_role("link", name=BUTTONS[channel]).click()
        popup = popup_info.value
        expect(popup.get_by_role("heading")).to_have_text(f"Stub of {urlsplit(popup.url).netloc}")
        tracked = f"{short}/{SUFFIX[channel]}"
        text = {"x": EDITS["x"], "whatsapp": f"{EDITS['whatsapp']} {tracked}"}.get(channel)
        assert_dialog(channel, popup.url, tracked, text)
        assert stubs.urls[-1] == popup.url
        assert recorded.value.status == 201 and recorded.value.json()["recorded"] is True
        assert popup.evaluate("() => window.opener") is None  # the network's page can't reach ours
        popup.close()

    with page.expect_response(is_record("email")) as recorded:
        kit.get_by_role("link", name=BUTTONS["email"]).click()
    assert recorded.value.status == 201
    [mailto] = [url for url in navigations if url.startswith("mailto:")]
    assert mail_parts(mailto) == {"subject": "Our spring range", "body": f"{EDITS['email']} {short}/em"}

    recorded_shares = shares(org)
    assert sorted(s.channel for s in recorded_shares) == sorted(BUTTONS)  # one per opened dialog
    assert len({s.dialog_id for s in recorded_shares}) == 5 and None not in {s.dialog_id for s in recorded_shares}
    by_channel = {s.channel: s for s in recorded_shares}
    assert {c: s.edited for c, s in by_channel.items()} == {"linkedin": False, "x": True, "facebook": False,
                                                          "whatsapp": True, "email": True}
    assert {c: s.message_id for c, s in by_channel.items()} == {
        "linkedin": world["messages"]["linkedin"].pk, "x": world["messages"]["x"].pk, "facebook": None,
        "whatsapp": world["messages"]["whatsapp"].pk, "email": world["messages"]["email"].pk}
    csp.assert_clean()


def test_a_double_click_opens_one_dialog_and_a_retried_record_counts_once(page, live_server, world):
    org = world["org"]
    csp = CspWatch(page.context)
    route_to_stubs(page.context, NETWORK_HOSTS)
    log_in(page, live_server, world["user"])
    page.goto(live_server.url + reverse("my_campaign", args=[org.slug, world["campaign"].public_id]))
    kit = kit_of(page)
    with page.expect_popup() as popup_info, page.expect_response(is_record("x")) as recorded:
        kit.get_by_role("link", name=BUTTONS["x"]).dblclick()
    expect(popup_info.value.get_by_role("heading")).to_have_text("Stub of x.com")
    assert recorded.value.status == 201
    assert len(page.context.pages) == 2  # this page and one dialog
    [share] = shares(org)

    # The same record sent again (what share.js does when the network failed): the same share.
    body = recorded.value.request.post_data
    assert json.loads(body)["dialog_id"] == str(share.dialog_id)
    status, answer = page.evaluate(
        """async ([url, body, token]) => {
             const response = await fetch(url, {method: "POST", body: body,
               headers: {"Content-Type": "application/json", "X-CSRFToken": token}});
             return [response.status, await response.json()];
           }""", [recorded.value.url, body, kit.get_attribute("data-share-csrf")])
    assert (status, answer["recorded"], answer["dialog_id"]) == (200, False, str(share.dialog_id))
    assert [s.pk for s in shares(org)] == [share.pk]
    csp.assert_clean()


def test_a_blocked_pop_up_records_nothing_and_says_so(page, live_server, world):
    org = world["org"]
    csp = CspWatch(page.context)
    page.add_init_script("window.open = function () { return null; };")  # the browser's pop-up blocker
    log_in(page, live_server, world["user"])
    page.goto(live_server.url + reverse("my_campaign", args=[org.slug, world["campaign"].public_id]))
    kit = kit_of(page)
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    alert = kit.get_by_role("alert").filter(has_text="blocked the share window")
    expect(alert).to_be_hidden()
    for channel in ("linkedin", "whatsapp"):
        kit.get_by_role("link", name=BUTTONS[channel]).click()
        expect(alert).to_be_visible()
        expect(alert).to_contain_text("Allow pop-ups for this site")
    page.evaluate("() => fetch(location.href).then(r => r.status)")  # a round trip after the clicks
    assert posts == [] and len(page.context.pages) == 1
    assert shares(org) == []
    csp.assert_clean()


def test_without_javascript_the_plain_link_shares_through_the_server(browser, live_server, world):
    org = world["org"]
    with external_sites(NETWORK_HOSTS) as sites:
        chromium = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + sites.chromium_args)
        context = chromium.new_context(java_script_enabled=False, ignore_https_errors=True,
                                       viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        try:
            csp = CspWatch(context)
            page = context.new_page()
            requests = []
            context.on("request", lambda request: requests.append(request))
            log_in(page, live_server, world["user"])
            page.goto(live_server.url + reverse("my_campaign", args=[org.slug, world["campaign"].public_id]))
            kit = kit_of(page)
            short = f"{live_server.url}/l/{link_of(world).code}"
            assert shares(org) == []

            with page.expect_popup() as popup_info:
                kit.get_by_role("link", name=BUTTONS["linkedin"]).click()
            popup = popup_info.value
            expect(popup.get_by_role("heading")).to_have_text("Stub of www.linkedin.com")
            assert_dialog("linkedin", popup.url, f"{short}/li")
            assert sites.urls == [popup.url]
            [dialog] = [r for r in requests if r.url == popup.url]
            assert "/open/linkedin/?t=" in dialog.redirected_from.url  # through the share action's 302
            [share] = shares(org)
            assert (share.channel, share.dialog_id, share.message_id) == ("linkedin", None,
                                                                          world["messages"]["linkedin"].pk)
            popup.close()

            # E-mail: the same tab asks the share action, which answers 302 to the mailto: address.
            with page.expect_response(lambda r: "/open/email/" in r.url) as answer:
                kit.get_by_role("link", name=BUTTONS["email"]).click()
            assert answer.value.status == 302
            mail = mail_parts(answer.value.headers["location"])
            assert mail["subject"] == "Our spring range" and mail["body"].endswith(f"{short}/em\n\nBest")
            assert sorted(s.channel for s in shares(org)) == ["email", "linkedin"]
            csp.assert_clean()
        finally:
            context.close()
            chromium.close()


def test_the_csp_watch_sees_a_violation(page, live_server, world):
    """The check every test above ends with does fail on a violation (here an inline style, which the policy
    refuses)."""
    csp = CspWatch(page.context)
    log_in(page, live_server, world["user"])
    assert csp.violations() == []
    page.evaluate("() => { const p = document.createElement('p'); p.setAttribute('style', 'color: red');"
                  " document.body.append(p); }")
    page.wait_for_function("() => (window.__csp || []).length > 0")
    with pytest.raises(AssertionError, match="Content Security Policy violations"):
        csp.assert_clean()
