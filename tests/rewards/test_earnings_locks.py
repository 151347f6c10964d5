"""One earnings run per organisation at a time (PostgreSQL's run lock); parallel chunks give the
same ledger as one thread."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from rewards.services import earnings
from tenancy.scoping import tenant_scope
from tests.support.rewards import flat_rule, ledger_differences, ledger_sums, reward_rule
from tests.support.scenario import Scenario

pytestmark = pytest.mark.django_db(transaction=True)

T = timezone.now().replace(microsecond=0) - timedelta(days=1)


def programme(org, customers: int):
    s = Scenario(org)
    spring = s.campaign("Spring")
    links = [s.link(spring, s.ambassador(f"Amb {n}")) for n in range(4)]
    visitors = []
    for n in range(customers):
        visitor = s.visitor()
        for k in range(1 + n % 3):
            visitor.clicks(links[(n + k) % 4], T - timedelta(hours=k + 1))
        visitors.append(visitor)
    s.process()
    for n, visitor in enumerate(visitors):
        visitor.lead(f"cus_{n}", at=T).buys(f"{100 + n}.99", at=T)
    s.attribute()
    reward_rule(org, name="10 %")
    flat_rule(org, "lead", "1.00")
    flat_rule(org, "click", "1", unit="points")


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_second_run_waits_for_the_first_then_gives_up_busy(org):
    programme(org, 3)
    held, release, done = threading.Event(), threading.Event(), {}

    def holder():
        try:
            with earnings._run_lock(org.pk, wait=1) as acquired:
                done["holder"] = acquired
                held.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(30)
    busy = earnings.compute_earnings(org.pk, now=T, wait=0.6)
    release.set()
    thread.join(30)
    assert done["holder"] and busy.busy and busy.created == 0
    assert ledger_sums(org) == {}
    after = earnings.compute_earnings(org.pk, now=T, wait=0.6)
    assert not after.busy and after.created > 0
    assert ledger_differences(org) == {}


def test_chunks_in_threads_write_the_same_ledger_as_one_thread(org, settings):
    settings.EARNINGS_CUSTOMER_CHUNK = 3
    programme(org, 14)
    result = earnings.compute_earnings(org.pk, now=T, parallel=3)
    assert result.customers == 14
    assert ledger_differences(org) == {}
    assert sum(ledger_sums(org).values()) > Decimal("0")
    assert earnings.compute_earnings(org.pk, now=T, parallel=3).created == 0
    if connection.vendor == "postgresql":
        with tenant_scope(org):
            assert earnings._threads(earnings._context(org.pk, T), 3, 5) == 3
