"""amb.js's tracking modes in real Chromium (issue 16): a customer's site served by the live server
(this module is also its URLconf) loads /js/amb.js?org=acme, which carries the organisation's mode
(tracking.services.tracking_settings). For each mode, with cookies allowed and with cookies blocked
(Chromium's own switch for document.cookie, DevTools' Emulation.setDocumentCookieDisabled, and
localStorage throwing as under "block all site data"), and with consent given late (amb.consent,
Google Consent Mode, IAB TCF v2), the test looks at what the page stored (document.cookie,
localStorage, the browser's cookie jar), the hidden form fields, the URLs the browser navigated to
and what the site's server received. Every page is watched for Content-Security-Policy violations
and uncaught errors: the snippet and the stand-in consent tools are files, no inline script."""

import time
from html import escape

import pytest
from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns
from tests.support.browser import CspWatch
from tracking.ids import new_click_id
from tracking.services.tracking_settings import change_tracking

# --- the customer's site ---------------------------------------------------------------------------

SITE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
{tools}<script src="/js/amb.js?org=acme"></script></head>
<body><h1>{title}</h1>
<nav><a id="next" href="/site/page2/?ref=nav">Next page</a> <a id="top" href="#top">Top</a>
<a id="away" href="https://elsewhere.example/offer">Elsewhere</a></nav>
<form id="quote" action="/site/thanks/" method="get">
  <input name="email" type="email" value="lead@example.com"><button type="submit">Ask for a quote</button>
</form>
<form id="signup" action="/site/thanks/" method="get">
  <input name="amb_cid" type="hidden"><input name="amb_mode" type="hidden">
  <button type="submit">Sign up</button>
</form></body></html>"""

TOOLS = {
    "": "",
    "gtag": '<script src="/site/gtag.js"></script>\n',
    "tcf": '<script src="/site/tcf.js"></script>\n',
}

# Google's tag as a site installs it, consent denied by default (Consent Mode v2); gtag.js itself is
# an outside file this test does not load: the dataLayer is what amb.js reads.
GTAG_JS = """window.dataLayer = window.dataLayer || [];
window.gtag = function () { window.dataLayer.push(arguments); };
gtag("consent", "default", {analytics_storage: "denied", ad_storage: "denied"});
"""

# A consent tool's IAB TCF v2 API: listeners get the state now and on every decision.
TCF_JS = """(function () {
  var listeners = [], state = {eventStatus: "cmpuishown", gdprApplies: true, purpose: {consents: {}}};
  window.__tcfapi = function (command, version, callback) {
    if (command === "addEventListener" && version === 2) { listeners.push(callback); callback(state, true); }
  };
  window.tcfStub = {decide: function (status, purpose1) {
    state = {eventStatus: status, gdprApplies: true, tcString: "CP-stub", purpose: {consents: {1: purpose1}}};
    listeners.forEach(function (listener) { listener(state, true); });
  }};
})();
"""


def site_page(request, title="Landing", tools=""):
    return HttpResponse(SITE_PAGE.format(title=title, tools=TOOLS[request.GET.get("tools", tools)]))


def thanks(request):
    received = "".join(f'<output id="{name}">{escape(request.GET.get(name, ""))}</output>'
                       for name in ("amb_cid", "amb_mode"))
    return HttpResponse(f"<!doctype html><html lang=en><title>Thanks</title><p>Received: {received}</p></html>")


def script(body):
    return lambda request: HttpResponse(body, content_type="application/javascript")


urlpatterns = [
    path("site/", site_page),
    path("site/gtag/", site_page, {"tools": "gtag"}),
    path("site/tcf/", site_page, {"tools": "tcf"}),
    path("site/page2/", site_page, {"title": "Second page"}),
    path("site/thanks/", thanks),
    path("site/gtag.js", script(GTAG_JS)),
    path("site/tcf.js", script(TCF_JS)),
    *app_urlpatterns,
]

# localStorage refused as under "block all site data" (Playwright has no switch for it).
STORAGE_THROWS = """
Object.defineProperty(window, "localStorage", {
  get() { throw new DOMException("blocked", "SecurityError"); }, configurable: true});
"""


# --- helpers ---------------------------------------------------------------------------------------

def browser_test(test):
    """Chromium + live server + this module's customer site."""
    for mark in (pytest.mark.urls(__name__), pytest.mark.django_db(transaction=True), pytest.mark.services):
        test = mark(test)
    return test


@pytest.fixture
def site(live_server, org):
    assert org.slug == "acme"
    return f"{live_server.url}/site"


@pytest.fixture
def cid():
    return new_click_id()


@pytest.fixture
def watch(page):
    csp = CspWatch(page.context)
    yield csp
    csp.assert_clean()


def mode(org, name, **extra):
    change_tracking(org.pk, mode=name, **extra)


def block_cookies(page):
    """Chromium refuses the page's cookies (document.cookie reads empty, writes are dropped) and
    localStorage throws: a visitor who blocks all site data."""
    session = page.context.new_cdp_session(page)
    session.send("Emulation.setDocumentCookieDisabled", {"disabled": True})
    page.context.add_init_script(STORAGE_THROWS)


def stored(page) -> dict:
    """What the page could read back, and what the browser's jar holds."""
    return {"cookie": page.evaluate("document.cookie"),
            "storage": page.evaluate("(() => { try { return localStorage.getItem('amb_cid'); } "
                                     "catch (e) { return 'blocked'; } })()"),
            "jar": [c for c in page.context.cookies() if c["name"] == "amb_cid"]}


def nothing_stored(page) -> bool:
    kept = stored(page)
    return "amb_cid" not in kept["cookie"] and kept["storage"] in (None, "blocked") and kept["jar"] == []


def fields(page, form) -> dict:
    return page.evaluate("""form => Object.fromEntries([...document.querySelectorAll(`#${form} input[type=hidden]`)]
                              .map(input => [input.name, input.value]))""", form)


def href(page, link):
    return page.locator(f"#{link}").get_attribute("href")


def submit(page, form) -> tuple[str, str]:
    """Submit the form; what the site's server received (amb_cid, amb_mode)."""
    page.locator(f"#{form} button[type=submit]").click()
    page.wait_for_url("**/site/thanks/**")
    return page.locator("#amb_cid").text_content(), page.locator("#amb_mode").text_content()


def follow(page, link) -> str:
    page.locator(f"#{link}").click()
    page.wait_for_url("**/site/page2/**")
    return page.url


# --- full ------------------------------------------------------------------------------------------

@browser_test
def test_full_mode_keeps_the_id_in_a_first_party_cookie(page, site, org, cid, watch):
    mode(org, "full", cookie_days=45)
    page.goto(f"{site}/?amb_cid={cid}")
    [jar] = stored(page)["jar"]
    assert jar["value"] == cid and jar["sameSite"] == "Lax"
    assert 44 * 86400 < jar["expires"] - time.time() <= 45 * 86400  # the organisation's lifetime
    assert page.evaluate("localStorage.getItem('amb_cid')") == cid
    assert fields(page, "signup") == {"amb_cid": cid, "amb_mode": "full"}
    assert fields(page, "quote") == {}  # the cookie carries it: the site's forms are left alone
    assert href(page, "next") == "/site/page2/?ref=nav"

    assert "amb_cid" not in follow(page, "next")  # the next page reads the cookie
    assert page.evaluate("amb.clickId()") == cid
    assert submit(page, "signup") == (cid, "full")


@browser_test
def test_full_mode_with_cookies_blocked_carries_the_id_in_links_and_forms(page, site, org, cid, watch):
    mode(org, "full")
    block_cookies(page)
    page.goto(f"{site}/?amb_cid={cid}")
    assert nothing_stored(page)
    assert page.evaluate("amb.mode()") == "cookieless"  # how the id travels now
    assert fields(page, "quote") == {"amb_cid": cid, "amb_mode": "cookieless"}
    assert href(page, "away") == "https://elsewhere.example/offer"  # another site's link is left alone
    assert href(page, "top") == "#top"

    url = follow(page, "next")
    assert f"amb_cid={cid}" in url and "ref=nav" in url
    assert nothing_stored(page)
    assert submit(page, "quote") == (cid, "cookieless")


@browser_test
def test_full_mode_does_not_listen_to_consent_tools(page, site, org, cid, watch):
    mode(org, "full")  # the organisation chose to keep the cookie: a banner's answer is not amb.js's to read
    page.goto(f"{site}/tcf/?amb_cid={cid}")
    page.evaluate("tcfStub.decide('tcloaded', false)")
    assert stored(page)["jar"][0]["value"] == cid
    assert fields(page, "signup") == {"amb_cid": cid, "amb_mode": "full"}


# --- cookieless ------------------------------------------------------------------------------------

@browser_test
@pytest.mark.parametrize("blocked", [False, True], ids=["cookies-allowed", "cookies-blocked"])
def test_cookieless_mode_stores_nothing_and_carries_the_id(page, site, org, cid, watch, blocked):
    mode(org, "cookieless")
    if blocked:
        block_cookies(page)
    page.goto(f"{site}/?amb_cid={cid}")
    assert nothing_stored(page)
    assert fields(page, "quote") == {"amb_cid": cid, "amb_mode": "cookieless"}
    assert fields(page, "signup") == {"amb_cid": cid, "amb_mode": "cookieless"}
    assert href(page, "away") == "https://elsewhere.example/offer"

    url = follow(page, "next")
    assert f"amb_cid={cid}" in url
    assert nothing_stored(page)
    page.evaluate("""() => document.querySelector("nav").insertAdjacentHTML("beforeend",
                     '<a id="late" href="/site/page2/?late=1">Added later</a>')""")
    page.locator("#late").click()  # a link added after load carries the id too
    page.wait_for_url("**/site/page2/?late=1**")
    assert f"amb_cid={cid}" in page.url
    assert submit(page, "quote") == (cid, "cookieless")


@browser_test
def test_cookieless_mode_forgets_what_an_earlier_mode_stored(page, site, org, cid, watch):
    mode(org, "full")
    page.goto(f"{site}/?amb_cid={cid}")
    assert stored(page)["jar"]
    mode(org, "cookieless")
    page.context.route("**/js/amb.js*", lambda route: route.continue_())  # no cached copy of the snippet
    page.goto(f"{site}/?fresh=1")
    assert page.evaluate("amb.mode()") == "cookieless"
    assert nothing_stored(page)
    assert page.evaluate("amb.clickId()") is None


# --- consent ---------------------------------------------------------------------------------------

def assert_waiting_for_consent(page):
    assert nothing_stored(page)
    assert page.evaluate("amb.clickId()") is None
    assert fields(page, "signup") == {"amb_cid": "", "amb_mode": ""}
    assert fields(page, "quote") == {}
    assert href(page, "next") == "/site/page2/?ref=nav"


@browser_test
def test_consent_mode_stores_nothing_until_consent_given_late(page, site, org, cid, watch):
    mode(org, "consent", cookie_days=30)
    page.goto(f"{site}/?amb_cid={cid}")
    assert_waiting_for_consent(page)
    page.wait_for_timeout(300)
    assert nothing_stored(page)

    page.evaluate("amb.consent(true)")  # the visitor clicks "accept" on the site's banner
    [jar] = stored(page)["jar"]
    assert jar["value"] == cid and 29 * 86400 < jar["expires"] - time.time() <= 30 * 86400
    assert fields(page, "signup") == {"amb_cid": cid, "amb_mode": "consent"}

    assert "amb_cid" not in follow(page, "next")
    page.evaluate("amb.consent(true)")  # the site tells it again on every page
    assert submit(page, "signup") == (cid, "consent")


@browser_test
def test_consent_mode_forgets_on_refusal(page, site, org, cid, watch):
    mode(org, "consent")
    page.goto(f"{site}/?amb_cid={cid}")
    page.evaluate("amb.consent(true)")
    assert stored(page)["jar"]
    page.evaluate("amb.consent(false)")
    assert nothing_stored(page)
    assert page.evaluate("amb.clickId()") is None


@browser_test
def test_consent_given_late_with_cookies_blocked_carries_the_id(page, site, org, cid, watch):
    mode(org, "consent")
    block_cookies(page)
    page.goto(f"{site}/?amb_cid={cid}")
    assert_waiting_for_consent(page)
    page.evaluate("amb.consent(true)")
    assert nothing_stored(page)
    assert fields(page, "quote") == {"amb_cid": cid, "amb_mode": "consent"}
    assert f"amb_cid={cid}" in follow(page, "next")
    assert page.evaluate("amb.clickId()") is None  # a new page waits for the site to say so again
    page.evaluate("amb.consent(true)")
    assert nothing_stored(page)
    assert submit(page, "quote") == (cid, "consent")


@browser_test
def test_google_consent_mode_update_grants_and_denies(page, site, org, cid, watch):
    mode(org, "consent")
    page.goto(f"{site}/gtag/?amb_cid={cid}")
    assert_waiting_for_consent(page)  # analytics_storage denied by default
    page.evaluate("gtag('consent', 'update', {ad_storage: 'granted'})")  # not the purpose amb.js needs
    assert_waiting_for_consent(page)

    page.evaluate("gtag('consent', 'update', {analytics_storage: 'granted'})")
    assert stored(page)["jar"][0]["value"] == cid
    assert fields(page, "signup") == {"amb_cid": cid, "amb_mode": "consent"}

    page.evaluate("gtag('consent', 'update', {analytics_storage: 'denied'})")  # withdrawn
    assert nothing_stored(page)
    assert page.evaluate("amb.clickId()") is None


@browser_test
def test_google_consent_granted_before_the_snippet_loads(page, site, org, cid, watch):
    mode(org, "consent")
    # A returning visitor: the consent tool replays the choice into the dataLayer before amb.js runs.
    page.context.add_init_script("window.dataLayer = [['consent', 'update', {analytics_storage: 'granted'}]];")
    page.goto(f"{site}/gtag/?amb_cid={cid}")
    assert stored(page)["jar"][0]["value"] == cid
    assert submit(page, "signup") == (cid, "consent")


@browser_test
def test_tcf_purpose_one_consent(page, site, org, cid, watch):
    mode(org, "consent")
    page.goto(f"{site}/tcf/?amb_cid={cid}")
    assert_waiting_for_consent(page)
    page.evaluate("tcfStub.decide('tcloaded', false)")  # the tool loaded: no consent stored
    assert_waiting_for_consent(page)

    page.evaluate("tcfStub.decide('useractioncomplete', true)")  # the visitor accepts purpose 1
    assert stored(page)["jar"][0]["value"] == cid
    assert fields(page, "signup") == {"amb_cid": cid, "amb_mode": "consent"}

    page.evaluate("tcfStub.decide('useractioncomplete', false)")  # and withdraws it
    assert nothing_stored(page)
