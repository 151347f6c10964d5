"""The ambassador's "My earnings" page: exact figures for a hand-made ledger (tests/support/earnings.py),
nobody else's entries, held entries on hold for review without a word of why, corrections and negative
amounts shown as such, the payout estimate against the minimum payout, paid runs, points, pagination."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from ambassadors.models import Ambassador
from rewards.models import EntryStatus
from tenancy.models import Membership, Role
from tenancy.scoping import tenant_scope
from tests.factories import (
    EarningEntryFactory,
    OrganizationFactory,
    PayoutDetailsFactory,
    RewardRuleFactory,
    member,
)
from tests.support.earnings import CANCEL_NOTE, EXPECTED, SIGNAL_DETAIL, build_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada_user(org):
    return member(org, Role.AMBASSADOR, ambassador=True, email="ada@acme.test")


def page(client, org, **query):
    response = client.get(reverse("my_earnings", args=[org.slug]), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def cell(html, currency, status):
    match = re.search(rf'<tr data-currency="{currency}">.*?data-status="{status}">([^<]*)</td>', html, re.S)
    assert match, (currency, status)
    return match.group(1)


def ledger_rows(html):
    return re.findall(r'<tr data-entry="([0-9a-f-]+)">(.*?)</tr>', html, re.S)


def test_the_ambassador_sees_exact_figures_per_currency_and_status(login, org, ada_user):
    build_ledger(org, ada_user)
    html = page(login(ada_user), org)
    for currency, statuses in EXPECTED.items():
        for status, shown in statuses.items():
            assert cell(html, currency, status) == shown, (currency, status)
    # The next payout: EUR below the minimum payout, USD above it.
    assert "12.40 EUR approved; payouts start at 20 EUR." in html
    assert "30.00 USD approved: paid in the next payout run." in html
    # When pending money becomes approvable, per day (Paris) and currency, soonest first.
    schedule = re.sub(r"\s+", " ", re.search(r'id="pending-schedule">(.*?)</section>', html, re.S).group(1))
    assert re.findall(r"<li>(.*?) from (\d+ \w+ \d{4})", schedule) == [
        ("\u22123.34 EUR", "30 Apr 2031"), ("10.00 EUR", "12 May 2031"), ("40 points", "12 May 2031"),
        ("5.00 USD", "2 Jun 2031")]
    # Paid history: the run's date and amount.
    paid = re.search(r'id="paid-history">(.*?)</section>', html, re.S).group(1)
    assert re.findall(r"<td>(.*?)</td><td class=\"num\">(.*?)</td>", paid) == [("31 Mar 2026", "50.00 EUR")]
    # Points: approved 500 to spend, 540 earned in all (40 pending).
    assert 'data-points="balance">500 points<' in html
    assert 'data-points="lifetime">540 points<' in html
    assert "40 points pending" in html


def test_the_ledger_lists_every_entry_with_what_earned_it(login, org, ada_user):
    ledger = build_ledger(org, ada_user)
    html = page(login(ada_user), org)
    rows = dict(ledger_rows(html))
    mine = {name: e for name, e in ledger.entries.items() if name != "bob"}
    assert set(rows) == {str(e.public_id) for e in mine.values()}  # 12 entries: one page
    refund = re.sub(r"\s+", " ", rows[str(ledger.entries["refund"].public_id)])
    assert "<strong>Refund after payout</strong>: Sale · Spring launch" in refund
    assert "\u22123.34 EUR" in refund and "taken back" in refund
    assert "approvable from 30 Apr 2031" in refund
    lead = rows[str(ledger.entries["pending_2"].public_id)]
    assert "Lead · Spring launch" in lead and "5 per lead" in lead and "2.60 EUR" in lead
    assert "11 Apr 2026" in lead  # earned (Paris)
    points = rows[str(ledger.entries["points"].public_id)]
    assert "Unique click" in points and "500 points" in points and "Approved" in points
    assert "Canceled" in rows[str(ledger.entries["canceled"].public_id)]
    # Newest first.
    order = [entry_id for entry_id, _ in ledger_rows(html)]
    assert order[0] == str(ledger.entries["points_pending"].public_id)
    assert order[-1] == str(ledger.entries["paid_1"].public_id)


def test_held_entries_say_on_hold_for_review_and_nothing_of_why(login, org, ada_user):
    ledger = build_ledger(org, ada_user)
    html = page(login(ada_user), org)
    held = dict(ledger_rows(html))[str(ledger.entries["held"].public_id)]
    assert "On hold for review" in held
    assert SIGNAL_DETAIL not in html and CANCEL_NOTE not in html
    assert "fraud" not in html.lower()
    assert "e-mail is the ambassador" not in html  # the fraud reason's label
    filtered = page(login(ada_user), org, status="held")
    assert [entry_id for entry_id, _ in ledger_rows(filtered)] == [str(ledger.entries["held"].public_id)]


def test_no_other_ambassadors_entries_nor_other_organisations(login, org, ada_user):
    build_ledger(org, ada_user)
    elsewhere = OrganizationFactory(name="Elsewhere", slug="elsewhere")
    with tenant_scope(elsewhere):
        Membership.objects.create(organization=elsewhere, user=ada_user, role=Role.AMBASSADOR)
        mine_there = Ambassador.objects.create(organization=elsewhere, user=ada_user, email=ada_user.email,
                                               display_name="Ada elsewhere", status="active")
        EarningEntryFactory(rule=RewardRuleFactory(organization=elsewhere), ambassador=mine_there,
                            amount=Decimal("777.77"))
    html = page(login(ada_user), org)
    assert "111.11" not in html and "Bob Secret" not in html
    assert "777.77" not in html
    there = page(login(ada_user), elsewhere)
    assert cell(there, "EUR", "pending") == "777.77 EUR" and "6.66" not in there


def test_the_ledger_is_paginated(login, org, ada_user):
    rule = RewardRuleFactory(organization=org)
    with tenant_scope(org):
        ada = Ambassador.objects.get(user=ada_user)
    for n in range(30):
        EarningEntryFactory(rule=rule, ambassador=ada, amount=Decimal("1.00"), cause=f"sale:{n}")
    client = login(ada_user)
    first, second = page(client, org), page(client, org, page=2)
    assert len(ledger_rows(first)) == 25 and len(ledger_rows(second)) == 5
    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert cell(first, "EUR", "pending") == "30.00 EUR"


def test_an_empty_ledger_and_a_member_without_a_profile(login, org, ada_user, manager):
    html = page(login(ada_user), org)
    assert "No money earned yet." in html and "No entry yet." in html and "No approved money" in html
    assert login(manager).get(reverse("my_earnings", args=[org.slug])).status_code == 404


def test_a_negative_approved_balance_is_netted_and_a_reached_minimum_is_paid(login, org, ada_user):
    rule = RewardRuleFactory(organization=org)
    with tenant_scope(org):
        ada = Ambassador.objects.get(user=ada_user)
    EarningEntryFactory(rule=rule, ambassador=ada, amount=Decimal("-33.34"), status=EntryStatus.APPROVED,
                        cause="sale:1:refund")
    EarningEntryFactory(rule=rule, ambassador=ada, amount=Decimal("20.00"), status=EntryStatus.APPROVED,
                        currency="GBP", cause="sale:2")
    html = page(login(ada_user), org)
    assert "\u221233.34 EUR taken back after a payout will be netted against your next payout." in html
    assert "20.00 GBP approved: paid in the next payout run." in html  # no minimum payout set: 0


def test_where_the_money_goes_and_where_points_are_spent(login, org, ada_user):
    with tenant_scope(org):
        ada = Ambassador.objects.get(user=ada_user)
    client = login(ada_user)
    details_url = reverse("payout_details", args=[org.slug])
    html = page(client, org)
    assert "Paid with your salary (payroll)." in html and f'href="{details_url}"' in html  # internal
    assert f'href="{reverse("points_catalogue", args=[org.slug])}"' in html
    with tenant_scope(org):
        Ambassador.objects.filter(pk=ada.pk).update(kind="external")
    html = page(client, org)
    assert "Add your payout details to be paid:" in html
    PayoutDetailsFactory(ambassador=ada, masked="a•••@example.com")
    html = page(client, org)
    assert "Paid to PayPal a•••@example.com" in html and "Change your payout details" in html


def test_the_navigation_links_to_the_page(login, org, ada_user):
    html = page(login(ada_user), org)
    url = reverse("my_earnings", args=[org.slug])
    assert f'<a href="{url}" aria-current="page">Earnings</a>' in html
    home = login(ada_user).get(reverse("org_home", args=[org.slug])).content.decode()
    assert f'<a href="{url}">Earnings</a>' in home


def test_another_organisations_page_is_404(login, org, other_org, ada_user):
    assert login(ada_user).get(reverse("my_earnings", args=[other_org.slug])).status_code == 404
