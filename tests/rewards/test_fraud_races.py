"""Fraud cases under concurrency, on PostgreSQL (SQLite runs one write transaction at a time):
two transactions opening the same ambassador's case meet at the one-open-case constraint and
end in one case; a release waiting for a screening that holds an entry in the case releases
that entry too (none is left held in a closed case)."""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from rewards.models import CaseStatus, EarningEntry, EntryStatus, FraudCase, FraudSignal
from rewards.services.fraud import release, screen_entries
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, OrganizationFactory, RewardRuleFactory, UserFactory
from tracking.services.conversions import record_lead

TIMEOUT = 20
NOW = timezone.now().replace(microsecond=0)


class Thread(threading.Thread):
    """A thread with its own connection, closed at its end; its exception re-raised by finish()."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.target, self.error = target, None

    def run(self):
        try:
            self.target()
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            self.error = error
        finally:
            connections.close_all()

    def finish(self):
        self.join(TIMEOUT)
        assert not self.is_alive(), "thread still running"
        if self.error:
            raise self.error


def wait_until_blocked(thread: Thread) -> None:
    """Until another backend waits for a lock (the thread's), failing if the thread ends first."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        assert thread.is_alive(), f"the thread finished without waiting ({thread.error!r})"
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    raise AssertionError("the thread never waited for a lock")


def paused_screening(org, entry, opened: threading.Event, go: threading.Event):
    """Screen `entry` in a transaction that stays open (its locks held) until `go`."""
    def run():
        with transaction.atomic():
            screen_entries(org.pk, [entry], now=NOW)
            opened.set()
            assert go.wait(TIMEOUT)
    return Thread(run)


@pytest.fixture
def world(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: there is no race to have")
    org = OrganizationFactory()
    user = UserFactory(email="ada@lovelace-consulting.test")
    ada = AmbassadorFactory(organization=org, user=user, email=user.email)
    rule = RewardRuleFactory(organization=org, event="lead", amount_kind="flat", percent=None, amount=Decimal("5"))

    def entry(email):
        customer, _ = record_lead(org, email=email, customer_external_id=email)
        with tenant_scope(org):
            return EarningEntry.objects.create(
                organization=org, rule=rule, ambassador=ada, cause=f"lead:{customer.pk}", event="lead",
                customer_id=customer.pk, unit="money", currency="EUR", amount=Decimal("5.00"), earned_at=NOW,
                approve_after=NOW - timedelta(days=1))
    return org, ada, entry


def test_two_screenings_opening_one_ambassadors_case_at_once_make_one_case(world):
    org, ada, entry = world
    first, second = entry("ada@lovelace-consulting.test"), entry("x@mailinator.com")
    opened, go = threading.Event(), threading.Event()
    a = paused_screening(org, first, opened, go)
    a.start()
    assert opened.wait(TIMEOUT)
    # B finds no committed open case, inserts one, and waits at the unique index for A's.
    b = Thread(lambda: screen_entries(org.pk, [second], now=NOW))
    b.start()
    wait_until_blocked(b)
    go.set()
    a.finish()
    b.finish()  # B lost at the constraint and took A's case

    with tenant_scope(org):
        case = FraudCase.objects.get(ambassador=ada)
        assert case.status == CaseStatus.OPEN
        assert set(EarningEntry.objects.values_list("status", "fraud_case_id")) == {(EntryStatus.HELD, case.pk)}
        assert sorted(FraudSignal.objects.filter(case=case).values_list("reason", flat=True)) == \
            ["disposable", "same_email"]


def test_a_release_waiting_for_a_screening_releases_the_entry_it_held(world):
    org, ada, entry = world
    first = entry("ada@lovelace-consulting.test")
    screen_entries(org.pk, [first], now=NOW)
    with tenant_scope(org):
        case = FraudCase.objects.get(ambassador=ada)
    second = entry("y@mailinator.com")
    opened, go = threading.Event(), threading.Event()
    a = paused_screening(org, second, opened, go)
    a.start()
    assert opened.wait(TIMEOUT)
    admin = UserFactory(email="admin@acme.test")
    b = Thread(lambda: release(case, admin, "fine"))
    b.start()
    wait_until_blocked(b)  # on the case's row lock, held by the screening
    go.set()
    a.finish()
    b.finish()

    with tenant_scope(org):
        assert FraudCase.objects.get(pk=case.pk).status == CaseStatus.RELEASED
        # Both entries were due: the release approved the one held a moment before it too.
        assert list(EarningEntry.objects.order_by("pk").values_list("status", flat=True)) == \
            [EntryStatus.APPROVED, EntryStatus.APPROVED]
