"""Drill: a process making a payout run is SIGKILLed in the middle (PostgreSQL: after it wrote the
run and its items, while its claim of the entries waits on a row lock this test holds). Nothing of
it is left: no run, no item, every entry approved and in no run; the next run pays everything once.

(On SQLite the run's transaction takes the database's write lock first, so there is no "middle"
to stop it in; tests/rewards/test_payouts.py fails a run midway on both databases.)"""

import os
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Sum

from ambassadors.models import Kind
from rewards.models import EarningEntry, EntryStatus, PayoutItem, PayoutRun
from rewards.services import payouts
from tenancy.models import Role
from tenancy.scoping import scopes_disabled
from tests.factories import AmbassadorFactory, RewardRuleFactory, member
from tests.support.payouts import approved, give_paypal
from tests.support.subprocesses import subprocess_database_url
from tests.support.workers import stop_process_group

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

AMBASSADORS = 40
WAIT = 60  # seconds for the run to reach the lock


def run_waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                       "AND query ILIKE '%%UPDATE rewards_earningentry SET status%%'")
        return cursor.fetchone()[0] > 0


def start_run_process(organization_id: int, tmp_path) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": settings.SECRET_KEY,
           "DEBUG": "0", "DATABASE_URL": subprocess_database_url(), "VAR_DIR": str(tmp_path / "var")}
    code = ("import django; django.setup(); from rewards.services.payouts import create_run; "
            f"create_run({organization_id}, None); print('finished')")
    return subprocess.Popen([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_a_process_killed_mid_run_leaves_nothing_and_the_next_run_pays_once(org, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("stops the run on a row lock its UPDATE waits for: PostgreSQL")
    rule = RewardRuleFactory(organization=org)
    people = [AmbassadorFactory(organization=org, kind=Kind.EXTERNAL, display_name=f"A{n:02}")
              for n in range(AMBASSADORS)]
    for person in people:
        give_paypal(person, f"{person.display_name.lower()}@paypal.example")
        approved(person, "10.00", rule=rule)
        approved(person, "-2.50", rule=rule)
    with scopes_disabled():
        last = EarningEntry.objects.order_by("pk").last()

    with transaction.atomic():
        # The run's claim (one UPDATE of every approved entry) waits for this lock, mid-transaction.
        with scopes_disabled():
            EarningEntry.objects.select_for_update().get(pk=last.pk)
        process = start_run_process(org.pk, tmp_path)
        deadline = time.monotonic() + WAIT
        while not run_waiting_on_a_lock():
            if process.poll() is not None or time.monotonic() > deadline:
                stop_process_group(process, warm=False)  # else reading its output waits for it, which waits for us
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"the run never waited on the lock (exit {process.poll()}):\n{output}")
            time.sleep(0.05)
        stop_process_group(process, warm=False)  # SIGKILL, mid-run
        transaction.set_rollback(True)

    with scopes_disabled():
        runs, items = PayoutRun.objects.count(), PayoutItem.objects.count()
        statuses = set(EarningEntry.objects.values_list("status", flat=True))
        claimed = EarningEntry.objects.filter(payout_item__isnull=False).count()
    print(f"DRILL payout-run-killed: ambassadors={AMBASSADORS} runs_after_kill={runs} items_after_kill={items} "
          f"claimed_after_kill={claimed}")
    assert (runs, items, claimed, statuses) == (0, 0, 0, {EntryStatus.APPROVED})

    run = payouts.create_run(org.pk, member(org, Role.ADMIN))
    with scopes_disabled():
        totals = PayoutItem.objects.filter(run=run).aggregate(n=Count("pk"), total=Sum("amount"))
        in_run = EarningEntry.objects.filter(payout_item__run=run, status=EntryStatus.IN_PAYOUT).count()
    assert (totals["n"], totals["total"], in_run) == (AMBASSADORS, Decimal("7.50") * AMBASSADORS, 2 * AMBASSADORS)
