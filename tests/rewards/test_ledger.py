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


def test_approve_due_reads_from_its_last_run_and_still_finds_an_entry_written_while_it_ran(org, rule, scoped):
    """Each run reads entries by approve_after from the last run's `now` less a day: an entry a
    transaction wrote while the last run was going (its holding over by then, invisible to it) is
    approved by the next run; what came due since, too."""
    first = timezone.now()
    early = entry(org, rule, scoped, approve_after=first - timedelta(hours=1))
    assert ledger.approve_due(org.pk, first) == 1
    with scoped(org):
        from rewards.models import EarningsCursor

        assert EarningsCursor.objects.get(organization=org).approved_through == first
    written_late = entry(org, rule, scoped, approve_after=first - timedelta(minutes=5))
    came_due = entry(org, rule, scoped, approve_after=first + timedelta(hours=2))
    not_yet = entry(org, rule, scoped, approve_after=first + timedelta(days=2))
    assert ledger.approve_due(org.pk, first + timedelta(hours=3)) == 2
    assert [status(org, scoped, e) for e in (early, written_late, came_due, not_yet)] == [
        "approved", "approved", "approved", "pending"]
    assert ledger.has_due(org.pk, first + timedelta(days=3))
    assert ledger.approve_due(org.pk, first + timedelta(days=3)) == 1
    assert not ledger.has_due(org.pk, first + timedelta(days=4))


def test_approve_due_with_a_clock_before_its_last_run_reads_every_pending_entry(org, rule, scoped):
    now = timezone.now()
    assert ledger.approve_due(org.pk, now + timedelta(days=60)) == 0
    e = entry(org, rule, scoped, approve_after=now - timedelta(days=10))
    assert ledger.approve_due(org.pk, now) == 1
    assert status(org, scoped, e) == "approved"


def test_the_approvals_queue_lists_pending_entries_after_the_floor_and_held_ones(org, rule, scoped):
    from rewards.selectors.earnings import approval_queue, queue_counts

    now = timezone.now()
    waiting = entry(org, rule, scoped, approve_after=now + timedelta(days=3))
    due = entry(org, rule, scoped, approve_after=now - timedelta(hours=1))
    case = None
    with scoped(org):
        case = FraudCaseFactory(organization=org, ambassador=waiting.ambassador)
    held = entry(org, rule, scoped, approve_after=now - timedelta(days=40), status=EntryStatus.HELD, fraud_case=case)
    entry(org, rule, scoped, approve_after=now - timedelta(days=40), status=EntryStatus.APPROVED)
    with scoped(org):
        assert {e.pk for e in approval_queue(now=now)} == {waiting.pk, due.pk, held.pk}
        assert (queue_counts(now).pending, queue_counts(now).due, queue_counts(now).held) == (2, 1, 1)
        assert [e.pk for e in approval_queue(now=now, status="held")] == [held.pk]
    ledger.approve_due(org.pk, now)
    with scoped(org):
        assert {e.pk for e in approval_queue(now=now)} == {waiting.pk, held.pk}
        assert {e.pk for e in approval_queue(now=now, status="pending")} == {waiting.pk}


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
