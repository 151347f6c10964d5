"""Rules, fraud cases and the audit log in Chromium under the site's strict CSP: an admin reaches
each from the admin index, makes a rule (a cap without its period is refused with the message on
the field), releases a fraud case, filters the audit log and downloads it as CSV."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from rewards.models import CaseStatus, EntryStatus, FraudCase, RewardRule
from rewards.services import rules
from rewards.services.fraud import screen_entries
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, EarningEntryFactory, RewardRuleFactory, UserFactory, member
from tests.support.browser import CspWatch
from tracking.services.conversions import record_lead

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_an_admin_makes_a_rule_releases_a_case_and_exports_the_audit_log(page, log_in, live_server, org):
    admin = member(org, Role.ADMIN, email="admin@acme.test")
    ada = AmbassadorFactory(organization=org, display_name="Ada Lovelace", email="ada@lovelace.test",
                            user=UserFactory(email="ada@lovelace.test"))
    customer, _ = record_lead(org, email="someone@mailinator.com", customer_external_id="cus-1")
    lead_rule = RewardRuleFactory(organization=org, name="Lead bonus", event="lead", amount_kind="flat",
                                  percent=None, amount=Decimal("5.00"))
    entry = EarningEntryFactory(rule=lead_rule, ambassador=ada, cause=f"lead:{customer.pk}", event="lead",
                                customer_id=customer.pk, approve_after=timezone.now() - timedelta(days=1))
    screen_entries(org.pk, [entry], now=timezone.now())
    csp = CspWatch(page.context)
    log_in(admin)

    page.goto(f"{live_server.url}/o/{org.slug}/manage/")
    page.get_by_role("link", name="Reward rules").click()
    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Name").fill("Sales commission")
    page.get_by_label("Event").select_option("sale")
    page.get_by_label("Reward in").select_option("money")
    page.locator("#id_amount_kind").select_option("percent")
    page.get_by_label("Percentage of the sale").fill("10")
    page.locator("#id_cap_amount").fill("100")
    page.get_by_role("button", name="Create rule").click()
    expect(page.locator(".errorlist")).to_contain_text(rules.CAP_NEEDS_PERIOD)
    page.get_by_label("Cap period").select_option("month")
    page.get_by_role("button", name="Create rule").click()
    expect(page.locator(".message.success")).to_contain_text("Rule “Sales commission” created")
    expect(page.locator("table")).to_contain_text("10 % of each sale; split by the reporting model; "
                                                  "at most 100.00 EUR per month")
    with tenant_scope(org):
        assert RewardRule.objects.get(name="Sales commission").cap_period == "month"

    page.goto(f"{live_server.url}/o/{org.slug}/manage/")
    page.get_by_role("link", name="Fraud cases").click()
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.locator("[data-reason=disposable]")).to_contain_text("mailinator.com")
    page.get_by_label("Note").fill("A real customer with a throwaway address.")
    page.get_by_role("button", name="Release: not fraud").click()
    expect(page.locator(".message.success")).to_contain_text("Case released")
    expect(page.locator(f"tr[data-entry='{entry.public_id}']")).to_contain_text("Approved")
    with tenant_scope(org):
        assert FraudCase.objects.get(ambassador=ada).status == CaseStatus.RELEASED
        entry.refresh_from_db()
        assert entry.status == EntryStatus.APPROVED

    page.goto(f"{live_server.url}/o/{org.slug}/manage/")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").select_option("reward_rule.create")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr[data-audit]")).to_have_count(1)
    expect(page.locator("tr[data-audit]")).to_contain_text("admin@acme.test")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert [row[2] for row in rows[1:]] == ["reward_rule.create"] and rows[1][1] == "admin@acme.test"
    csp.assert_clean()
