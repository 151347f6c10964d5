"""Worker killed mid-batch drill (issue 7): work is idempotent, so a worker that dies never loses
a click and never counts one twice; nor a conversion.

A real Celery worker (subprocess, `--pool solo`, its own process group; broker and cache a Redis
of the test's own) is sent SIGKILL — no warm shutdown, no rollback by the worker, its message left
unacknowledged — while it is in the middle of:

(a) processing a large backlog of raw clicks (tracking.services.click_processing, several batches
    of CLICK_PROCESSING_BATCH_SIZE committed, others in flight): it is killed once the Click count
    shows some batches committed and raw clicks still waiting;
(b) attributing a large backlog of leads and sales (tracking.services.attribution, batches of 500
    customers): it is killed once some customers are attributed and others still wait.

A new worker is started and the beat's dispatchers (dispatch_click_processing,
dispatch_attribution), sent as the beat sends them, catch up. Then:

* clicks: Click count == raw clicks inserted, click ids unique and exactly those inserted, no raw
  click left; rollups (DailyClickRollup, DailyAmbassadorClicks) == a recount from the Click rows;
* attribution: every lead and sale attributed; Credit rows unique per (conversion, version,
  model, ambassador, link); per model the lead credits add up to exactly the number of leads (each
  lead's to 1.0000), the customer credits to the number of paying customers, the sale credits of
  each sale to its amount; the credit rollups (DailyCreditRollup, DailyAmbassadorCredits) equal
  a recount from the Credit rows.

While the killed worker's transactions are being rolled back, `raw + clicks == inserted` holds at
every instant (a batch moves its rows in one transaction); that is checked right after the kill.

Runs on PostgreSQL and on SQLite (the file database the worker shares, subprocess_database_url).
Figures are printed as `DRILL worker-killed[...]: ...` lines (pytest -s).
"""

import random
import signal
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from campaigns.models import Campaign, CampaignStatus, TrackedLink
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory
from tests.support.drills import (
    CATCH_UP_TIMEOUT,
    assert_rollups_equal_a_recount,
    click_count,
    click_ids,
    raw_count,
    wait_for,
)
from tests.support.workers import stop_process_group
from tracking import tasks
from tracking.capture import insert_rows
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import (
    Click,
    Credit,
    CreditKind,
    Customer,
    DailyAmbassadorCredits,
    DailyCreditRollup,
    Sale,
    SaleStatus,
)
from tracking.services.attribution import BATCH as ATTRIBUTION_BATCH

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

KILL_POLL = 0.005  # seconds between progress checks while waiting for the moment to kill
KILL_TIMEOUT = 120  # seconds for the first batch to be committed

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/124.0.0.0 Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.4 Mobile/15E148 Safari/604.1")
BOT = "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"


@pytest.fixture
def links(org):
    """12 links: 6 ambassadors, each with a link in each of two campaigns."""
    ambassadors = [AmbassadorFactory(organization=org) for _ in range(6)]
    with tenant_scope(org):
        campaigns = [Campaign.objects.create(organization=org, name=f"Launch {n}", slug=f"launch-{n}",
                                             status=CampaignStatus.ACTIVE, destination_url="https://shop.example.com/")
                     for n in range(2)]
        return [TrackedLink.objects.create(organization=org, campaign=campaigns[n // 6], ambassador=ambassadors[n % 6],
                                           code=f"Wk{n:02d}x0000") for n in range(12)]


def kill_when(worker, progress, total: int, what: str) -> int:
    """SIGKILL the worker's process group as soon as `progress()` reaches a quarter of `total`
    (several batches committed, more to come, likely one in flight); the progress seen just
    before the kill."""
    deadline = time.monotonic() + KILL_TIMEOUT
    while True:
        done = progress()
        if total // 4 <= done < total:
            stop_process_group(worker.process, warm=False)  # SIGKILL: no goodbye
            return done
        if done >= total:
            pytest.fail(f"The worker finished {what} ({done}/{total}) before it could be killed mid-way; "
                        f"give it more work.\n--- worker log ---\n{worker.log()}", pytrace=False)
        worker._check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"No progress in {what} after {KILL_TIMEOUT} s.\n--- worker log ---\n{worker.log()}",
                        pytrace=False)
        time.sleep(KILL_POLL)


def died_by_sigkill(worker) -> bool:
    return worker.process.returncode == -signal.SIGKILL


# --- (a) clicks -------------------------------------------------------------------------------------


# Enough raw clicks that, in batches of CLICK_BATCH, processing lasts long enough to be caught
# mid-way (PostgreSQL processes tens of thousands a second; SQLite a few thousand).
RAW_CLICKS = {"postgresql": 60_000, "sqlite": 12_000}
CLICK_BATCH = {"postgresql": 1000, "sqlite": 500}


def raw_rows(org, links, count: int) -> list[tuple]:
    """Raw clicks as the redirect writes them (tracking_rawclick's columns), spread over a week:
    returning visitors (uniqueness), bots and HEAD probes, several channels."""
    rng = random.Random(7)
    now = time.time()
    visitors = [new_visitor_id() for _ in range(max(1, count // 4))]
    rows = []
    for n in range(count):
        link = links[n % len(links)]
        at = now - rng.uniform(0, 7 * 86400)
        user_agent = BOT if n % 17 == 0 else (IPHONE if n % 2 else CHROME)
        rows.append((new_click_id(at), org.pk, link.pk, datetime.fromtimestamp(at, UTC),
                     rng.choice(visitors), f"{n % 97:032x}", user_agent,
                     "www.linkedin.com" if n % 5 == 0 else "", "x" if n % 7 == 0 else "", n % 23 == 0))
    return rows


def insert_raw(rows: list[tuple]) -> None:
    for start in range(0, len(rows), 5000):
        with transaction.atomic():
            insert_rows(rows[start:start + 5000])


def test_worker_killed_while_processing_clicks_loses_none_and_counts_none_twice(org, links, redis_server,
                                                                              start_worker):
    vendor = connection.vendor
    label = f"worker-killed[clicks,{vendor}]"
    total = RAW_CLICKS[vendor]
    rows = raw_rows(org, links, total)
    inserted = sorted(row[0] for row in rows)
    started = time.monotonic()
    insert_raw(rows)
    insert_seconds = time.monotonic() - started
    assert raw_count() == total

    broker = redis_server.start()
    worker_env = {"CLICK_PROCESSING_BATCH_SIZE": str(CLICK_BATCH[vendor])}
    first = start_worker(broker.url, **worker_env)
    first.send(tasks.dispatch_click_processing)
    at_kill = kill_when(first, click_count, total, "processing the clicks")
    clicks_after_kill, raw_after_kill = click_count(), raw_count()
    print(f"DRILL {label} kill: inserted={total} in {insert_seconds:.1f}s batch={CLICK_BATCH[vendor]} "
          f"clicks_seen_before_kill={at_kill} clicks_after_kill={clicks_after_kill} raw_after_kill={raw_after_kill} "
          f"sigkill={died_by_sigkill(first)}")
    assert died_by_sigkill(first), f"the worker exited with {first.process.returncode}"
    assert 0 < clicks_after_kill < total
    assert clicks_after_kill + raw_after_kill == total, "a batch was half committed, or lost"
    assert assert_rollups_equal_a_recount(org, f"{label} at the kill") == clicks_after_kill

    second = start_worker(broker.url, **worker_env)
    took = wait_for(lambda: raw_count() == 0, "the new worker to process the rest of the raw clicks",
                    CATCH_UP_TIMEOUT, second, every=lambda: second.send(tasks.dispatch_click_processing))
    stored = click_ids()
    duplicates = len(stored) - len(set(stored))
    rollup_total = assert_rollups_equal_a_recount(org, label)
    print(f"DRILL {label} after restart: seconds={took:.1f} clicks={len(stored)} inserted={total} "
          f"duplicates={duplicates} lost={len(set(inserted) - set(stored))} rollup_total={rollup_total} "
          f"raw_left={raw_count()}")
    assert duplicates == 0, f"{label}: {duplicates} click ids stored twice"
    assert sorted(stored) == inserted, f"{label}: {len(stored)} Click rows for {total} raw clicks inserted"
    assert rollup_total == total


# --- (b) attribution ----------------------------------------------------------------------------------

LEADS = {"postgresql": 4000, "sqlite": 2000}  # batches of ATTRIBUTION_BATCH (500) customers


def pending_conversions(org, links, leads: int) -> tuple[int, int, Decimal]:
    """`leads` unattributed customers (leads), each with one to four clicks of its visitor on
    random links in the 30 days before its lead (several ambassadors: split credits), and a paid
    sale for two in three of them (odd cents: splits to the cent). Returns (leads, sales, revenue)."""
    rng = random.Random(11)
    now = timezone.now()
    clicks, customers = [], []
    for n in range(leads):
        visitor = new_visitor_id()
        lead_at = now - timedelta(days=rng.uniform(1, 60))
        for _ in range(rng.randint(1, 4)):
            link = rng.choice(links)
            at = lead_at - timedelta(days=rng.uniform(0, 29))
            clicks.append(Click(organization=org, click_id=new_click_id(at.timestamp()), link_id=link.pk,
                                campaign_id=link.campaign_id, ambassador_id=link.ambassador_id, clicked_at=at,
                                day=at.date(), visitor_id=visitor, ip_hash="0" * 32, channel="direct",
                                is_unique=True))
        customers.append(Customer(organization=org, external_id=f"cus_{n}", visitor_id=visitor,
                                  first_lead_at=lead_at, last_lead_at=lead_at))
    with tenant_scope(org):
        Click.objects.bulk_create(clicks, batch_size=2000)
        created = Customer.objects.bulk_create(customers, batch_size=2000)
        if not all(customer.pk for customer in created):  # databases that don't return ids
            created = list(Customer.objects.order_by("pk"))
        sales = [Sale(organization=org, invoice_id=f"inv_{n}", customer=customer,
                      customer_external_id=customer.external_id, amount=Decimal(rng.randint(1000, 99999)) / 100,
                      currency="EUR", occurred_at=customer.first_lead_at + timedelta(days=rng.uniform(0, 90)),
                      status=SaleStatus.PAID)
                 for n, customer in enumerate(created) if n % 3]
        Sale.objects.bulk_create(sales, batch_size=2000)
    return len(created), len(sales), sum((sale.amount for sale in sales), Decimal(0))


def attributed_count() -> int:
    with scopes_disabled():
        return Customer.objects.filter(attributed_at__isnull=False).count()


def all_attributed() -> bool:
    with scopes_disabled():
        return not (Customer.objects.filter(attributed_at__isnull=True).exists()
                    or Sale.objects.filter(attributed_at__isnull=True).exists())


def check_credits(org, leads: int, sales: int, revenue: Decimal, label: str) -> dict:
    """Every invariant of the stored credits; the figures."""
    with tenant_scope(org):
        rows = list(Credit.objects.values_list("kind", "customer_id", "sale_id", "version", "model", "ambassador_id",
                                               "link_id", "amount", "lead_share", "campaign_id", "converted_at"))
        sale_amounts = dict(Sale.objects.values_list("pk", "amount"))
        paying = Sale.objects.filter(status=SaleStatus.PAID).values("customer_id").distinct().count()
        stored_rollup = Counter()
        for version, model, campaign_id, ambassador_id, day, lead_units, customer_units, cents in (
                DailyCreditRollup.objects.values_list("version", "model", "campaign_id", "ambassador_id", "day",
                                                      "leads", "customers", "revenue_cents")):
            for name, value in (("leads", lead_units), ("customers", customer_units), ("cents", cents)):
                stored_rollup[(version, model, campaign_id, ambassador_id, day, name)] += value
        stored_per_ambassador = Counter()
        for version, model, ambassador_id, day, lead_units, customer_units, cents in (
                DailyAmbassadorCredits.objects.values_list("version", "model", "ambassador_id", "day", "leads",
                                                           "customers", "revenue_cents")):
            for name, value in (("leads", lead_units), ("customers", customer_units), ("cents", cents)):
                stored_per_ambassador[(version, model, ambassador_id, day, name)] += value
        tz = org.tzinfo

    keys = Counter((kind, sale_id if kind == CreditKind.SALE else customer_id, version, model, ambassador_id, link_id)
                   for kind, customer_id, sale_id, version, model, ambassador_id, link_id, *_ in rows)
    duplicates = sum(count - 1 for count in keys.values() if count > 1)
    models = sorted({row[4] for row in rows})
    lead_share = defaultdict(Decimal)  # (model, customer) → sum
    customer_share = defaultdict(Decimal)
    sale_sum = defaultdict(Decimal)  # (model, sale) → sum
    recount_rollup = Counter()
    recount_per_ambassador = Counter()
    for kind, customer_id, sale_id, version, model, ambassador_id, _link, amount, share, campaign_id, at in rows:
        day = at.astimezone(tz).date()
        if kind == CreditKind.LEAD:
            lead_share[(model, customer_id)] += share
            name, value = "leads", int(share * 10_000)
        elif kind == CreditKind.CUSTOMER:
            customer_share[(model, customer_id)] += share
            name, value = "customers", int(share * 10_000)
        else:
            sale_sum[(model, sale_id)] += amount
            name, value = "cents", int(amount * 100)
        recount_rollup[(version, model, campaign_id, ambassador_id, day, name)] += value
        recount_per_ambassador[(version, model, ambassador_id, day, name)] += value

    figures = {"credits": len(rows), "duplicates": duplicates, "models": len(models)}
    assert duplicates == 0, f"{label}: {duplicates} credit rows repeat a (conversion, version, model, ambassador, link)"
    assert len(models) == 5, f"{label}: models {models}"
    for model in models:
        leads_credited = sum(value for (m, _), value in lead_share.items() if m == model)
        customers_credited = sum(value for (m, _), value in customer_share.items() if m == model)
        revenue_credited = sum(value for (m, _), value in sale_sum.items() if m == model)
        figures[model] = f"{leads_credited}/{customers_credited}/{revenue_credited}"
        assert leads_credited == leads, f"{label}: {model} lead credits add up to {leads_credited}, not {leads}"
        assert all(value == 1 for (m, _), value in lead_share.items() if m == model)
        assert customers_credited == paying, f"{label}: {model} customer credits {customers_credited} != {paying}"
        assert revenue_credited == revenue, f"{label}: {model} sale credits {revenue_credited} != {revenue}"
        wrong = {sale: value for (m, sale), value in sale_sum.items() if m == model and value != sale_amounts[sale]}
        assert not wrong, f"{label}: {model}: sales whose credits don't add up to their amount: {list(wrong)[:5]}"
        assert len([1 for (m, _) in sale_sum if m == model]) == sales
    assert +stored_rollup == +recount_rollup, f"{label}: DailyCreditRollup differs from a recount of the credits"
    assert +stored_per_ambassador == +recount_per_ambassador, (
        f"{label}: DailyAmbassadorCredits differs from a recount of the credits")
    return figures


def test_worker_killed_while_attributing_loses_no_conversion_and_credits_none_twice(org, links, redis_server,
                                                                                  start_worker):
    vendor = connection.vendor
    label = f"worker-killed[attribution,{vendor}]"
    started = time.monotonic()
    leads, sales, revenue = pending_conversions(org, links, LEADS[vendor])
    setup_seconds = time.monotonic() - started
    assert leads > 2 * ATTRIBUTION_BATCH

    broker = redis_server.start()
    first = start_worker(broker.url)
    first.send(tasks.dispatch_attribution)
    at_kill = kill_when(first, attributed_count, leads, "attributing")
    after_kill = attributed_count()
    with scopes_disabled():
        half_written = (Customer.objects.filter(attributed_at__isnull=True, credits__isnull=False).distinct().count())
    print(f"DRILL {label} kill: leads={leads} sales={sales} revenue={revenue} setup={setup_seconds:.1f}s "
          f"attributed_seen_before_kill={at_kill} attributed_after_kill={after_kill} "
          f"unattributed_with_credits={half_written} sigkill={died_by_sigkill(first)}")
    assert died_by_sigkill(first), f"the worker exited with {first.process.returncode}"
    assert 0 < after_kill < leads
    assert half_written == 0, "credits of a batch that was not committed"

    second = start_worker(broker.url)
    took = wait_for(all_attributed, "the new worker to attribute the rest of the leads and sales",
                    CATCH_UP_TIMEOUT, second, every=lambda: second.send(tasks.dispatch_attribution))
    figures = check_credits(org, leads, sales, revenue, label)
    print(f"DRILL {label} after restart: seconds={took:.1f} attributed={attributed_count()}/{leads} "
          + " ".join(f"{key}={value}" for key, value in figures.items()))
