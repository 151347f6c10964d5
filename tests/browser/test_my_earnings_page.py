"""The earnings pages in Chromium under the site's strict CSP: the ambassador reaches "My earnings" from the
menu and reads the figures of a hand-made ledger (tests/support/earnings.py), filters the ledger to the entry
on hold; an admin approves an entry early from the approvals queue reached from the admin index."""

import re

import pytest
from playwright.sync_api import expect

from rewards.models import EarningEntry, EntryStatus
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import member
from tests.support.browser import CspWatch
from tests.support.earnings import EXPECTED, SIGNAL_DETAIL, build_ledger

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_the_ambassador_reads_their_earnings(page, log_in, live_server, org):
    ada = member(org, Role.AMBASSADOR, ambassador=True, email="ada@acme.test")
    ledger = build_ledger(org, ada)
    csp = CspWatch(page.context)
    log_in(ada)
    page.goto(f"{live_server.url}/o/{org.slug}/")
    page.get_by_role("link", name="Earnings", exact=True).click()
    expect(page.get_by_role("heading", name="My earnings")).to_be_visible()

    for currency, statuses in EXPECTED.items():
        row = page.locator(f"#money-totals tr[data-currency={currency}]")
        for status, shown in statuses.items():
            expect(row.locator(f"td[data-status={status}]")).to_have_text(shown)
    expect(page.locator("#next-payout")).to_contain_text("12.40 EUR approved; payouts start at 20 EUR.")
    expect(page.locator("#next-payout")).to_contain_text("30.00 USD approved: paid in the next payout run.")
    expect(page.locator("[data-points=balance]")).to_have_text("500 points")
    expect(page.locator("#paid-history")).to_contain_text("31 Mar 2026")
    refund = page.locator(f"tr[data-entry='{ledger.entries['refund'].public_id}']")
    expect(refund).to_contain_text("Refund after payout")
    expect(refund).to_contain_text("\u22123.34 EUR")

    page.get_by_label("Status").select_option(label="On hold for review")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"status=held"))
    rows = page.locator("#ledger tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("On hold for review")
    assert SIGNAL_DETAIL not in page.content()
    csp.assert_clean()


def test_an_admin_approves_an_entry_early_from_the_queue(page, log_in, live_server, org):
    ada = member(org, Role.AMBASSADOR, ambassador=True, email="ada@acme.test")
    ledger = build_ledger(org, ada)
    admin = member(org, Role.ADMIN, email="admin@acme.test")
    csp = CspWatch(page.context)
    log_in(admin)
    page.goto(f"{live_server.url}/o/{org.slug}/manage/")
    page.get_by_role("link", name="Earnings to approve").click()
    expect(page.get_by_role("heading", name="Earnings to approve")).to_be_visible()
    entry = ledger.entries["pending_1"]
    page.locator(f"tr[data-entry='{entry.public_id}'] input[type=checkbox]").check()
    page.get_by_role("button", name="Approve now").click()
    expect(page.locator(".message.success")).to_have_text("Approved 1 entry.")
    expect(page.locator(f"tr[data-entry='{entry.public_id}']")).to_have_count(0)

    held = ledger.entries["held"]
    page.locator(f"tr[data-entry='{held.public_id}'] input[type=checkbox]").check()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator(".errorlist")).to_contain_text("Say why the entries are canceled")
    with tenant_scope(org):
        assert EarningEntry.objects.get(pk=entry.pk).status == EntryStatus.APPROVED
        assert EarningEntry.objects.get(pk=held.pk).status == EntryStatus.HELD
    csp.assert_clean()
