"""Attribution under concurrency (issue 11): deterministic interleavings.

Attribution is paused at a named point (tracking.services.attribution._checkpoint, a no-op in
production) in one thread while another writer runs in a second thread: a refund, a re-post of
the same invoice, a new sale, a new lead with an earlier time, a settings recompute, click
processing. The writer either waits for attribution's locks (it is seen waiting, on PostgreSQL in
pg_stat_activity) or finishes; then attribution is released, the beat's work is run to the end,
and `verify_credits` must find nothing, beside the outcome a user would check (a refunded sale has
no credit, a live sale has all of its amount, a lead its 1.0000).

On SQLite a write transaction holds the whole database (IMMEDIATE), so the writer simply waits
for attribution's commit; the same tests run there too.
"""

import threading
import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, CampaignFactory, ClickFactory, LinkFactory
from tests.support.tracking import reload
from tracking import attribution as engine
from tracking.capture import insert_rows
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import Click, Credit, Customer, Sale, SaleStatus
from tracking.services import attribution, click_processing
from tracking.services.attribution_settings import change_settings, recompute_step, settings_for
from tracking.services.conversions import record_lead, record_sale
from tracking.verification import verify_organization

pytestmark = pytest.mark.django_db(transaction=True)

NOW = timezone.now().replace(microsecond=0)
PAUSE_TIMEOUT = 30  # seconds: a test that waits longer than this is broken, not slow
BLOCKED_GRACE = 0.5  # seconds a writer is given to finish before it counts as waiting (SQLite)


@pytest.fixture(autouse=True)
def click_capture():
    """No click capture here (overrides tests/tracking/conftest.py's parametrised modes)."""
    return None


# --- the programme ---------------------------------------------------------------------------------

@pytest.fixture
def links(org):
    campaign = CampaignFactory(organization=org)
    return [LinkFactory(campaign=campaign, ambassador=AmbassadorFactory(organization=org, email=f"amb{n}@acme.test"))
            for n in range(3)]


def click(org, link, visitor, at):
    return ClickFactory(link=link, visitor_id=visitor, clicked_at=at)


def attribute_everything(org):
    """What the beat's sweep does, until nothing is left."""
    with tenant_scope(org):
        for _ in range(20):
            run = attribution.attribute_pending(org.pk)
            if not run.more and not Customer.objects.filter(attributed_at__isnull=True).exists() and not (
                    Sale.objects.filter(attributed_at__isnull=True, customer__isnull=False).exists()):
                return
        raise AssertionError("attribution did not settle")


def assert_verified(org):
    report = verify_organization(org.pk)
    assert [v.line() for v in report.violations] == []
    call_command("verify_credits", "--org", org.slug)  # exits 1 (SystemExit) on a violation


def sale_totals(org, sale):
    totals = defaultdict(Decimal)
    with tenant_scope(org):
        for model, amount in Credit.objects.filter(sale_id=sale.pk, kind="sale").values_list("model", "amount"):
            totals[model] += amount
    return dict(totals)


def lead_shares(org, customer, version=1):
    totals = defaultdict(lambda: defaultdict(Decimal))
    with tenant_scope(org):
        credits = Credit.objects.filter(customer_id=customer.pk, kind="lead", version=version)
        for model, ambassador_id, share in credits.values_list(
                "model", "ambassador_id", "lead_share"):
            totals[model][ambassador_id] += share
    return {model: dict(shares) for model, shares in totals.items()}


# --- the interleaving --------------------------------------------------------------------------------

class Thread(threading.Thread):
    """A thread with its own database connection, closed at its end; its exception is re-raised on join."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.target, self.error, self.result = target, None, None

    def run(self):
        try:
            self.result = self.target()
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            self.error = error
        finally:
            connections.close_all()

    def finish(self):
        self.join(PAUSE_TIMEOUT)
        assert not self.is_alive(), "thread still running"
        if self.error:
            raise self.error
        return self.result


def backends_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def wait_until_waiting_or_done(writer: Thread) -> bool:
    """True if the writer is waiting for a lock, False if it finished without waiting."""
    deadline = time.monotonic() + PAUSE_TIMEOUT
    started = time.monotonic()
    while time.monotonic() < deadline:
        if not writer.is_alive():
            return False
        if connection.vendor == "postgresql":
            if backends_waiting_for_a_lock():
                return True
        elif time.monotonic() - started > BLOCKED_GRACE:
            return True
        time.sleep(0.01)
    raise AssertionError("the writer neither finished nor waited")


def interleave(monkeypatch, point, attribute, writer):
    """Run `attribute` in a thread, paused at checkpoint `point`; run `writer` there; release.
    Returns whether the writer had to wait for attribution."""
    reached, release = threading.Event(), threading.Event()
    holder = {}

    def checkpoint(name):
        if name == point and threading.current_thread() is holder.get("thread") and not reached.is_set():
            reached.set()
            assert release.wait(PAUSE_TIMEOUT), "never released"

    monkeypatch.setattr(attribution, "_checkpoint", checkpoint)
    paused = holder["thread"] = Thread(attribute)
    paused.start()
    assert reached.wait(PAUSE_TIMEOUT), f"attribution never reached {point!r}"
    other = Thread(writer)
    other.start()
    waited = wait_until_waiting_or_done(other)
    release.set()
    paused.finish()
    other.finish()
    monkeypatch.setattr(attribution, "_checkpoint", lambda name: None)
    return waited


def attribute_pending_of(org):
    return lambda: attribution.attribute_pending(org.pk)


# --- the tests ----------------------------------------------------------------------------------------

@pytest.fixture
def credited_sale(org, links):
    """A customer who clicked two ambassadors' links, and a paid sale of 1234.57, not attributed yet."""
    visitor = new_visitor_id()
    click(org, links[0], visitor, NOW - timedelta(days=3))
    click(org, links[1], visitor, NOW - timedelta(days=1))
    customer, _ = record_lead(org, visitor_id=visitor, customer_external_id="cus_1", occurred_at=NOW)
    sale, _ = record_sale(org, customer_external_id="cus_1", amount=Decimal("1234.57"), currency=org.currency,
                          invoice_id="INV-00061", occurred_at=NOW + timedelta(hours=1))
    return customer, sale


def test_a_refund_during_attribution_leaves_no_credit_on_the_sale(org, credited_sale, monkeypatch):
    customer, sale = credited_sale

    waited = interleave(monkeypatch, "conversions_read", attribute_pending_of(org), lambda: record_sale(
        org, customer_external_id="cus_1", amount=Decimal("1234.57"), currency=org.currency,
        invoice_id="INV-00061", status=SaleStatus.REFUNDED))
    attribute_everything(org)

    assert waited  # the refund waited for attribution's commit instead of being overwritten by it
    assert reload(sale).status == SaleStatus.REFUNDED
    assert sale_totals(org, sale) == {}
    assert set(lead_shares(org, customer)) == set(engine.MODELS)  # the lead keeps its credit
    assert_verified(org)


def test_a_repost_of_the_same_invoice_during_attribution_changes_nothing(org, credited_sale, monkeypatch):
    customer, sale = credited_sale

    interleave(monkeypatch, "conversions_read", attribute_pending_of(org), lambda: record_sale(
        org, customer_external_id="cus_1", amount=Decimal("1234.57"), currency=org.currency, invoice_id="INV-00061"))
    attribute_everything(org)

    with tenant_scope(org):
        assert Sale.objects.count() == 1
    assert sale_totals(org, sale) == {model: Decimal("1234.57") for model in engine.MODELS}
    assert_verified(org)


def test_a_refund_then_repost_during_attribution_stays_refunded(org, credited_sale, monkeypatch):
    _, sale = credited_sale

    def refund_then_repost():
        for status in (SaleStatus.REFUNDED, SaleStatus.PAID, SaleStatus.REFUNDED):
            record_sale(org, customer_external_id="cus_1", amount=Decimal("1234.57"), currency=org.currency,
                        invoice_id="INV-00061", status=status)

    interleave(monkeypatch, "conversions_read", attribute_pending_of(org), refund_then_repost)
    attribute_everything(org)

    assert sale_totals(org, sale) == {}
    assert_verified(org)


def test_a_new_sale_during_attribution_gets_its_credits(org, credited_sale, monkeypatch):
    _, first = credited_sale

    waited = interleave(monkeypatch, "conversions_read", attribute_pending_of(org), lambda: record_sale(
        org, customer_external_id="cus_1", amount=Decimal("99.99"), currency=org.currency, invoice_id="INV-2",
        occurred_at=NOW + timedelta(days=2)))
    with tenant_scope(org):
        second = Sale.objects.get(invoice_id="INV-2")
    # Never marked attributed by a run that did not read it.
    assert second.attributed_at is None or sale_totals(org, second)
    attribute_everything(org)

    assert waited
    assert sale_totals(org, first) == {model: Decimal("1234.57") for model in engine.MODELS}
    assert sale_totals(org, second) == {model: Decimal("99.99") for model in engine.MODELS}
    assert_verified(org)


def test_an_earlier_lead_during_attribution_becomes_the_first_lead(org, links, credited_sale, monkeypatch):
    customer, sale = credited_sale
    # links[0] clicked 3 days before the lead, links[1] 1 day before: linear 50/50. A lead reported
    # now with a time 2 days before the first leaves only links[0]'s click in its window.
    waited = interleave(monkeypatch, "conversions_read", attribute_pending_of(org), lambda: record_lead(
        org, customer_external_id="cus_1", occurred_at=NOW - timedelta(days=2)))
    attribute_everything(org)

    assert waited
    customer = reload(customer)
    assert customer.first_lead_at == NOW - timedelta(days=2)
    only_first = {links[0].ambassador_id: Decimal("1.0000")}
    assert lead_shares(org, customer) == {model: only_first for model in engine.MODELS}
    assert sale_totals(org, sale) == {model: Decimal("1234.57") for model in engine.MODELS}
    with tenant_scope(org):
        assert set(Credit.objects.filter(sale=sale).values_list("ambassador_id", flat=True)) == {
            links[0].ambassador_id}
    assert_verified(org)


def test_a_settings_change_and_recompute_during_attribution(org, links, credited_sale, monkeypatch):
    customer, sale = credited_sale
    versions = []

    def change_and_recompute():  # a 2-day window leaves only links[1]'s click (1 day before the lead)
        versions.append(change_settings(org.pk, window_days=2).settings.pending_version)
        while not recompute_step(org.pk, versions[0]).finished:
            pass

    waited = interleave(monkeypatch, "conversions_read", attribute_pending_of(org), change_and_recompute)
    attribute_everything(org)

    assert waited  # the recompute waited for the customer's lock
    version = versions[0]
    assert settings_for(org.pk).version == version
    only_recent = {links[1].ambassador_id: Decimal("1.0000")}
    assert lead_shares(org, customer, version) == {model: only_recent for model in engine.MODELS}
    with tenant_scope(org):
        active = Credit.objects.filter(version=version, sale=sale, kind="sale")
        assert set(active.values_list("ambassador_id", flat=True)) == {links[1].ambassador_id}
    assert_verified(org)


def test_a_refund_during_a_recompute_leaves_no_credit_in_the_new_version(org, credited_sale, monkeypatch):
    _, sale = credited_sale
    attribute_everything(org)
    version = change_settings(org.pk, window_days=10).settings.pending_version

    def recompute():
        while not recompute_step(org.pk, version).finished:
            pass

    interleave(monkeypatch, "conversions_read", recompute, lambda: record_sale(
        org, customer_external_id="cus_1", amount=Decimal("1234.57"), currency=org.currency,
        invoice_id="INV-00061", status=SaleStatus.REFUNDED))
    attribute_everything(org)

    assert settings_for(org.pk).version == version
    with tenant_scope(org):
        assert not Credit.objects.filter(sale=sale, version=version).exists()  # the old version's go soon after
    assert_verified(org)


def test_a_lead_whose_click_is_processed_during_attribution_still_gets_its_credits(org, links, monkeypatch):
    """The lost lead: the lead's click is still raw when attribution reads it, and click
    processing commits right after that read. Attribution must not take the lead as ready
    with no visitor (it did: two lookups in two snapshots), but wait and credit it."""
    visitor, click_id = new_visitor_id(), new_click_id()
    at = timezone.now()
    # Posted while the click is still in a web process's spool: no visitor known yet.
    customer, _ = record_lead(org, click_id=click_id, email="jo@example.com", occurred_at=at + timedelta(seconds=1))
    assert reload(customer).visitor_id is None
    insert_rows([(click_id, org.pk, links[2].pk, at, visitor, "x" * 32, "Mozilla/5.0 (X11; Linux x86_64) "
                  "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36", "", "", False)])  # drained

    def process_clicks():
        with tenant_scope(org):
            return click_processing.process_pending(org.pk).inserted

    interleave(monkeypatch, "readiness", attribute_pending_of(org), process_clicks)
    with tenant_scope(org):
        assert Click.objects.filter(click_id=click_id).exists()
    # Either deferred (not attributed, no credits) or credited: never attributed without credits.
    first_pass = reload(customer)
    assert first_pass.attributed_at is None or lead_shares(org, customer)

    attribute_everything(org)

    whole = {links[2].ambassador_id: Decimal("1.0000")}
    assert lead_shares(org, customer) == {model: whole for model in engine.MODELS}
    assert_verified(org)


def test_a_lead_posted_while_its_click_moves_from_raw_to_processed_finds_its_visitor(org, links):
    """visitor_of_click reads RawClick and Click in one statement."""
    from django.test.utils import CaptureQueriesContext

    from tracking.services.conversions import visitor_of_click

    visitor, click_id = new_visitor_id(), new_click_id()
    insert_rows([(click_id, org.pk, links[0].pk, timezone.now(), visitor, "x" * 32, "Mozilla/5.0", "", "", False)])
    with CaptureQueriesContext(connection) as queries:
        assert visitor_of_click(org, click_id) == visitor
    assert len(queries) == 1
    with tenant_scope(org):
        click_processing.process_pending(org.pk)
    assert visitor_of_click(org, click_id) == visitor
    assert visitor_of_click(org, new_click_id()) is None


def test_a_lead_waits_for_its_click_in_the_raw_queue_however_old_it_is(org, links):
    """Click processing was down for an hour: the lead's click is stored (raw) but older than
    RETRY_WITHIN. The lead waits for it instead of being credited as direct for good."""
    visitor = new_visitor_id()
    at = timezone.now() - timedelta(hours=1)
    click_id = new_click_id(at.timestamp())
    insert_rows([(click_id, org.pk, links[1].pk, at, visitor, "x" * 32, "Mozilla/5.0 (X11; Linux x86_64) "
                  "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36", "", "", False)])
    customer, _ = record_lead(org, click_id=click_id, customer_external_id="cus_9",
                              occurred_at=at + timedelta(minutes=5))
    with tenant_scope(org):
        Customer.objects.filter(pk=customer.pk).update(visitor_id=None)  # as if posted while still spooled
        assert attribution.attribute_pending(org.pk).deferred == 1
    assert reload(customer).attributed_at is None

    with tenant_scope(org):
        click_processing.process_pending(org.pk)
    attribute_everything(org)
    assert lead_shares(org, customer) == {model: {links[1].ambassador_id: Decimal("1.0000")} for model in engine.MODELS}
    assert_verified(org)


def test_a_lead_with_an_unknown_old_click_id_is_direct(org, links):
    """A click id neither stored nor young (another site's, a typo) doesn't hold the lead back."""
    old_id = new_click_id((timezone.now() - timedelta(hours=1)).timestamp())
    customer, _ = record_lead(org, click_id=old_id, customer_external_id="cus_8")
    attribute_everything(org)
    assert reload(customer).attributed_at is not None
    assert lead_shares(org, customer) == {}
    assert_verified(org)
