"""Status moves of ledger entries: forward only, conditional, each in the audit log."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from rewards.models import AuditEntry, EarningEntry, EntryStatus
from rewards.services import RewardError, ledger
from tests.factories import (
    EarningEntryFactory,
    FraudCaseFactory,
    PayoutItemFactory,
    PayoutRunFactory,
    RewardRuleFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule(org, scoped):
    with scoped(org):
        return RewardRuleFactory(organization=org)


def entry(org, rule, scoped, **fields):
    with scoped(org):
        return EarningEntryFactory(organization=org, rule=rule, **fields)


def status(org, scoped, e):
    with scoped(org):
        return EarningEntry.objects.get(pk=e.pk).status


def audit(org, scoped, action):
    with scoped(org):
        return list(AuditEntry.objects.filter(action=action))


def test_approve_due_approves_money_and_points_past_their_holding_only(org, rule, scoped, admin_user):
    now = timezone.now()
    points_rule = None
    with scoped(org):
        points_rule = RewardRuleFactory(organization=org, event="click", unit="points", amount_kind="flat",
                                        percent=None, amount=Decimal("5"))
    due = entry(org, rule, scoped, approve_after=now - timedelta(seconds=1))
    points = entry(org, points_rule, scoped, unit="points", currency="", amount=Decimal("5"), approve_after=now)
    waiting = entry(org, rule, scoped, approve_after=now + timedelta(days=1))
    held = entry(org, rule, scoped, approve_after=now - timedelta(days=1), status=EntryStatus.HELD)
    assert ledger.approve_due(org.pk, now) == 2
    assert [status(org, scoped, e) for e in (due, points, waiting, held)] == ["approved", "approved", "pending",
                                                                                 "held"]
    (line,) = audit(org, scoped, "entries.approve_due")
    assert line.actor_label == "system"
    assert sorted(line.after["entries"]) == sorted([str(due.public_id), str(points.public_id)])
    assert ledger.approve_due(org.pk, now) == 0  # nothing moves twice


def test_approve_due_works_through_batches(org, rule, scoped):
    now = timezone.now()
    for _ in range(5):
        entry(org, rule, scoped, approve_after=now)
    assert ledger.approve_due(org.pk, now, batch=2) == 5
    assert len(audit(org, scoped, "entries.approve_due")) == 3


def test_approve_early_then_not_twice(org, rule, scoped, admin_user):
    e = entry(org, rule, scoped)
    ledger.approve(e, admin_user)
    assert status(org, scoped, e) == "approved"
    (line,) = audit(org, scoped, "entry.approve")
    assert (line.actor_label, line.before, line.after) == ("admin@acme.test", {"status": "pending"},
                                                             {"status": "approved"})
    with pytest.raises(RewardError, match="Only a pending entry"):
        ledger.approve(e, admin_user)


def test_cancel_needs_a_reason_and_refuses_paid_entries(org, rule, scoped, admin_user):
    e = entry(org, rule, scoped)
    with pytest.raises(RewardError, match="why"):
        ledger.cancel(e, admin_user, "  ")
    ledger.cancel(e, admin_user, "Duplicate order")
    with scoped(org):
        e.refresh_from_db()
    assert (e.status, e.note) == ("canceled", "Duplicate order")
    (line,) = audit(org, scoped, "entry.cancel")
    assert line.after == {"status": "canceled", "reason": "Duplicate order"}
    with pytest.raises(RewardError, match="already canceled"):
        ledger.cancel(e, admin_user, "again")
    with scoped(org):
        item = PayoutItemFactory(run=PayoutRunFactory(organization=org), ambassador=e.ambassador)
    for paid_status, message in ((EntryStatus.PAID, "is paid"), (EntryStatus.IN_PAYOUT, "in a payout run")):
        paid = entry(org, rule, scoped, status=paid_status, payout_item=item)
        with pytest.raises(RewardError, match=message):
            ledger.cancel(paid, admin_user, "too late")
        assert status(org, scoped, paid) == paid_status


def test_hold_and_release_back_to_pending_or_approved_as_due(org, rule, scoped, admin_user):
    now = timezone.now()
    due = entry(org, rule, scoped, approve_after=now - timedelta(days=1), status=EntryStatus.APPROVED)
    not_due = entry(org, rule, scoped, approve_after=now + timedelta(days=1))
    done = entry(org, rule, scoped, status=EntryStatus.CANCELED)
    with scoped(org):
        case = FraudCaseFactory(organization=org, ambassador=due.ambassador)
    assert ledger.hold([due, not_due, done], case, None, "same e-mail") == 2
    with scoped(org):
        assert set(EarningEntry.objects.filter(fraud_case=case).values_list("status", flat=True)) == {"held"}
    assert ledger.approve_due(org.pk, now + timedelta(days=5)) == 0  # held entries wait for their case
    assert ledger.release([due, not_due, done], admin_user, now=now) == 2
    assert (status(org, scoped, due), status(org, scoped, not_due), status(org, scoped, done)) == (
        "approved", "pending", "canceled")
    assert ledger.release([due], admin_user, now=now) == 0
    assert [a.action for a in audit(org, scoped, "entries.hold") + audit(org, scoped, "entries.release")] == [
        "entries.hold", "entries.release"]


def test_mark_refunded_moves_unpaid_entries_only(org, rule, scoped):
    with scoped(org):
        item = PayoutItemFactory(run=PayoutRunFactory(organization=org))
    pending = entry(org, rule, scoped)
    paid = entry(org, rule, scoped, status=EntryStatus.PAID, payout_item=item)
    assert ledger.mark_refunded(org.pk, [pending, paid]) == 1
    assert (status(org, scoped, pending), status(org, scoped, paid)) == ("refunded", "paid")
    (line,) = audit(org, scoped, "entries.refund")
    assert line.after["entries"] == [str(pending.public_id)]
