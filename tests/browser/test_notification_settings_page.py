"""The admin's notification settings page in Chromium, under the site's strict CSP: a refused webhook
URL is a clear error on its field; a Slack URL pasted, saved and shown masked; the test message
posted to the (loopback) webhook and a refusal shown as the channel's last problem."""

import re

import pytest
from playwright.sync_api import expect

from tenancy.models import Role
from tests.factories import member
from tests.support.browser import CspWatch

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SECRET = "pAsTeD-secret-9911"


def test_an_admin_sets_up_slack_and_sends_a_test_message(page, log_in, live_server, org, http_receiver):
    admin = member(org, Role.ADMIN, email="admin@acme.test")
    csp = CspWatch(page.context)
    log_in(admin)
    page.goto(f"{live_server.url}/o/{org.slug}/manage/")
    page.locator("#main").get_by_role("link", name="Notifications").click()  # the admin index, not the nav
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()

    field = page.get_by_label("Slack incoming-webhook URL")
    field.fill("http://evil.example/services/T/B/x")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".errorlist")).to_contain_text("Webhook addresses must start with https://")
    expect(field).to_have_value("")  # what was typed is not shown back

    url = http_receiver.url(f"/services/T0ORG/B0HOOK/{SECRET}")
    field.fill(url)
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".message.success")).to_have_text("Notification settings saved.")
    slack_row = page.locator("tr[data-channel=slack]")
    expect(slack_row).to_contain_text(f"http://127.0.0.1:{http_receiver.port}/services/T…/…/••••")
    assert SECRET not in page.content()

    slack_row.get_by_role("button", name="Send a test message").click()
    expect(page.locator(".message.success")).to_have_text("The test message was posted to Slack.")
    assert http_receiver.received[0].json["blocks"][0]["text"]["text"] == "Test message from Acme"

    http_receiver.answer(404, "no_service")
    page.locator("tr[data-channel=slack]").get_by_role("button", name="Send a test message").click()
    problem = "Slack refused the message (404 no_service): the webhook was probably deleted; paste a new URL"
    expect(page.locator(".message.error")).to_contain_text(problem)
    expect(page.locator("td[data-problem=slack]")).to_contain_text(re.compile(r"Refused\s+" + re.escape(problem)))
    csp.assert_clean()
