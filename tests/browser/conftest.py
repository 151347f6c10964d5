"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

`playwright install` cannot download browsers here, so the system Chromium is launched. Tests that
need it are skipped when it is missing (or fail under REQUIRE_SERVICES=1, see tests/support/services.py).
"""

import os
import re
from pathlib import Path

import pytest

from tests.factories import PASSWORD
from tests.support.services import CHROMIUM, CHROMIUM_ARGS, need_service

# Playwright's sync API keeps an event loop running in the test thread for the whole session, and
# Django refuses ORM calls from a thread with a running loop (SynchronousOnlyOperation). The ORM is
# only used synchronously here (factories in the test, the live server in its own thread), so this is
# the standard pytest-django + Playwright recipe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

TIMEOUT_MS = 10_000
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-screenshots"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the item, so the `page` fixture knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    need_service("Chromium", Path(CHROMIUM).is_file(), f"no executable at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    """A fresh page in a fresh context (no cookies shared between tests); a screenshot on failure."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        try:
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        except Exception as error:  # noqa: BLE001 - a failed screenshot must not hide the test failure
            print(f"could not save a screenshot: {error}")
    context.close()


@pytest.fixture
def log_in(page, live_server):
    """Log in through the real allauth form: `log_in(user)`; returns the page, after the redirect."""

    def _log_in(user, password=PASSWORD):
        page.goto(f"{live_server.url}/accounts/login/")
        form = page.locator("form:has(input[name=login])")
        form.locator("input[name=login]").fill(user.email)
        form.locator("input[name=password]").fill(password)
        form.locator("button[type=submit]").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    return _log_in
