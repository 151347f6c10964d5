"""Attribution under a storm of conversions (issue 11): verify_credits finds nothing, run after run.

Acceptance line: "200 conversions with refunds and re-posts fired concurrently from threads while
attribution and click processing run in a real Celery worker, leads posted while their clicks are
still in the spool; `verify_credits` finds nothing (including "a credited lead without credits"),
in every one of 5 runs."

Two real Celery workers (subprocesses, `--pool solo`, on REDIS_URL's Redis and the test database:
tests.support.workers' start_worker fixture), started once for the five runs: one
processes clicks, the other attributes, so the two overlap in time as they do with several
production workers (a single solo worker would run them one after the other, and a click could
never be committed in the middle of an attribution run). Each run has an organisation of its own
(six ambassadors, a link each in two campaigns, an API key) and a plan drawn from a seeded random
generator (the seed is printed; STRESS_SEED=<seed> replays the plans, not the threads' timing):

* visitors (one Django test `Client` each, so one `amb_vid` cookie) click one to three
  ambassadors' links through the tracked redirect `GET /l/<code>` (some first send a HEAD, as a
  link preview does; some click the same link again), captured with CLICK_CAPTURE=spool into this
  process's spool, whose drain thread is off;
* right after their clicks, each posts its lead to POST /api/v1/track/lead with the `amb_cid` of
  its last 302 — usually while that click is still in the spool (the lead's answer then has no
  visitor yet: counted as `in_spool`); a sale or two (POST /api/v1/track/sale), some BEFORE the
  lead; refunds (`"status": "refunded"`, same invoice) right after their sale; re-posts of the
  same invoice (paid again, refunded again), some fired as separate jobs that race the rest of
  the customer's posts; a second lead for some customers with an EARLIER occurred_at than their
  first (between their first and second click; with the first click's id, or with only the
  e-mail); and one self-referral (the lead's e-mail is the e-mail of an ambassador whose link the
  visitor clicked);
* all of it from a pool of THREADS threads, one job per customer (plus the detached re-posts),
  while a thread drains the spool in batches (spool().flush_now(), every 0.1–0.4 s) and another
  plays the beat: it sends `process_clicks` for the organisation to the clicks worker, and
  `attribute_pending` to the attribution worker, each again as soon as its previous one is done,
  plus one more `attribute_pending` when the API posts queued some since (the suite's
  `queued_attributions` stub catches what they queue; coalesced, as the beat's sweep would);
* then the spool is drained and both tasks are sent until nothing is pending (no spool line, no
  raw click, no customer and no sale of a known customer left unattributed), and:
  `verify_organization` reports no violation, `manage.py verify_credits --org <slug>` exits
  without an error, every answered click is one Click row, every refunded sale has no credit,
  every paid sale of a credited customer has credits adding up to its amount under each of the
  five models, every customer but the self-referral is credited (the self-referral has no credit
  at all), the credit rollups equal a recount of the credits, and the workers logged no error.

Sensitivity: with tracking/services/attribution.py and conversions.py as they were before issue
11's lock order (commit 1e33406), this test failed in each of three tries on PostgreSQL, in its
first or second run (refunded sales keep their sale and customer credits: a refund committed while attribution was
between its read of the sales and its commit). On SQLite that race can't happen (a write
transaction holds the database), so there the test guards the rest.

Each run prints a `STRESS run N: ...` line (pytest -s). Runs on PostgreSQL and on SQLite (the
file database the worker shares, tests/subprocesses.py).
"""

import io
import os
import random
import re
import threading
import time
import traceback
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from rest_framework.test import APIClient

from campaigns.linkcache import link_cache
from campaigns.models import Campaign, CampaignStatus, TrackedLink
from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key
from tests.factories import AmbassadorFactory, OrganizationFactory
from tests.support.workers import Worker
from tracking import capture, tasks
from tracking.models import (
    Click,
    Credit,
    CreditKind,
    Customer,
    DailyAmbassadorCredits,
    DailyCreditRollup,
    RawClick,
    Sale,
    SaleStatus,
)
from tracking.salts import forget_cached_salt, hash_ip
from tracking.verification import MODELS, verify_organization

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# Real workers in process groups of their own (test_worker_killed.py reuses it the same way).

RUNS = 5
CONVERSIONS = 200  # API posts per run: leads, sales, refunds and re-posts
THREADS = 8
AMBASSADORS = 6
CAMPAIGNS = 2
BEAT_TICK = 0.05  # seconds between the beat thread's looks at the workers' logs
SETTLE_TIMEOUT = 90  # seconds for everything pending to be done after the storm
CLICK_GAP = 0.003  # seconds between a visitor's clicks (an earlier lead fits between two)

LEAD = "/api/v1/track/lead"
SALE = "/api/v1/track/sale"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/124.0.0.0 Safari/537.36")


@pytest.fixture
def spool_capture(settings, tmp_path):
    """Clicks go to this process's spool, drained only by hand (the drain thread is off)."""
    settings.CLICK_CAPTURE = "spool"
    settings.CLICK_SPOOL_DIR = tmp_path / "spool"
    settings.CLICK_SPOOL_DRAIN_THREAD = False
    capture.reset_spool()
    capture.spool()  # made here, once: spool() is a lazy singleton the posting threads would race to make
    link_cache.clear()
    forget_cached_salt()  # the salt of another test's (flushed) database
    yield settings.CLICK_SPOOL_DIR
    capture.reset_spool()
    link_cache.clear()
    forget_cached_salt()


# --- The plan of a run ----------------------------------------------------------------------------


@dataclass
class SalePlan:
    invoice: str
    amount: str
    before_lead: bool
    refund: bool  # posted right after the sale
    repost_paid: bool  # the same invoice, paid, again
    repost_refund: bool  # the refund again
    detached: bool  # the re-posts are separate jobs, racing the customer's next posts

    @property
    def posts(self) -> int:
        return 1 + self.refund + self.repost_paid + self.repost_refund


@dataclass
class CustomerPlan:
    number: int
    external_id: str
    email: str
    links: list[TrackedLink]  # clicked in this order; the lead comes with the last one's click id
    head_first: bool  # a HEAD (link preview) of the first link before the clicks
    sales: list[SalePlan]
    earlier_lead: str | None  # None, "click" (with the first click's id) or "email" (e-mail only)
    earlier_after: int  # how many of the after-lead sales are posted before the earlier lead
    self_referral: bool

    @property
    def posts(self) -> int:
        return 1 + bool(self.earlier_lead) + sum(sale.posts for sale in self.sales)


def make_plans(rng: random.Random, run: int, links_of: dict[int, list[TrackedLink]],
               emails: dict[int, str]) -> list[CustomerPlan]:
    """Customers until CONVERSIONS posts are planned; one of the first ten is a self-referral."""
    plans: list[CustomerPlan] = []
    self_referral_at = rng.randrange(10)
    while sum(plan.posts for plan in plans) < CONVERSIONS:
        number = len(plans)
        chosen = rng.sample(sorted(links_of), rng.choices([1, 2, 3], weights=[5, 3, 2])[0])
        links = [rng.choice(links_of[ambassador_id]) for ambassador_id in chosen]
        if rng.random() < 0.1:
            links.append(links[-1])  # came back through the same link
        sales = []
        for n in range(rng.choices([0, 1, 2], weights=[25, 55, 20])[0]):
            refund = rng.random() < 0.3
            sales.append(SalePlan(invoice=f"inv-r{run}-{number}-{n}",
                                  amount=str(Decimal(rng.randint(101, 99_999)).scaleb(-2)),
                                  before_lead=rng.random() < 0.25, refund=refund,
                                  repost_paid=rng.random() < 0.3, repost_refund=refund and rng.random() < 0.6,
                                  detached=rng.random() < 0.5))
        self_referral = number == self_referral_at
        after = [sale for sale in sales if not sale.before_lead]
        plans.append(CustomerPlan(
            number=number, external_id=f"cus-r{run}-{number}",
            email=emails[chosen[0]] if self_referral else f"buyer{number}.r{run}@example.net",
            links=links, head_first=rng.random() < 0.1, sales=sales,
            earlier_lead=rng.choice(["click", "email"]) if rng.random() < 0.15 else None,
            earlier_after=rng.randint(0, len(after)), self_referral=self_referral))
    return plans


# --- One run ------------------------------------------------------------------------------------------


def _finished(log: str, task_id: str) -> bool:
    if re.search(rf"\[{re.escape(task_id)}\] succeeded in ", log):
        return True
    if re.search(rf"\[{re.escape(task_id)}\] (raised|failed)", log, re.IGNORECASE):
        raise AssertionError(f"task {task_id} failed in the worker")
    return False


@dataclass(frozen=True)
class Workers:
    clicks: Worker  # runs process_clicks
    attribution: Worker  # runs attribute_pending


@dataclass
class Counts:
    clicks: int = 0
    heads: int = 0
    leads: int = 0
    leads_in_spool: int = 0  # first leads whose click was in no table when the lead was stored
    earlier_leads: int = 0
    sales: int = 0
    sales_before_lead: int = 0
    refunds: int = 0
    reposts: int = 0
    drains: list[int] = field(default_factory=list)  # clicks moved per spool drain
    tasks_sent: int = 0


class StressRun:
    def __init__(self, number: int, seed: int, workers: Workers, queued: list, spool_dir: Path):
        self.number = number
        self.seed = seed
        self.rng = random.Random(seed)
        self.workers = workers
        self.queued = queued  # organisation ids the API posts queued attribution for (the suite's stub)
        self.spool_dir = spool_dir
        self.counts = Counts()
        self.answered: list[str] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.futures = []
        self.executor: ThreadPoolExecutor | None = None
        self.drain_every = self.rng.uniform(0.1, 0.4)

        self.org = OrganizationFactory(name=f"Stress {number}", slug=f"stress-{number}-{seed}")
        ambassadors = [AmbassadorFactory(organization=self.org) for _ in range(AMBASSADORS)]
        self.emails = {ambassador.pk: ambassador.email for ambassador in ambassadors}
        self.links_of: dict[int, list[TrackedLink]] = defaultdict(list)
        with tenant_scope(self.org):
            for c in range(CAMPAIGNS):
                campaign = Campaign.objects.create(organization=self.org, name=f"Launch {c}", slug=f"launch-{c}",
                                                   status=CampaignStatus.ACTIVE,
                                                   destination_url="https://shop.example.com/landing")
                for a, ambassador in enumerate(ambassadors):
                    self.links_of[ambassador.pk].append(TrackedLink.objects.create(
                        organization=self.org, campaign=campaign, ambassador=ambassador,
                        code=f"St{number}{seed % 1000:03d}{c}{a}"))
        _, self.key = create_api_key(organization=self.org, name="CRM")
        self.plans = make_plans(self.rng, number, self.links_of, self.emails)

    # -- jobs (pool threads) ---------------------------------------------------------------------
    def submit(self, fn, *args) -> None:
        future = self.executor.submit(self._job, fn, *args)
        with self.lock:
            self.futures.append(future)

    @staticmethod
    def _job(fn, *args) -> None:
        try:
            fn(*args)
        finally:
            connections.close_all()  # this thread's connections

    def api(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.key}")
        return client

    def post(self, api: APIClient, path: str, body: dict, expected: int) -> dict:
        response = api.post(path, body, format="json")
        if response.status_code != expected:
            raise AssertionError(f"POST {path} {body} answered {response.status_code}, not {expected}: "
                                 f"{response.content[:500]!r}")
        return response.json()

    def click(self, visitor: Client, link: TrackedLink, method: str = "get") -> str:
        response = getattr(visitor, method)(f"/l/{link.code}", HTTP_USER_AGENT=CHROME)
        assert response.status_code == 302, (link.code, response.status_code, response.content[:300])
        click_id = parse_qs(urlsplit(response["Location"]).query)["amb_cid"][0]
        with self.lock:
            self.answered.append(click_id)
            self.counts.clicks += 1
            self.counts.heads += method == "head"
        return click_id

    def customer(self, plan: CustomerPlan) -> None:
        """One customer's posts, in order: clicks, sales before the lead, the lead (its click most
        likely still in the spool), the sales after it with the earlier lead somewhere among them."""
        visitor = Client()
        if plan.head_first:
            self.click(visitor, plan.links[0], "head")
        click_ids, after_click = [], []
        for link in plan.links:
            click_ids.append(self.click(visitor, link))
            after_click.append(time.time())
            time.sleep(CLICK_GAP)
        api = self.api()
        for sale in plan.sales:
            if sale.before_lead:
                self.sale(api, plan, sale)
        lead = self.post(api, LEAD, {"click_id": click_ids[-1], "email": plan.email,
                                     "customer_external_id": plan.external_id, "name": f"Buyer {plan.number}"}, 201)
        with self.lock:
            self.counts.leads += 1
            self.counts.leads_in_spool += lead["visitor_id"] is None
        after = [sale for sale in plan.sales if not sale.before_lead]
        for index in range(len(after) + 1):
            if plan.earlier_lead and index == plan.earlier_after:
                self.earlier_lead(api, plan, click_ids[0], after_click[0])
            if index < len(after):
                self.sale(api, plan, after[index])

    def earlier_lead(self, api: APIClient, plan: CustomerPlan, first_click_id: str, after_first_click: float) -> None:
        """A lead dated between the visitor's first and second click: it becomes the first lead."""
        occurred_at = datetime.fromtimestamp(after_first_click + CLICK_GAP / 3, UTC).isoformat()
        body = {"customer_external_id": plan.external_id, "occurred_at": occurred_at}
        if plan.earlier_lead == "click":
            body["click_id"] = first_click_id
        else:
            body["email"] = plan.email
        self.post(api, LEAD, body, 200)
        with self.lock:
            self.counts.leads += 1
            self.counts.earlier_leads += 1

    def sale(self, api: APIClient, plan: CustomerPlan, sale: SalePlan) -> None:
        body = {"customer_external_id": plan.external_id, "amount": sale.amount, "currency": "EUR",
                "invoice_id": sale.invoice}
        self.post(api, SALE, body, 201)
        if sale.refund:
            self.post(api, SALE, {**body, "status": "refunded"}, 200)
        with self.lock:
            self.counts.sales += 1
            self.counts.sales_before_lead += sale.before_lead
            self.counts.refunds += sale.refund
        reposts = ([body] if sale.repost_paid else []) + ([{**body, "status": "refunded"}] if sale.repost_refund
                                                          else [])
        for repost in reposts:
            if sale.detached:
                self.submit(self.repost, repost)
            else:
                self.repost(repost, api)

    def repost(self, body: dict, api: APIClient | None = None) -> None:
        """The same invoice again: the stored sale comes back (200), a refunded one stays refunded."""
        self.post(api or self.api(), SALE, body, 200)
        with self.lock:
            self.counts.reposts += 1

    # -- background threads ----------------------------------------------------------------------
    def _background(self, loop) -> None:
        try:
            loop()
        except Exception:
            self.errors.append(traceback.format_exc())
        finally:
            connections.close_all()

    def drain_loop(self) -> None:
        """The web process's drain, in batches: whatever the spool holds every drain_every seconds."""
        while not self.stop.wait(self.drain_every):
            moved = capture.spool().flush_now()
            if moved:
                self.counts.drains.append(moved)

    def beat_loop(self) -> None:
        """process_clicks to the clicks worker and attribute_pending to the attribution worker,
        each again as soon as its worker is done with the last one (so neither stops, and neither
        falls behind); one more attribute_pending when the API posts queued some since (coalesced)."""
        clicks, attribution = self.workers.clicks, self.workers.attribution
        last_clicks = last_attribution = None
        seen = 0
        while not self.stop.wait(BEAT_TICK):
            if last_clicks is None or _finished(clicks.log(), last_clicks):
                last_clicks = clicks.send(tasks.process_clicks, self.org.pk)
                self.counts.tasks_sent += 1
            if last_attribution is None or _finished(attribution.log(), last_attribution):
                last_attribution = attribution.send(tasks.attribute_pending, self.org.pk)
                self.counts.tasks_sent += 1
                if len(self.queued) > seen:
                    seen = len(self.queued)
                    last_attribution = attribution.send(tasks.attribute_pending, self.org.pk)
                    self.counts.tasks_sent += 1

    # -- the run ---------------------------------------------------------------------------------------
    def storm(self) -> None:
        background = [threading.Thread(target=self._background, args=(loop,), name=f"stress-{loop.__name__}")
                      for loop in (self.drain_loop, self.beat_loop)]
        for thread in background:
            thread.start()
        try:
            with ThreadPoolExecutor(THREADS, thread_name_prefix="stress-post") as executor:
                self.executor = executor
                for plan in self.plans:
                    self.submit(self.customer, plan)
                while True:  # jobs submit jobs (the detached re-posts)
                    with self.lock:
                        pending = [future for future in self.futures if not future.done()]
                    if not pending:
                        break
                    wait(pending)
        finally:
            self.stop.set()
            for thread in background:
                thread.join(timeout=30)
        failed = [future.exception() for future in self.futures if future.exception() is not None]
        self.errors += ["".join(traceback.format_exception(error)) for error in failed]
        if self.errors:
            pytest.fail(f"STRESS run {self.number} (seed {self.seed}): {len(self.errors)} errors during the "
                        f"storm; the first ones:\n" + "\n".join(self.errors[:3]), pytrace=False)

    def spool_lines(self) -> int:
        return sum(len(capture.read_spool(path)) for path in Path(self.spool_dir).glob("clicks-*.spool"))

    def pending(self) -> dict[str, int]:
        with tenant_scope(self.org):
            return {
                "spool": self.spool_lines(),
                "raw": RawClick.objects.filter(organization=self.org).count(),
                "customers": Customer.objects.filter(organization=self.org, attributed_at__isnull=True).count(),
                "sales": Sale.objects.filter(organization=self.org, attributed_at__isnull=True,
                                             customer__isnull=False).count(),
            }

    def settle(self) -> None:
        """Drain, process, attribute, until nothing is pending (the beat's work after the storm).
        Each step waits for its task (a solo worker runs its queue in order, so what was sent
        before is done too)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            capture.spool().flush_now()
            for worker, task in ((self.workers.clicks, tasks.process_clicks),
                                 (self.workers.attribution, tasks.attribute_pending)):
                worker.wait_for_result(worker.send(task, self.org.pk),
                                       timeout=max(1.0, deadline - time.monotonic()))
            pending = self.pending()
            if not any(pending.values()):
                return
            if time.monotonic() > deadline:
                pytest.fail(f"STRESS run {self.number} (seed {self.seed}): still pending after {SETTLE_TIMEOUT} s: "
                            f"{pending}\n--- attribution worker log ---\n"
                            f"{self.workers.attribution.log()[-20_000:]}", pytrace=False)
            time.sleep(0.2)

    def attributed(self) -> int:
        with tenant_scope(self.org):
            return Customer.objects.filter(organization=self.org, attributed_at__isnull=False).count()


# --- The outcomes ------------------------------------------------------------------------------------


def outcome_problems(run: StressRun) -> tuple[list[str], dict]:
    """What must hold besides verify_credits' invariants; (problems, figures)."""
    org = run.org
    problems: list[str] = []
    with tenant_scope(org):
        clicks = list(Click.objects.filter(organization=org).values_list("click_id", flat=True))
        customers = dict(Customer.objects.filter(organization=org).values_list("external_id", "pk"))
        sales = {invoice: (pk, status, amount, customer_id) for invoice, pk, status, amount, customer_id in
                 Sale.objects.filter(organization=org).values_list("invoice_id", "pk", "status", "amount",
                                                                   "customer_id")}
        credits = list(Credit.objects.filter(organization=org).values_list(
            "kind", "customer_id", "sale_id", "model", "ambassador_id", "campaign_id", "amount", "lead_share",
            "converted_at", "version"))
        rollup = Counter()
        for version, model, day, campaign_id, ambassador_id, leads, paying, cents in (
                DailyCreditRollup.objects.filter(organization=org).values_list(
                    "version", "model", "day", "campaign_id", "ambassador_id", "leads", "customers", "revenue_cents")):
            rollup.update({(version, model, day, campaign_id, ambassador_id, "leads"): leads,
                           (version, model, day, campaign_id, ambassador_id, "customers"): paying,
                           (version, model, day, campaign_id, ambassador_id, "cents"): cents})
        per_ambassador = Counter()
        for version, model, day, ambassador_id, leads, paying, cents in (
                DailyAmbassadorCredits.objects.filter(organization=org).values_list(
                    "version", "model", "day", "ambassador_id", "leads", "customers", "revenue_cents")):
            per_ambassador.update({(version, model, day, ambassador_id, "leads"): leads,
                                   (version, model, day, ambassador_id, "customers"): paying,
                                   (version, model, day, ambassador_id, "cents"): cents})
    tz = org.tzinfo

    # Clicks: every 302 is one Click, none twice.
    if len(clicks) != len(set(clicks)):
        problems.append(f"{len(clicks) - len(set(clicks))} click ids stored twice")
    if sorted(clicks) != sorted(run.answered):
        problems.append(f"{len(clicks)} Click rows for {len(run.answered)} answered clicks "
                        f"({len(set(run.answered) - set(clicks))} missing)")

    # Conversions: as planned.
    planned_sales = {sale.invoice: sale for plan in run.plans for sale in plan.sales}
    if sorted(customers) != sorted(plan.external_id for plan in run.plans):
        problems.append(f"{len(customers)} customers for {len(run.plans)} planned")
    if sorted(sales) != sorted(planned_sales):
        problems.append(f"{len(sales)} sales for {len(planned_sales)} planned")
    for invoice, (_, status, _, customer_id) in sorted(sales.items()):
        plan = planned_sales.get(invoice)
        wanted = SaleStatus.REFUNDED if plan is not None and plan.refund else SaleStatus.PAID
        if status != wanted:
            problems.append(f"sale {invoice} is {status}, not {wanted}")
        if customer_id is None:
            problems.append(f"sale {invoice} was never linked to its customer")

    lead_share = defaultdict(Decimal)  # (customer, model)
    sale_sum = defaultdict(Decimal)  # (sale, model)
    credited_sales: set[int] = set()
    credited_customers: set[int] = set()
    recount, recount_per_ambassador = Counter(), Counter()
    for kind, customer_id, sale_id, model, ambassador_id, campaign_id, amount, share, at, version in credits:
        credited_customers.add(customer_id)
        if sale_id is not None:
            credited_sales.add(sale_id)
        if kind == CreditKind.LEAD:
            lead_share[(customer_id, model)] += share
            name, value = "leads", int(share.scaleb(4))
        elif kind == CreditKind.CUSTOMER:
            name, value = "customers", int(share.scaleb(4))
        else:
            sale_sum[(sale_id, model)] += amount
            name, value = "cents", int(amount.scaleb(2))
        day = at.astimezone(tz).date()
        recount[(version, model, day, campaign_id, ambassador_id, name)] += value
        recount_per_ambassador[(version, model, day, ambassador_id, name)] += value

    # Refunded sales carry no credit at all.
    refunded = [(invoice, pk) for invoice, (pk, status, _, _) in sales.items() if status == SaleStatus.REFUNDED]
    for invoice, pk in refunded:
        if pk in credited_sales:
            problems.append(f"refunded sale {invoice} has credits")

    # Every customer but the self-referral is credited (each has a creditable click before its
    # first lead): 1.0000 per model; the self-referral has no credit of any kind.
    self_referrals = [plan.external_id for plan in run.plans if plan.self_referral]
    for plan in run.plans:
        pk = customers.get(plan.external_id)
        if pk is None:
            continue
        if plan.self_referral:
            if pk in credited_customers:
                problems.append(f"self-referral {plan.external_id} (customer {pk}) has credits")
            continue
        shares = {model: lead_share.get((pk, model), Decimal(0)) for model in MODELS}
        if any(share != 1 for share in shares.values()):
            problems.append(f"customer {plan.external_id} ({pk}): lead credits {shares}, not 1.0000 per model")

    # Every paid sale of a credited customer: its amount to the cent under each model.
    for invoice, (pk, status, amount, customer_id) in sorted(sales.items()):
        if status != SaleStatus.PAID or customer_id not in credited_customers:
            continue
        sums = {model: sale_sum.get((pk, model), Decimal(0)) for model in MODELS}
        if any(value != amount for value in sums.values()):
            problems.append(f"paid sale {invoice} of {amount}: credits {sums}")

    # The rollups equal a recount of the credits.
    if +rollup != +recount:
        problems.append(f"DailyCreditRollup differs from a recount of the credits: "
                        f"{sorted((+rollup - +recount).items())[:5]} / {sorted((+recount - +rollup).items())[:5]}")
    if +per_ambassador != +recount_per_ambassador:
        problems.append("DailyAmbassadorCredits differs from a recount of the credits")

    figures = {"customers": len(customers), "credited": len(credited_customers),
               "self_referrals": len(self_referrals), "refunded_sales": len(refunded), "credits": len(credits)}
    return problems, figures


def verify_command(slug: str) -> tuple[bool, str]:
    """`manage.py verify_credits --org <slug>`: (exited cleanly, its output)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_credits", "--org", slug, stdout=out, stderr=err)
    except SystemExit as exit_:
        return False, f"exit {exit_.code}\n{out.getvalue()}{err.getvalue()}"
    return True, out.getvalue() + err.getvalue()


# --- The test ---------------------------------------------------------------------------------------------


def test_concurrent_conversions_refunds_and_reposts_leave_credits_verify_clean_in_five_runs(
        start_worker, spool_capture, queued_attributions):
    base_seed = int(os.environ.get("STRESS_SEED") or random.SystemRandom().randrange(1_000_000))
    print(f"\nSTRESS seed={base_seed} (run n uses seed {base_seed}+n; STRESS_SEED={base_seed} replays the plans) "
          f"database={connection.vendor} threads={THREADS}")
    hash_ip("127.0.0.1", time.time())  # today's salt, made once here rather than raced for by the threads
    # On REDIS_URL's Redis; the fixture stops both and drops their queues after the test.
    workers = Workers(clicks=start_worker("redis"), attribution=start_worker("redis"))
    for number in range(RUNS):
        run_once(number, base_seed + number, workers, queued_attributions, spool_capture)


def worker_trouble(workers: Workers, offsets: tuple[int, int]) -> tuple[int, list[str]]:
    """Since `offsets` (the logs' lengths at the run's start): task retries (a database error the
    task's autoretry absorbed), and ERROR lines."""
    retries, errors = 0, []
    for worker, offset in zip((workers.clicks, workers.attribution), offsets, strict=True):
        log = worker.log()[offset:]
        retries += len(re.findall(r"\] retry: ", log))
        errors += [line for line in log.splitlines() if "ERROR/" in line]
    return retries, errors


def run_once(number: int, seed: int, workers: Workers, queued: list, spool_dir: Path) -> None:
    started = time.monotonic()
    offsets = (len(workers.clicks.log()), len(workers.attribution.log()))
    run = StressRun(number, seed, workers, queued, spool_dir)
    run.storm()
    storm_seconds = time.monotonic() - started
    attributed_in_storm = run.attributed()
    run.settle()
    report = verify_organization(run.org.pk)
    command_ok, command_output = verify_command(run.org.slug)
    problems, figures = outcome_problems(run)
    retries, errors = worker_trouble(workers, offsets)
    counts = run.counts
    print(f"STRESS run {number}: seed={seed} db={connection.vendor} clicks={counts.clicks} (head={counts.heads}) "
          f"leads={counts.leads} (in_spool={counts.leads_in_spool} earlier={counts.earlier_leads}) "
          f"sales={counts.sales} (before_lead={counts.sales_before_lead}) refunds={counts.refunds} "
          f"reposts={counts.reposts} posts={counts.leads + counts.sales + counts.refunds + counts.reposts} "
          f"drains={len(counts.drains)} tasks_sent={counts.tasks_sent} customers={figures['customers']} "
          f"credited={figures['credited']} attributed_during_storm={attributed_in_storm} "
          f"credits={figures['credits']} checked={report.customers} violations={len(report.violations)} "
          f"problems={len(problems)} task_retries={retries} worker_errors={len(errors)} "
          f"storm={storm_seconds:.1f}s total={time.monotonic() - started:.1f}s")
    for violation in report.violations[:50]:
        print(f"STRESS run {number} violation: {violation.line()}")
    for problem in problems[:50]:
        print(f"STRESS run {number} problem: {problem}")
    for error in errors[:20]:
        print(f"STRESS run {number} worker error: {error}")
    label = f"run {number} (seed {seed}, {connection.vendor})"
    assert report.violations == [], f"{label}: verify_credits found {len(report.violations)} violations:\n" + (
        "\n".join(violation.line() for violation in report.violations[:50]))
    assert command_ok, f"{label}: manage.py verify_credits --org {run.org.slug} failed:\n{command_output}"
    assert problems == [], f"{label}:\n" + "\n".join(problems[:50])
    assert errors == [], f"{label}: the workers logged errors:\n" + "\n".join(errors[:20])
    assert counts.leads + counts.sales + counts.refunds + counts.reposts >= CONVERSIONS
    assert counts.leads_in_spool > 0, f"{label}: no lead was posted while its click was still in the spool"
    assert attributed_in_storm > 0, f"{label}: the workers attributed nothing while the posts went on"
    assert report.customers == len(run.plans) and report.waiting == 0
