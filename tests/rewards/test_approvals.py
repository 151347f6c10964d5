"""The admins' approvals queue: pending and held entries with their filters; approve early, cancel
with a required reason (and hold) through rewards.services.ledger, each in the audit log; all or
nothing; managers read only (403 on acting), ambassadors are refused, other organisations get 404."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from rewards.models import AuditEntry, EarningEntry, EntryStatus
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import (
    AmbassadorFactory,
    CampaignFactory,
    EarningEntryFactory,
    FraudCaseFactory,
    RewardRuleFactory,
    member,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(org):
    """Pending (one due, one not), held, approved and paid-like entries of two ambassadors."""
    now = timezone.now()
    rule = RewardRuleFactory(organization=org, name="10 % of sales")
    spring, autumn = CampaignFactory(organization=org, name="Spring"), CampaignFactory(organization=org, name="Autumn")
    ada = AmbassadorFactory(organization=org, display_name="Ada Lovelace")
    bob = AmbassadorFactory(organization=org, display_name="Bob Builder")
    entries = {
        "due": EarningEntryFactory(rule=rule, ambassador=ada, campaign=spring, amount=Decimal("12.50"),
                                   approve_after=now - timedelta(hours=2)),
        "later": EarningEntryFactory(rule=rule, ambassador=ada, campaign=autumn, amount=Decimal("7.25"),
                                     approve_after=now + timedelta(days=20)),
        "bob": EarningEntryFactory(rule=rule, ambassador=bob, campaign=spring, amount=Decimal("3.00"),
                                   approve_after=now + timedelta(days=5)),
        "held": EarningEntryFactory(rule=rule, ambassador=bob, campaign=autumn, amount=Decimal("40.00"),
                                    status=EntryStatus.HELD, fraud_case=FraudCaseFactory(ambassador=bob)),
        "approved": EarningEntryFactory(rule=rule, ambassador=ada, campaign=spring, amount=Decimal("99.99"),
                                        status=EntryStatus.APPROVED),
    }
    return entries


def url(org):
    return reverse("reward_approvals", args=[org.slug])


def listed(html):
    return set(re.findall(r'<tr data-entry="([0-9a-f-]+)">', html))


def ids(*entries):
    return {str(e.public_id) for e in entries}


def status_of(org, entry):
    with tenant_scope(org):
        return EarningEntry.objects.get(pk=entry.pk).status


def test_the_queue_lists_pending_and_held_entries_with_filters(login, org, admin_user, queue):
    client = login(admin_user)
    html = client.get(url(org)).content.decode()
    assert listed(html) == ids(queue["due"], queue["later"], queue["bob"], queue["held"])
    assert 'data-count="pending">3<' in html and 'data-count="due">1<' in html and 'data-count="held">1<' in html
    assert "In this list: 62.75 EUR (4)" in html
    assert listed(client.get(url(org), {"status": "held"}).content.decode()) == ids(queue["held"])
    assert listed(client.get(url(org), {"due": "due"}).content.decode()) == ids(queue["due"])
    assert listed(client.get(url(org), {"status": "pending", "due": "later"}).content.decode()) == ids(
        queue["later"], queue["bob"])
    spring = queue["due"].campaign
    assert listed(client.get(url(org), {"campaign": str(spring.public_id)}).content.decode()) == ids(
        queue["due"], queue["bob"])
    by_ada = client.get(url(org), {"ambassador": str(queue["due"].ambassador.public_id)}).content.decode()
    assert listed(by_ada) == ids(queue["due"], queue["later"]) and "Only Ada Lovelace's entries." in by_ada


def test_a_bad_filter_is_a_400_with_its_message(login, org, admin_user, queue):
    response = login(admin_user).get(url(org), {"status": "paid", "ambassador": "not-a-uuid"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice." in html and "Enter a valid UUID." in html
    assert not listed(html)


def test_an_admin_approves_early_in_bulk_and_each_approval_is_audited(login, org, admin_user, queue):
    client = login(admin_user)
    response = client.post(url(org) + "?status=pending", {
        "action": "approve", "entries": [str(queue["later"].public_id), str(queue["bob"].public_id)]})
    assert response.status_code == 302 and response["Location"] == url(org) + "?status=pending"
    assert status_of(org, queue["later"]) == status_of(org, queue["bob"]) == EntryStatus.APPROVED
    assert status_of(org, queue["due"]) == EntryStatus.PENDING
    with tenant_scope(org):
        audit = list(AuditEntry.objects.filter(action="entry.approve").order_by("object_id"))
    assert sorted(a.object_id for a in audit) == sorted(ids(queue["later"], queue["bob"]))
    assert {a.actor_id for a in audit} == {admin_user.pk} and {a.actor_label for a in audit} == {admin_user.email}
    assert all(a.before == {"status": "pending"} and a.after == {"status": "approved"} for a in audit)
    page = client.get(response["Location"]).content.decode()
    assert "Approved 2 entries." in page


def test_cancel_needs_a_reason_and_keeps_it(login, org, admin_user, queue):
    client = login(admin_user)
    entry = queue["held"]
    response = client.post(url(org), {"action": "cancel", "entries": [str(entry.public_id)], "reason": "  "})
    assert response.status_code == 400
    assert "Say why the entries are canceled" in response.content.decode()
    assert status_of(org, entry) == EntryStatus.HELD
    response = client.post(url(org), {"action": "cancel", "entries": [str(entry.public_id)],
                                      "reason": "Duplicate order"})
    assert response.status_code == 302
    with tenant_scope(org):
        entry.refresh_from_db()
        audit = AuditEntry.objects.get(action="entry.cancel", object_id=str(entry.public_id))
    assert entry.status == EntryStatus.CANCELED and entry.note == "Duplicate order"
    assert audit.actor == admin_user and audit.after["reason"] == "Duplicate order"
    assert audit.before == {"status": "held"}


def test_an_admin_holds_entries_for_review_in_each_ambassadors_case(login, org, admin_user, queue):
    client = login(admin_user)
    bob_case = queue["held"].fraud_case
    response = client.post(url(org), {"action": "hold", "reason": "Checking with the customer", "entries": [
        str(queue["due"].public_id), str(queue["approved"].public_id), str(queue["bob"].public_id)]})
    assert response.status_code == 302
    with tenant_scope(org):
        rows = {e.pk: e for e in EarningEntry.objects.filter(pk__in=[queue[n].pk for n in ("due", "approved", "bob")])}
        ada_case = rows[queue["due"].pk].fraud_case
        assert {e.status for e in rows.values()} == {EntryStatus.HELD}
        assert rows[queue["approved"].pk].fraud_case == ada_case and ada_case.status == "open"
        assert rows[queue["bob"].pk].fraud_case == bob_case  # Bob's open case, not a second one
        holds = list(AuditEntry.objects.filter(action="entries.hold"))
        opened = AuditEntry.objects.get(action="fraud_case.open")
    assert len(holds) == 2 and {h.after["reason"] for h in holds} == {"Checking with the customer"}
    assert {h.actor_id for h in holds} == {admin_user.pk}
    assert opened.object_id == str(ada_case.public_id) and opened.actor == admin_user
    assert "Held 3 entries." in client.get(response["Location"]).content.decode()


def test_holding_an_entry_already_held_holds_none(login, org, admin_user, queue):
    response = login(admin_user).post(url(org), {"action": "hold", "entries": [
        str(queue["due"].public_id), str(queue["held"].public_id)]})
    assert response.status_code == 400
    assert "Bob Builder · 40.00 EUR: only a pending or approved entry can be held; this one is held." in \
        response.content.decode()
    assert status_of(org, queue["due"]) == EntryStatus.PENDING
    with tenant_scope(org):
        assert not AuditEntry.objects.exists()
        assert not EarningEntry.objects.filter(pk=queue["due"].pk, fraud_case__isnull=False).exists()


def test_a_clawback_is_named_and_never_held(login, org, admin_user, queue):
    clawback = EarningEntryFactory(rule=queue["due"].rule, ambassador=queue["due"].ambassador, amount=Decimal("-5.00"),
                                   cause="sale:1:refund", adjusts=queue["approved"])
    client = login(admin_user)
    row = re.search(rf'<tr data-entry="{clawback.public_id}">(.*?)</tr>', client.get(url(org)).content.decode(), re.S)
    assert "Refund after payout: Sale" in row.group(1) and "\u22125.00 EUR" in row.group(1)
    response = client.post(url(org), {"action": "hold",
                                      "entries": [str(clawback.public_id), str(queue["due"].public_id)]})
    assert response.status_code == 400
    assert "a correction that takes money back is not held" in response.content.decode()
    assert status_of(org, clawback) == status_of(org, queue["due"]) == EntryStatus.PENDING
    page = client.get(reverse("reward_approval_entry", args=[org.slug, clawback.public_id])).content.decode()
    assert 'value="approve"' in page and 'value="hold"' not in page


def test_a_batch_with_one_entry_that_cannot_move_moves_none(login, org, admin_user, queue):
    response = login(admin_user).post(url(org), {"action": "approve", "entries": [
        str(queue["due"].public_id), str(queue["held"].public_id)]})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Only a pending entry can be approved early; this one is held." in html
    assert "Nothing was changed." in html and "Bob Builder · 40.00 EUR" in html
    assert status_of(org, queue["due"]) == EntryStatus.PENDING
    with tenant_scope(org):
        assert not AuditEntry.objects.exists()


def test_nothing_ticked_or_unknown_entries_are_refused(login, org, admin_user, queue):
    client = login(admin_user)
    response = client.post(url(org), {"action": "approve"})
    assert response.status_code == 400 and "Tick the entries to act on." in response.content.decode()
    response = client.post(url(org), {"action": "approve", "entries": ["nonsense"]})
    assert response.status_code == 400 and "not valid" in response.content.decode()
    response = client.post(url(org), {"action": "teleport", "entries": [str(queue["due"].public_id)]})
    assert response.status_code == 400 and status_of(org, queue["due"]) == EntryStatus.PENDING


def test_managers_read_the_queue_but_may_not_act(login, org, manager, queue):
    client = login(manager)
    response = client.get(url(org))
    assert response.status_code == 200
    html = response.content.decode()
    assert listed(html) and 'name="entries"' not in html and "Only admins can act on entries." in html
    response = client.post(url(org), {"action": "approve", "entries": [str(queue["due"].public_id)]})
    assert response.status_code == 403
    entry_url = reverse("reward_approval_entry", args=[org.slug, queue["due"].public_id])
    assert client.get(entry_url).status_code == 200
    assert client.post(entry_url, {"action": "cancel", "reason": "no"}).status_code == 403
    assert status_of(org, queue["due"]) == EntryStatus.PENDING
    with tenant_scope(org):
        assert not AuditEntry.objects.exists()


def test_ambassadors_are_refused(login, org, ambassador_user, queue):
    client = login(ambassador_user)
    assert client.get(url(org)).status_code == 403
    assert client.get(reverse("reward_approval_entry", args=[org.slug, queue["due"].public_id])).status_code == 403


def test_another_organisation_gets_404_and_cannot_act_on_these_entries(login, org, other_org, queue):
    outsider = member(other_org, Role.ADMIN)
    client = login(outsider)
    assert client.get(url(org)).status_code == 404
    assert client.post(url(org), {"action": "approve", "entries": [str(queue["due"].public_id)]}).status_code == 404
    # Their own organisation's URLs with these entries' ids: not found there.
    response = client.get(reverse("reward_approval_entry", args=[other_org.slug, queue["due"].public_id]))
    assert response.status_code == 404
    response = client.post(reverse("reward_approval_entry", args=[other_org.slug, queue["due"].public_id]),
                           {"action": "approve"})
    assert response.status_code == 404
    response = client.post(url(other_org), {"action": "approve", "entries": [str(queue["due"].public_id)]})
    assert response.status_code == 400 and "do not exist" in response.content.decode()
    assert status_of(org, queue["due"]) == EntryStatus.PENDING


def test_the_entry_page_shows_the_entry_and_acts_on_it(login, org, admin_user, queue):
    client = login(admin_user)
    entry = queue["later"]
    entry_url = reverse("reward_approval_entry", args=[org.slug, entry.public_id])
    html = client.get(entry_url).content.decode()
    assert "7.25 EUR for Ada Lovelace" in html and "10 % of sales" in html and "Autumn" in html
    assert 'value="approve"' in html and 'value="cancel"' in html
    response = client.post(entry_url, {"action": "cancel"})
    assert response.status_code == 400 and "Say why" in response.content.decode()
    response = client.post(entry_url, {"action": "approve"})
    assert response.status_code == 302 and status_of(org, entry) == EntryStatus.APPROVED
    html = client.get(entry_url).content.decode()
    assert "Approved." in html and 'value="approve"' not in html  # approved: hold or cancel only
    held_html = client.get(reverse("reward_approval_entry", args=[org.slug, queue["held"].public_id])).content.decode()
    assert 'value="cancel"' in held_html and 'value="approve"' not in held_html
    case_url = reverse("fraud_case", args=[org.slug, queue["held"].fraud_case.public_id])
    assert f'href="{case_url}"' in held_html
    assert f'href="{case_url}"' in client.get(url(org), {"status": "held"}).content.decode()


REWARD_PAGES = ["reward_rule_list", "reward_approvals", "fraud_cases", "payout_runs", "points_manage_catalogue",
                "points_redemptions", "reward_settings", "audit_log"]


def test_the_admin_index_links_every_rewards_page_and_each_opens(login, org, admin_user):
    client = login(admin_user)
    html = client.get(reverse("manage_home", args=[org.slug])).content.decode()
    section = re.search(r'<section class="card" aria-labelledby="m-rewards">(.*?)</section>', html, re.S).group(1)
    for name in REWARD_PAGES:
        page_url = reverse(name, args=[org.slug])
        assert f'href="{page_url}"' in section, name
        assert client.get(page_url).status_code == 200, name
