"""Security settings drill: what the browser is told, and what it does with it.

* Content-Security-Policy on every HTML page (django-csp): scripts and styles from our origin only,
  no 'unsafe-inline' or 'unsafe-eval', no framing, forms post to us only; the Swagger UI page too.
  The templates hold no inline <script>, <style>, on…= handler, style="…" or javascript: link.
* In real Chromium (Playwright), the ambassador's, the manager's and the admin's main pages, the
  public join page, log-in and the API docs raise no CSP violation, run no injected markup (names
  hold <script> and onerror=), and the moved scripts still work (copy buttons, select on focus).
* X-Frame-Options DENY; with HTTPS=1 in the environment, HSTS (a year, subdomains, preload),
  secure cookies and a redirect from plain HTTP, through the real settings module
  (tests/config/test_deploy_checks.py covers `check --deploy`).
* CSRF: every URL of the URLconf refuses a POST without a token from a logged-in browser session
  (403), except the API-key machine endpoints, which take no session at all (401); every
  <form method=post> of the main pages carries the token.
* API keys are stored hashed: no column of any row holds the key or its secret."""

import json
import os
import re
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from tenancy.models import ApiKey, Role
from tenancy.scoping import scopes_disabled
from tenancy.services import create_api_key
from tests.factories import AmbassadorFactory, CampaignFactory, LinkFactory, MessageFactory, member

CSP = "Content-Security-Policy"
STRICT = {"default-src": {"'self'"}, "script-src": {"'self'"}, "style-src": {"'self'"},
          "img-src": {"'self'", "data:"}, "frame-ancestors": {"'none'"}, "form-action": {"'self'"},
          "base-uri": {"'self'"}, "object-src": {"'none'"}}
MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def policy(header: str) -> dict[str, set[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = set(values)
    return directives


@pytest.fixture
def site(org):
    """A small programme whose names hold markup."""
    org.name = f"Acme {MARKUP}"
    org.save()
    campaign = CampaignFactory(organization=org, name=f"Spring {MARKUP}")
    MessageFactory(campaign=campaign, text=f"{MARKUP} {{link}}")
    ambassador_user = member(org, Role.AMBASSADOR, email="amb@acme.test")
    ambassador = AmbassadorFactory(organization=org, user=ambassador_user, display_name=f"Ada {MARKUP}")
    link = LinkFactory(campaign=campaign, ambassador=ambassador)
    return {"campaign": campaign, "ambassador": ambassador, "link": link,
            "ambassador_user": ambassador_user, "manager": member(org, Role.MANAGER, email="manager@acme.test"),
            "owner": member(org, Role.OWNER, email="owner@acme.test")}


def main_pages(org, site) -> dict[str, list[str]]:
    base = f"/o/{org.slug}"
    campaign = site["campaign"].public_id
    return {
        "ambassador_user": [f"{base}/", f"{base}/campaigns/", f"{base}/campaigns/{campaign}/", f"{base}/profile/"],
        "manager": [f"{base}/reports/", f"{base}/reports/leaderboard/", f"{base}/reports/leaderboard/?view=fair",
                    f"{base}/reports/roi/", f"{base}/reports/roi/{campaign}/", f"{base}/reports/funnel/",
                    f"{base}/reports/models/", f"{base}/reports/digest/", f"{base}/ambassadors/",
                    f"{base}/ambassadors/{site['ambassador'].public_id}/", f"{base}/me/"],
        "owner": [f"{base}/manage/", f"{base}/manage/campaigns/", f"{base}/manage/campaigns/{campaign}/",
                  f"{base}/manage/campaigns/new/", f"{base}/manage/invite/", f"{base}/manage/groups/",
                  f"{base}/manage/join-page/", f"{base}/manage/members/", f"{base}/manage/settings/",
                  f"{base}/manage/api-keys/", f"{base}/manage/attribution/", f"{base}/manage/imports/",
                  f"{base}/manage/points/", f"{base}/manage/domains/", "/orgs/new/", "/accounts/email/",
                  "/accounts/password/change/"],
    }


# --- headers --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_strict_csp_and_frame_denial_on_every_html_page(client, org, site):
    checked = 0
    for role, paths in main_pages(org, site).items():
        client.force_login(site[role])
        for path in paths:
            response = client.get(path, follow=True)
            assert response.status_code == 200, (path, response.status_code)
            assert response["Content-Type"].startswith("text/html"), path
            directives = policy(response[CSP])
            for name, values in STRICT.items():
                assert directives.get(name) == values, (path, name, directives.get(name))
            assert "'unsafe-inline'" not in response[CSP] and "'unsafe-eval'" not in response[CSP], path
            assert response["X-Frame-Options"] == "DENY", path
            checked += 1
    client.logout()
    for path in ("/", "/accounts/login/", "/accounts/signup/", "/no-such-page/", f"/o/{org.slug}/reports/"):
        response = client.get(path)
        assert policy(response[CSP])["script-src"] == {"'self'"}, path
    print(f"DRILL csp headers: html pages={checked + 5} strict=all")


@pytest.mark.django_db
def test_api_docs_keep_the_strict_policy(client):
    """Swagger UI: its start-up script is a file (the split view's ?script) and drf-spectacular's
    inline <style> is a file too (templates/drf_spectacular/swagger_ui.html), so the page needs no
    exception to the policy; Chromium confirms it below."""
    response = client.get("/api/docs/")
    assert response.status_code == 200
    directives = policy(response[CSP])
    for name, values in STRICT.items():
        assert directives.get(name) == values, (name, directives.get(name))
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "<style" not in html
    script = re.search(r'<script src="(/api/docs/\?script=?)"', html).group(1)
    assert client.get(script)["Content-Type"].startswith("application/javascript")


def test_templates_hold_no_inline_script_handler_or_style():
    """A regression guard for the CSP: web templates (not e-mails) load scripts from files only."""
    found = []
    for path in sorted((django_settings.BASE_DIR / "templates").rglob("*.html")):
        if "email" in path.parts or "print" in path.parts:
            # Neither is a web page: e-mails are read by mail clients, print templates (under
            # a "print" directory, e.g. templates/reports/print/) only by WeasyPrint, which makes a
            # PDF of them and fetches nothing; no browser loads them, so no CSP applies.
            continue
        text = re.sub(r"{#.*?#}|{% comment %}.*?{% endcomment %}", "", path.read_text(), flags=re.S)
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", r"\sstyle\s*=", r"javascript:", r"<style"):
            found += [f"{path.name}: {m.group(0)}" for m in re.finditer(pattern, text, re.IGNORECASE)]
    assert not found, found
    from django.template.loader import render_to_string

    for name in ("400.html", "500.html"):  # rendered with no context by Django's error views
        assert 'class="error-page"' in render_to_string(name)


def test_https_env_gives_hsts_secure_cookies_and_redirect():
    """The real settings module and middleware under HTTPS=1 (a subprocess, as production starts)."""
    code = """
import json, django
django.setup()
from django.test import Client
c = Client(HTTP_HOST="ambassadors.example.com")
secure = c.get("/accounts/login/", secure=True)
plain = c.get("/accounts/login/")
print(json.dumps({"secure": dict(secure.headers), "cookies": {k: dict(v) for k, v in secure.cookies.items()},
                  "plain": [plain.status_code, plain.headers.get("Location", "")]}))
"""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "DATABASE_URL", "REDIS_URL", "VAR_DIR")
           if key in os.environ}
    env.update(DEBUG="0", HTTPS="1", SECRET_KEY="x" * 50, ALLOWED_HOSTS="ambassadors.example.com",
               DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run([sys.executable, "-c", code], cwd=django_settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    headers = seen["secure"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert policy(headers[CSP])["frame-ancestors"] == {"'none'"}
    assert seen["cookies"]["csrftoken"]["secure"] is True
    assert seen["plain"][0] == 301 and seen["plain"][1].startswith("https://ambassadors.example.com/")
    print(f"DRILL https: hsts={headers['Strict-Transport-Security']!r} http→{seen['plain'][0]}")


# --- CSRF ----------------------------------------------------------------------------------------------

SAMPLES = {"slug": "acme", "int": "1", "str": "x", "path": "x", "uuid": str(uuid.uuid4()),
           "drf_format_suffix": ".json"}
REGEX_SAMPLES = {"code": "abc123", "suffix": "x", "format": "json", "fmt": "png", "public_id": str(uuid.uuid4()),
                 "campaign_id": str(uuid.uuid4()), "pk": "1", "key": "abc", "uidb36": "1", "object_id": "1"}
# Machine endpoints: an API key in the Authorization header, never a session cookie, so a forged
# cross-site request carries no credential (a browser can't add the header to it).
KEY_ONLY = {"api_key_info", "api_track_lead", "api_track_sale", "api_key_conversion_imports",
            "api_key_conversion_import_detail", None}
# Stripe's and HubSpot's receiving URLs: CSRF-exempt by design (a provider sends no token); the
# provider's signature over the body is the credential and a session opens nothing. An unknown
# token is a JSON 404 (tests/integrations/test_stripe.py and test_hubspot.py check the signatures).
SIGNED_BY_PROVIDER = {"inbound_hook_stripe", "inbound_hook_hubspot"}


def concrete(route: str) -> str:
    route = re.sub(r"\(\?P<(\w+)>((?:[^()\[\]]|\[[^\]]*\])*)\)",
                   lambda m: REGEX_SAMPLES.get(m.group(1)) or m.group(2).split("|")[0], route)
    route = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: SAMPLES[m.group(1) or "str"], route)
    route = route.replace("^", "").replace("$", "").replace("/?", "/").replace("\\.", ".")
    return "/" + route


def url_patterns(patterns=None, prefix=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


@pytest.mark.django_db
def test_every_url_refuses_a_post_without_csrf_token(org, site):
    """Walk the whole URLconf (admin included): a logged-in session's POST without a token is 403
    CSRF everywhere; the key-only machine endpoints answer 401 (they ignore the session)."""
    client = Client(enforce_csrf_checks=True)
    site["owner"].is_staff = site["owner"].is_superuser = True
    site["owner"].save()
    client.force_login(site["owner"])
    refused, key_only, seen = 0, 0, set()
    for route, pattern in url_patterns():
        path = concrete(route)
        if path in seen:
            continue
        seen.add(path)
        match = resolve(path)
        assert match.url_name == pattern.name, (route, path, match.url_name)
        response = client.post(path, {"name": "x"})
        if pattern.name in KEY_ONLY and route.startswith("api/v1/") and "/o/" not in route:
            assert response.status_code == 401, (path, response.status_code)
            key_only += 1
            continue
        if pattern.name in SIGNED_BY_PROVIDER:
            assert response.status_code == 404 and response["Content-Type"] == "application/json", path
            continue
        # (The Swagger page renders DRF's "CSRF Failed" 403 with our generic 403 page.)
        assert response.status_code == 403 and (b"CSRF" in response.content or pattern.name == "api_docs"), (
            route, path, response.status_code, response.content[:200])
        refused += 1
    assert refused > 150, refused
    # …and with the token, the same session gets past the check (here: a form error, not a 403).
    client.get(f"/o/{org.slug}/manage/groups/")
    token = client.cookies["csrftoken"].value
    response = client.post(f"/o/{org.slug}/manage/groups/", {"name": "", "csrfmiddlewaretoken": token})
    assert response.status_code in (200, 400)
    print(f"DRILL csrf: urls={len(seen)} refused-403={refused} key-only-401={key_only}")


@pytest.mark.django_db
def test_every_post_form_of_the_main_pages_carries_the_token(client, org, site):
    forms = 0
    for role, paths in main_pages(org, site).items():
        client.force_login(site[role])
        for path in paths:
            html = client.get(path, follow=True).content.decode()
            for form in re.findall(r"<form\b[^>]*>.*?</form>", html, re.S | re.I):
                if re.search(r'method="?post', form, re.I):
                    assert 'name="csrfmiddlewaretoken"' in form, (path, form[:200])
                    forms += 1
    assert forms >= 20, forms
    print(f"DRILL csrf forms: post forms={forms} with token={forms}")


# --- API keys ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_keys_are_stored_hashed(org, client):
    key, full_key = create_api_key(organization=org, name="CRM")
    secret = full_key.split("_", 2)[2]
    with scopes_disabled():
        row = ApiKey.objects.filter(pk=key.pk).values().get()
    stored = json.dumps(row, default=str)
    assert full_key not in stored and secret not in stored and secret[:16] not in stored
    assert row["prefix"] == full_key[:12] and len(row["secret_hash"]) == 64
    assert row["secret_hash"] != secret
    owner = member(org, Role.OWNER, email="keys@acme.test")
    client.force_login(owner)
    listing = client.get(f"/o/{org.slug}/manage/api-keys/").content.decode()
    assert secret not in listing  # shown once, on creation only


# --- the browser ------------------------------------------------------------------------------------------


VIOLATIONS = """() => { window.__csp = []; document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''))); }"""


def in_own_thread(function, timeout=240):
    """Run `function` in a thread of its own: Playwright's sync API refuses a thread whose asyncio
    loop is running, as the session's browser (tests/browser/conftest.py) leaves the main one."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = error

    thread = threading.Thread(target=target, name="csp-chromium")
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"the browser check took over {timeout} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_main_pages_raise_no_csp_violation_in_chromium(live_server, org, site):
    from ambassadors.services.programme import join_page_of
    from tenancy.scoping import tenant_scope
    from tests.factories import PASSWORD
    from tests.support.services import CHROMIUM, CHROMIUM_ARGS, need_service

    need_service("Chromium", Path(CHROMIUM).is_file(), f"no executable at {CHROMIUM}")
    with tenant_scope(org):  # the database work first: the browser thread only browses
        join = join_page_of(org)
        join.enabled = True
        join.headline = MARKUP
        join.save()
    site["owner"].is_staff = site["owner"].is_superuser = True  # Django's admin, for platform staff
    site["owner"].save()
    pages = main_pages(org, site)
    campaign_page = f"/o/{org.slug}/campaigns/{site['campaign'].public_id}/"
    admin_pages = ["/admin/", "/admin/tenancy/organization/", f"/admin/tenancy/organization/{org.pk}/change/",
                   "/admin/campaigns/campaign/"]
    users = {role: site[role].email for role in pages}

    def browse():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                return check_pages(browser)
            finally:
                browser.close()

    def check_pages(browser):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        page = context.new_page()
        page.add_init_script(f"({VIOLATIONS})()")
        console, dialogs, visited = [], [], []
        page.on("console", lambda message: console.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text else None)
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

        def visit(path):
            response = page.goto(f"{live_server.url}{path}")
            assert response.status < 400, (path, response.status)
            page.wait_for_load_state("load")
            caught = page.evaluate("() => window.__csp || []")
            assert not caught, (path, caught)
            visited.append(path)

        def log_in(email):
            context.clear_cookies()
            visit("/accounts/login/")
            page.fill("input[name=login]", email)
            page.fill("input[name=password]", PASSWORD)
            page.click("form:has(input[name=login]) button[type=submit]")
            page.wait_for_url(lambda url: "/accounts/login/" not in url)

        visit("/")
        visit("/api/docs/")
        page.wait_for_selector(".swagger-ui .info", timeout=15_000)  # Swagger UI ran from its files
        visit(f"/join/{org.slug}/")
        for role, paths in pages.items():
            log_in(users[role])
            for path in paths:
                visit(path)
                if path == campaign_page:
                    button = page.locator("button[data-copy]").first
                    button.click()  # static/js/app.js (was an inline <script>)
                    page.wait_for_function("b => b.textContent === 'Copied'", arg=button.element_handle())
        for path in admin_pages:  # still the owner, now staff
            visit(path)
        # The new API key page: select-on-focus moved from onfocus= to app.js.
        visit(f"/o/{org.slug}/manage/api-keys/")
        page.fill("main form:has(input[name=name]) input[name=name]", "CRM")
        page.click("main form:has(input[name=name]) button[type=submit]")
        page.wait_for_selector("#full-key")
        page.focus("#full-key")
        selected = page.evaluate("() => { const f = document.getElementById('full-key'); return "
                                 "f.selectionEnd - f.selectionStart === f.value.length && f.value.length > 20; }")
        caught = page.evaluate("() => window.__csp || []")
        context.close()
        return visited, selected, caught, console, dialogs

    visited, selected, caught, console, dialogs = in_own_thread(browse)
    assert selected, "the new API key was not selected on focus"
    assert not caught and not console, (caught, console)
    assert not dialogs, dialogs  # no injected markup ran
    assert campaign_page in visited and "/api/docs/" in visited
    print(f"DRILL csp browser: pages={len(visited)} violations=0 console-csp=0 dialogs=0")
