"""The browser snippet /js/amb.js in real Chromium: a customer's page loaded with ?amb_cid=… submits
the click id with its form, remembers it (cookie, else localStorage), and keeps working when both
are refused. The customer site is tests/browser/snippet_urls.py."""

import gzip
import time
from urllib.parse import quote

import pytest

from tracking.ids import new_click_id
from tracking.views.snippet import SNIPPET_PATH

# Cookie writes ignored (reads empty) or throwing, and localStorage throwing on access, as with
# "block all site data". Playwright has no switch for this, so the page's APIs are replaced first.
COOKIES_IGNORED = """
Object.defineProperty(Document.prototype, "cookie", {get() { return ""; }, set(v) {}, configurable: true});
"""
COOKIES_THROW = """
Object.defineProperty(Document.prototype, "cookie", {
  get() { throw new DOMException("blocked", "SecurityError"); },
  set(v) { throw new DOMException("blocked", "SecurityError"); }, configurable: true});
"""
STORAGE_THROWS = """
Object.defineProperty(window, "localStorage", {
  get() { throw new DOMException("blocked", "SecurityError"); }, configurable: true});
"""


def browser_test(test):
    """Chromium + live server + the pretend customer site."""
    for mark in (pytest.mark.urls("tests.browser.snippet_urls"), pytest.mark.django_db(transaction=True),
                 pytest.mark.services):
        test = mark(test)
    return test


@pytest.fixture
def cid():
    return new_click_id()


@pytest.fixture
def shop(live_server):
    return f"{live_server.url}/shop/"


def submit(page, form="#lead"):
    """Submit the form; the echo page's received amb_cid."""
    page.locator(f"{form} button[type=submit]").click()
    page.wait_for_url("**/shop/thanks/**")
    return page.locator("#cid").text_content()


def cookie(page):
    return next((c for c in page.context.cookies() if c["name"] == "amb_cid"), None)


def hidden_value(page):
    return page.locator("#lead input[name=amb_cid]").input_value()


@browser_test
def test_landing_with_click_id_submits_it(page, shop, cid):
    page.goto(f"{shop}?utm_source=x&amb_cid={cid}")
    assert hidden_value(page) == cid
    assert page.evaluate("window.amb.clickId()") == cid
    assert submit(page) == cid


@browser_test
def test_click_id_is_remembered_in_a_first_party_cookie(page, shop, cid):
    page.goto(f"{shop}?amb_cid={cid}")
    stored = cookie(page)
    assert stored["value"] == cid
    assert stored["sameSite"] == "Lax"
    assert stored["path"] == "/"
    assert not stored["secure"]  # plain http here; https pages get Secure
    assert 89 * 86400 < stored["expires"] - time.time() <= 90 * 86400
    assert page.evaluate("localStorage.getItem('amb_cid')") == cid

    page.goto(shop)  # a later page of the site, no parameter
    assert page.evaluate("window.amb.clickId()") == cid
    assert submit(page) == cid


@browser_test
def test_local_storage_is_the_fallback_when_the_cookie_is_gone(page, shop, cid):
    page.goto(f"{shop}?amb_cid={cid}")
    page.context.clear_cookies()
    page.goto(shop)
    assert page.evaluate("window.amb.clickId()") == cid
    assert submit(page) == cid


@browser_test
def test_cookie_lifetime_comes_from_data_days(page, live_server, cid):
    page.goto(f"{live_server.url}/shop/short/?amb_cid={cid}")
    assert 6 * 86400 < cookie(page)["expires"] - time.time() <= 7 * 86400


@browser_test
@pytest.mark.parametrize("cookies", [COOKIES_IGNORED, COOKIES_THROW], ids=["cookies-ignored", "cookies-throw"])
def test_url_to_form_field_works_with_cookies_and_storage_refused(page, shop, cid, cookies):
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.context.add_init_script(cookies + STORAGE_THROWS)
    page.goto(f"{shop}?amb_cid={cid}")
    assert page.evaluate("window.amb.clickId()") == cid
    assert submit(page) == cid
    assert cookie(page) is None

    page.goto(shop)  # nothing could be kept: no id, and no error either
    assert page.evaluate("window.amb.clickId()") is None
    assert hidden_value(page) == ""
    assert errors == []


@browser_test
@pytest.mark.parametrize("bad", ["<script>alert(1)</script>", "abcde", "A" * 23, "A" * 21 + "!", ""])
def test_invalid_click_id_is_ignored(page, shop, bad):
    page.goto(f"{shop}?amb_cid={quote(bad)}")
    assert hidden_value(page) == ""
    assert page.evaluate("window.amb.clickId()") is None
    assert cookie(page) is None
    assert page.evaluate("localStorage.getItem('amb_cid')") is None
    assert submit(page) == ""


@browser_test
def test_invalid_click_id_does_not_replace_a_stored_one(page, shop, cid):
    page.goto(f"{shop}?amb_cid={cid}")
    page.goto(f"{shop}?amb_cid=abcde")
    assert page.evaluate("window.amb.clickId()") == cid
    assert cookie(page)["value"] == cid


@browser_test
def test_form_added_after_load_is_filled_on_submit(page, shop, cid):
    page.goto(f"{shop}?amb_cid={cid}")
    page.evaluate("""() => {
      const form = document.createElement("form");
      form.id = "late"; form.action = "/shop/thanks/"; form.method = "get";
      form.innerHTML = '<input name="amb_cid" type="hidden"><button type="submit">Later</button>';
      document.body.append(form);
    }""")
    assert page.locator("#late input[name=amb_cid]").input_value() == ""
    assert submit(page, "#late") == cid


@browser_test
def test_fill_can_be_called_by_the_page(page, shop, cid):
    page.goto(f"{shop}?amb_cid={cid}")
    page.evaluate("""() => {
      document.body.insertAdjacentHTML("beforeend", '<input id="late" name="amb_cid" type="hidden">');
      window.amb.fill();
    }""")
    assert page.locator("#late").input_value() == cid


def test_snippet_is_served_small_and_cacheable(client):
    response = client.get("/js/amb.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response.content == SNIPPET_PATH.read_bytes()
    # Small on the wire (issue 16 added the consent modes: 3 kB compressed, as the snippet was before).
    assert len(gzip.compress(response.content, 9)) <= 3072 and len(response.content) <= 10240
    assert b"w.amb = {clickId: clickId, fill: fill, mode: currentMode, consent: consent}" in response.content


def test_snippet_skips_the_tenant_middleware():
    from tenancy.middleware import UNTENANTED_PREFIXES

    assert "/js/amb.js".startswith(UNTENANTED_PREFIXES)
