"""Earnings exactly once, with real parts (issue 14's acceptance):

(a) 50 concurrent API posts of one sale (threads, the Django test client per thread; 10 on
    SQLite, which runs one writer at a time), then attribution and earnings, the earnings run by
    several threads at once → one Sale, one entry per ambassador, 10 % split to the cent;
(b) a real Celery worker (subprocess, `--pool solo`, a Redis of the test's own) SIGKILLed in the
    middle of compute_earnings (small chunks: several committed, more to come); sales refunded
    meanwhile; a new worker runs it again → the ledger equals an independent recount
    (tests/support/rewards.py), nothing twice, no refunded sale with money on its way;
(c) a refund racing its sale's earnings (the _checkpoint pattern of tracking's race tests):
    earnings paused with the sale read as paid while the refund commits → the next run takes the
    entries back; and a payout run racing the run that refunds → it never claims a refunded entry.

Runs on PostgreSQL and SQLite. Figures are printed as `DRILL earnings[...]` lines (pytest -s).
"""

import json
import random
import signal
import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from campaigns.models import Campaign, CampaignStatus, TrackedLink
from rewards import tasks as reward_tasks
from rewards.models import EarningEntry, EntryStatus
from rewards.services import RewardError, earnings, ledger, payouts
from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key
from tests.factories import AmbassadorFactory
from tests.support.drills import CATCH_UP_TIMEOUT
from tests.support.rewards import (
    flat_rule,
    interleave,
    ledger_differences,
    positive_unpaid_on_refunded_sales,
    recount,
    refunded_sales_with_money,
    reward_rule,
)
from tests.support.workers import stop_process_group
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import Click, Customer, Sale, SaleStatus
from tracking.services.attribution import attribute_pending
from tracking.services.conversions import record_lead, record_sale

pytestmark = [pytest.mark.django_db(transaction=True)]

SALE_URL = "/api/v1/track/sale"
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def links(org):
    """6 ambassadors, a link each in two campaigns."""
    people = [AmbassadorFactory(organization=org, email=f"amb{n}@acme.test") for n in range(6)]
    with tenant_scope(org):
        campaigns = [Campaign.objects.create(organization=org, name=f"Launch {n}", slug=f"launch-{n}",
                                             status=CampaignStatus.ACTIVE, destination_url="https://shop.example.com/")
                     for n in range(2)]
        return [TrackedLink.objects.create(organization=org, campaign=campaigns[n // 6], ambassador=people[n % 6],
                                           code=f"Ern{n:02d}x000") for n in range(12)]


def clicked(org, visitor, link, at):
    with tenant_scope(org):
        Click.objects.create(organization=org, click_id=new_click_id(at.timestamp()), link_id=link.pk,
                             campaign_id=link.campaign_id, ambassador_id=link.ambassador_id, clicked_at=at,
                             day=at.date(), visitor_id=visitor, ip_hash="0" * 32, channel="direct", is_unique=True)


def attribute_everything(org):
    with tenant_scope(org):
        for _ in range(200):
            run = attribute_pending(org.pk)
            if not run.more and not Customer.objects.filter(attributed_at__isnull=True).exists() and not (
                    Sale.objects.filter(attributed_at__isnull=True, customer__isnull=False).exists()):
                return
    raise AssertionError("attribution did not settle")


def entries(org):
    with tenant_scope(org):
        return list(EarningEntry.objects.order_by("ambassador_id", "pk").values_list(
            "ambassador_id", "cause", "amount", "status"))


# --- (a) 50 concurrent posts of one sale -----------------------------------------------------------------


def together(threads: int, target) -> list:
    """Run `target()` in `threads` threads released together by a barrier; their results."""
    barrier = threading.Barrier(threads)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=30)
            results.append(target())
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(error))
        finally:
            connections.close_all()

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert errors == []
    return results


def test_fifty_concurrent_posts_of_one_sale_earn_once_per_ambassador(org, links):
    threads = 50 if connection.vendor == "postgresql" else 10
    _, key = create_api_key(organization=org, name="CRM")
    visitor = new_visitor_id()
    for hours, link in ((3, links[0]), (2, links[1]), (1, links[2])):
        clicked(org, visitor, link, NOW - timedelta(hours=hours))
    with tenant_scope(org):
        record_lead(org, visitor_id=visitor, customer_external_id="cus_race", occurred_at=NOW - timedelta(minutes=30))
    reward_rule(org, name="10 %")
    body = json.dumps({"customer_external_id": "cus_race", "amount": "1000.00", "currency": "EUR",
                       "invoice_id": "inv_race"})

    def post():
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}").post(SALE_URL, body, content_type="application/json"
                                                               ).status_code

    statuses = together(threads, post)
    assert sorted(statuses) == [200] * (threads - 1) + [201]
    attribute_everything(org)
    runs = together(5 if connection.vendor == "postgresql" else 3,
                    lambda: earnings.compute_earnings(org.pk, now=NOW).created)
    with tenant_scope(org):
        sale = Sale.objects.get(invoice_id="inv_race")
    written = entries(org)
    print(f"DRILL earnings[posts,{connection.vendor}]: posts={threads} statuses={dict(Counter(statuses))} "
          f"runs_created={runs} entries={len(written)}")
    assert sum(runs) == 3
    assert [(cause, amount) for _, cause, amount, _ in written] == [
        (f"sale:{sale.pk}", Decimal("33.34")), (f"sale:{sale.pk}", Decimal("33.33")),
        (f"sale:{sale.pk}", Decimal("33.33"))]
    assert [ambassador for ambassador, *_ in written] == sorted(link.ambassador_id for link in links[:3])
    assert ledger_differences(org) == {}


# --- (b) a worker killed mid-run -----------------------------------------------------------------------

LEADS = {"postgresql": 2400, "sqlite": 900}
CHUNK = {"postgresql": 100, "sqlite": 50}
KILL_TIMEOUT = 120
KILL_POLL = 0.005


def attributed_programme(org, links, leads: int) -> dict:
    """`leads` customers with one to three clicks on random links in the 30 days before their lead
    (split credits), a paid sale (odd cents) for two in three, 5 % of those refunded; attributed."""
    rng = random.Random(14)
    clicks, customers = [], []
    for n in range(leads):
        visitor = new_visitor_id()
        lead_at = NOW - timedelta(days=rng.uniform(1, 60))
        for _ in range(rng.randint(1, 3)):
            link = rng.choice(links)
            at = lead_at - timedelta(days=rng.uniform(0, 29))
            clicks.append(Click(organization=org, click_id=new_click_id(at.timestamp()), link_id=link.pk,
                                campaign_id=link.campaign_id, ambassador_id=link.ambassador_id, clicked_at=at,
                                day=at.date(), visitor_id=visitor, ip_hash="0" * 32, channel="direct",
                                is_unique=rng.random() < 0.8))
        customers.append(Customer(organization=org, external_id=f"cus_{n}", visitor_id=visitor,
                                  first_lead_at=lead_at, last_lead_at=lead_at))
    with tenant_scope(org):
        Click.objects.bulk_create(clicks, batch_size=2000)
        Customer.objects.bulk_create(customers, batch_size=2000)
        created = list(Customer.objects.order_by("pk"))
        Sale.objects.bulk_create([
            Sale(organization=org, invoice_id=f"inv_{n}", customer=customer, customer_external_id=customer.external_id,
                 amount=Decimal(rng.randint(1000, 99999)) / 100, currency="EUR",
                 occurred_at=customer.first_lead_at + timedelta(hours=rng.uniform(1, 20)), status=SaleStatus.PAID)
            for n, customer in enumerate(created) if n % 3], batch_size=2000)
    attribute_everything(org)
    refund_some(org, rng, 0.05)
    return {"leads": leads, "clicks": len(clicks)}


def refund_some(org, rng, share: float) -> list[int]:
    with tenant_scope(org):
        paid = list(Sale.objects.filter(status=SaleStatus.PAID).order_by("pk").values_list(
            "invoice_id", "customer_external_id", "amount", "pk"))
        chosen = rng.sample(paid, max(1, round(len(paid) * share)))
        for invoice_id, external_id, amount, _ in chosen:
            record_sale(org, customer_external_id=external_id, amount=amount, currency="EUR", invoice_id=invoice_id,
                        status=SaleStatus.REFUNDED)
    attribute_everything(org)
    return [pk for *_, pk in chosen]


def entry_count() -> int:
    with scopes_disabled():
        return EarningEntry.objects.count()


def test_worker_killed_mid_earnings_then_the_ledger_equals_a_recount(org, links, redis_server, start_worker):
    vendor = connection.vendor
    label = f"earnings[killed,{vendor}]"
    facts = attributed_programme(org, links, LEADS[vendor])
    reward_rule(org, name="10 % of sales")
    flat_rule(org, "lead", "2.00", name="Lead bonus")
    flat_rule(org, "click", "1", unit="points", name="Click points")
    expected = recount(org)
    total = len(expected)

    broker = redis_server.start()
    env = {"EARNINGS_CUSTOMER_CHUNK": str(CHUNK[vendor])}
    first = start_worker(broker.url, **env)
    first.send(reward_tasks.compute_earnings, org.pk)
    deadline = time.monotonic() + KILL_TIMEOUT
    while True:
        done = entry_count()
        if total // 2 <= done < total:
            stop_process_group(first.process, warm=False)  # SIGKILL: no goodbye
            break
        if done >= total:
            pytest.fail(f"{label}: the run finished before it could be killed; give it more work.\n{first.log()}",
                        pytrace=False)
        first._check_alive()
        assert time.monotonic() < deadline, f"no progress after {KILL_TIMEOUT} s\n{first.log()}"
        time.sleep(KILL_POLL)
    assert first.process.returncode == -signal.SIGKILL
    after_kill = entry_count()
    assert 0 < after_kill < total
    # Meanwhile more sales are refunded: some already have entries, some not yet.
    refunded_after = refund_some(org, random.Random(15), 0.05)

    second = start_worker(broker.url, **env)
    started = time.monotonic()
    second.wait_for_result(second.send(reward_tasks.compute_earnings, org.pk), timeout=CATCH_UP_TIMEOUT)
    took = time.monotonic() - started
    again = second.wait_for_result(second.send(reward_tasks.compute_earnings, org.pk))
    with tenant_scope(org):
        keys = Counter(EarningEntry.objects.values_list("rule_id", "cause", "ambassador_id"))
        refunded_status = EarningEntry.objects.filter(status=EntryStatus.REFUNDED).count()
    print(f"DRILL {label}: leads={facts['leads']} clicks={facts['clicks']} expected_keys={total} "
          f"entries_at_kill={after_kill} refunded_after_kill={len(refunded_after)} catch_up={took:.1f}s "
          f"entries={sum(keys.values())} refunded_entries={refunded_status} last_run_wrote={again}")
    assert max(keys.values()) == 1
    assert ledger_differences(org) == {}
    assert refunded_sales_with_money(org) == {}
    assert positive_unpaid_on_refunded_sales(org) == []
    assert again == "0"


# --- (c) refunds racing earnings and payouts -------------------------------------------------------------


@pytest.fixture
def sale_of_three(org, links):
    visitor = new_visitor_id()
    for hours, link in ((3, links[0]), (2, links[1]), (1, links[2])):
        clicked(org, visitor, link, NOW - timedelta(hours=hours))
    with tenant_scope(org):
        record_lead(org, visitor_id=visitor, customer_external_id="cus_1", occurred_at=NOW - timedelta(minutes=30))
        record_sale(org, customer_external_id="cus_1", amount=Decimal("1000.00"), currency="EUR", invoice_id="inv-1",
                    occurred_at=NOW - timedelta(minutes=20))
    attribute_everything(org)
    reward_rule(org)


def refund(org):
    with tenant_scope(org):
        record_sale(org, customer_external_id="cus_1", amount=Decimal("1000.00"), currency="EUR", invoice_id="inv-1",
                    status=SaleStatus.REFUNDED)
    attribute_everything(org)


def test_a_refund_while_its_sale_earns_leaves_no_money_on_it(org, sale_of_three, monkeypatch):
    waited, result, _ = interleave(monkeypatch, earnings, "chunk_read",
                                   lambda: earnings.compute_earnings(org.pk, now=NOW, parallel=1), lambda: refund(org))
    assert result.created == 3  # it had read the sale as paid
    assert positive_unpaid_on_refunded_sales(org) != []  # until the next run
    earnings.compute_earnings(org.pk, now=NOW)  # the beat's next run
    print(f"DRILL earnings[refund-race,{connection.vendor}]: refund_waited={waited} entries={entries(org)}")
    assert {status for *_, status in entries(org)} == {"refunded"}
    assert positive_unpaid_on_refunded_sales(org) == []
    assert ledger_differences(org) == {}


def test_a_payout_run_racing_the_refund_never_pays_a_refunded_entry(org, owner, sale_of_three, monkeypatch):
    earnings.compute_earnings(org.pk, now=NOW)
    ledger.approve_due(org.pk, NOW + timedelta(days=30))
    refund(org)

    def payout():
        try:
            return payouts.create_run(org.pk, owner, now=NOW + timedelta(days=31))
        except RewardError as error:
            return error

    later = NOW + timedelta(days=31)
    waited, result, run = interleave(monkeypatch, earnings, "chunk_read",
                                     lambda: earnings.compute_earnings(org.pk, now=later, parallel=1), payout)
    print(f"DRILL earnings[payout-race,{connection.vendor}]: payout_waited={waited} run={run!r} "
          f"entries={entries(org)}")
    assert result.refunded == 3
    with tenant_scope(org):
        assert not EarningEntry.objects.filter(status__in=[EntryStatus.IN_PAYOUT, EntryStatus.PAID]).exists()
    assert {status for *_, status in entries(org)} == {"refunded"}
    assert ledger_differences(org) == {}
    if connection.vendor == "postgresql":
        assert waited  # the run's claim waited for the refund's row locks
