"""Ledger moves under concurrency: conditional updates, so a race can't move an entry twice."""

import threading

import pytest
from django.db import connection, connections

from rewards.models import AuditEntry, EarningEntry
from rewards.services import RewardError, ledger
from tenancy.scoping import tenant_scope
from tests.factories import EarningEntryFactory
from tests.support.rewards import reward_rule

pytestmark = pytest.mark.django_db(transaction=True)


def racing(threads: int, target) -> list:
    barrier = threading.Barrier(threads)
    outcomes = []

    def run():
        try:
            barrier.wait(timeout=30)
            outcomes.append(target())
        except RewardError as refusal:
            outcomes.append(refusal)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    return outcomes


def test_racing_approvals_and_a_cancel_move_the_entry_once(org, admin_user):
    threads = 10 if connection.vendor == "postgresql" else 4
    with tenant_scope(org):
        entry = EarningEntryFactory(organization=org, rule=reward_rule(org))
    outcomes = racing(threads, lambda: ledger.approve(entry, admin_user))
    assert sum(not isinstance(o, RewardError) for o in outcomes) == 1
    assert all("Only a pending entry" in o.message for o in outcomes if isinstance(o, RewardError))
    outcomes = racing(threads, lambda: ledger.cancel(entry, admin_user, "duplicate"))
    assert sum(not isinstance(o, RewardError) for o in outcomes) == 1
    with tenant_scope(org):
        assert EarningEntry.objects.get(pk=entry.pk).status == "canceled"
        assert sorted(AuditEntry.objects.values_list("action", flat=True)) == ["entry.approve", "entry.cancel"]


def test_racing_approve_due_runs_approve_each_entry_once(org):
    from django.utils import timezone

    with tenant_scope(org):
        rule = reward_rule(org)
        for _ in range(30):
            EarningEntryFactory(organization=org, rule=rule, approve_after=timezone.now())
    counts = racing(4, lambda: ledger.approve_due(org.pk))
    assert sum(counts) == 30
    with tenant_scope(org):
        assert set(EarningEntry.objects.values_list("status", flat=True)) == {"approved"}
