"""Drill: the database drops a web process's connection (a restart, a failover, an admin's
pg_terminate_backend) — while a request is using it, and while it sits idle between requests.

Against a real gunicorn (one sync worker, so the process whose connection died is the one
that serves the next request), on the PostgreSQL test database, with Django's persistent
connections (CONN_MAX_AGE, CONN_HEALTH_CHECKS) and with psycopg's pool (DB_POOL=1).

In flight: a second connection holds a lock the request will need at a chosen step (after
the sale's INSERT, after the lead's customer INSERT, after the campaign's INSERT, at the
click's INSERT); once PostgreSQL reports the request's backend waiting on it, the drill
terminates that backend. It proves:

* the API and form requests fail cleanly (a 500, nothing half-written: no sale, no
  customer without its pending sales linked, no campaign without its target groups);
* the redirect still answers 302 and keeps the click (capture falls back to the spool);
* the very next request on the same process succeeds, writing to the database (Django drops
  the broken connection and reconnects).

Idle: every backend of the test database but the drill's own is terminated between two
requests — what a database restart does to persistent and pooled connections. The next
sale, lead, campaign form and redirect must all succeed (CONN_HEALTH_CHECKS / the pool's
check notice the dead connection before using it).

PostgreSQL only: SQLite has no server connection to lose (skipped there)."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_scopes import scopes_disabled

from campaigns.models import Campaign
from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key
from tests.factories import CampaignFactory, GroupFactory, LinkFactory
from tests.support.subprocesses import subprocess_database_url
from tracking.models import Customer, RawClick, Sale
from tracking.services.conversions import record_lead, record_sale

ROOT = Path(__file__).resolve().parents[2]
SALE = "/api/v1/track/sale"
LEAD = "/api/v1/track/lead"

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has no database server connection to terminate (pg_terminate_backend is PostgreSQL's)")


# --- the server -----------------------------------------------------------------------------------

class Server:
    def __init__(self, proc, port, log_path, mode):
        self.proc, self.port, self.log_path, self.mode = proc, port, log_path, mode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def request(self, method, path, *, body=None, headers=None):
        """(status, headers, body); never follows redirects."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body, method=method,
                                         headers=headers or {})
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as response:
            return response.code, response.headers, response.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(params=["persistent", "pool"])
def server(request, tmp_path):
    """gunicorn, one sync worker, clicks captured with an INSERT (CLICK_CAPTURE=db) so the
    redirect touches the database; `persistent`: CONN_MAX_AGE=60 with health checks (the
    default settings), `pool`: psycopg's pool (DB_POOL=1)."""
    spool_dir = tmp_path / "spool"
    log_path = tmp_path / "gunicorn.log"
    env = {**os.environ, "DATABASE_URL": subprocess_database_url(), "DEBUG": "0",
           "SECRET_KEY": settings.SECRET_KEY,  # the sessions the drill makes are signed with it
           "CLICK_CAPTURE": "db", "CLICK_SPOOL_DIR": str(spool_dir), "CLICK_SPOOL_DRAIN_THREAD": "1",
           "CLICK_SPOOL_DRAIN_SECONDS": "0.05", "VAR_DIR": str(tmp_path / "var"), "ALLOWED_HOSTS": "127.0.0.1",
           "PLATFORM_HOSTS": "127.0.0.1", "DB_CONN_MAX_AGE": "60", "DB_POOL": "1" if request.param == "pool" else "0",
           "DB_POOL_MIN": "1", "DB_POOL_MAX": "2"}
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):  # link cache in process, broker on files: self-contained
        env.pop(name, None)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", "127.0.0.1:0", "--workers", "1",
             "--log-level", "info", "--timeout", "60"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 30
    port = None
    while time.time() < deadline and port is None:
        for line in log_path.read_text(errors="replace").splitlines():
            if "Listening at: http://127.0.0.1:" in line:
                port = int(line.rsplit(":", 1)[1].split()[0])
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if port is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail("gunicorn did not start:\n" + log_path.read_text(errors="replace"))
    server = Server(proc, port, log_path, request.param)
    try:
        yield server
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        # The test database is flushed next: no connection of ours may linger on it.
        terminate_others()


# --- PostgreSQL side: a second connection that holds locks and terminates backends -------------------

def connect(autocommit=False) -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(dbname=db["NAME"], user=db.get("USER") or None, password=db.get("PASSWORD") or None,
                           host=db.get("HOST") or None, port=db.get("PORT") or None, autocommit=autocommit)


def own_pid() -> int:
    connection.ensure_connection()
    return connection.connection.info.backend_pid


def terminate_others() -> list[int]:
    """Terminate every backend on the test database except this test's own: a restart, as
    the web process sees it."""
    keep = own_pid()
    with connect(autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s", [keep]).fetchall()
    return [pid for pid, _ in rows]


class Blocker:
    """Holds a lock (in an open transaction) that the request under test will wait on; then
    finds the backend waiting on it and terminates it."""

    def __init__(self, sql, params=()):
        self.conn = connect()
        self.conn.execute(sql, params)

    def terminate_waiter(self, timeout=20) -> int:
        with connect(autocommit=True) as admin:
            deadline = time.time() + timeout
            while time.time() < deadline:
                row = admin.execute("SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                                    [self.conn.info.backend_pid]).fetchone()
                if row:
                    assert admin.execute("SELECT pg_terminate_backend(%s)", [row[0]]).fetchone()[0]
                    return row[0]
                time.sleep(0.02)
        raise AssertionError("no request came to wait on the lock")

    def release(self):
        self.conn.rollback()
        self.conn.close()


def in_flight_kill(server, blocker_sql, blocker_params, method, path, **kwargs):
    """Send the request while `blocker` holds its lock; terminate the request's backend once it
    waits on it. Returns the request's (status, headers, body) and the terminated pid."""
    blocker = Blocker(blocker_sql, blocker_params)
    pool = ThreadPoolExecutor(1)
    try:
        future = pool.submit(server.request, method, path, **kwargs)
        pid = blocker.terminate_waiter()
    finally:
        blocker.release()  # also lets a request that was never terminated finish
        pool.shutdown(wait=True)
    return future.result(), pid


# --- the requests -------------------------------------------------------------------------------

def api_headers(full_key):
    return {"Authorization": f"Bearer {full_key}", "Content-Type": "application/json"}


def post_json(server, path, full_key, body):
    return server.request("POST", path, body=json.dumps(body).encode(), headers=api_headers(full_key))


CSRF = "a" * 32  # an unmasked secret: valid as cookie and form token alike


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return (f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}; "
            f"{settings.CSRF_COOKIE_NAME}={CSRF}")


def campaign_form(org, cookie, name, groups):
    """(path, request keywords) of the admin's "new campaign" form post."""
    fields = [("csrfmiddlewaretoken", CSRF), ("name", name), ("slug", ""), ("description", ""),
              ("status", "active"), ("destination_url", "https://www.example.com/launch"), ("fallback_url", ""),
              ("starts_at", ""), ("ends_at", ""), ("minutes_per_share", "5"), ("utm_source", "{channel}"),
              ("utm_medium", "ambassador"), ("utm_campaign", "{campaign}"), ("utm_content", ""), ("utm_term", "")]
    fields += [("target_groups", str(group.pk)) for group in groups]
    return f"/o/{org.slug}/manage/campaigns/new/", {
        "body": urlencode(fields).encode(),
        "headers": {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}}


def post_campaign_form(server, org, cookie, name, groups):
    path, kwargs = campaign_form(org, cookie, name, groups)
    return server.request("POST", path, **kwargs)


def click_id_of(headers) -> str:
    return parse_qs(urlsplit(headers["Location"]).query)["amb_cid"][0]


def raw_click_ids() -> set[str]:
    with scopes_disabled():
        return set(RawClick.objects.values_list("click_id", flat=True))


def campaigns_named(org, name):
    with tenant_scope(org):
        return list(Campaign.objects.filter(name=name).prefetch_related("target_groups"))


def sale_of(org, invoice_id):
    with tenant_scope(org):
        return list(Sale.objects.filter(invoice_id=invoice_id))


# --- in flight ------------------------------------------------------------------------------------

def test_sale_whose_connection_dies_mid_transaction_is_not_stored_and_the_retry_is(server, org):
    _, key = create_api_key(organization=org, name="CRM")
    customer, _ = record_lead(org, customer_external_id="cus_1")
    assert post_json(server, SALE, key, {"customer_external_id": "cus_0", "amount": "1.00", "currency": "EUR",
                                         "invoice_id": "warm-up"})[0] == 201  # the worker has its connection
    body = {"customer_external_id": "cus_1", "amount": "49.90", "currency": "EUR", "invoice_id": "inv_1"}
    # The sale's INSERT is done; the customer-link step waits on this advisory lock.
    (status, _, content), pid = in_flight_kill(
        server, "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"conversions:{org.pk}:ext:cus_1"],
        "POST", SALE, body=json.dumps(body).encode(), headers=api_headers(key))
    print(f"DRILL db-restart sale {server.mode}: terminated pid {pid} mid-request -> {status}; "
          f"sales stored {len(sale_of(org, 'inv_1'))}")
    assert status == 500, (status, content[:300], server.log())
    assert sale_of(org, "inv_1") == [], "a sale of a failed request was stored"
    retry = post_json(server, SALE, key, body)
    assert retry[0] == 201, (retry[0], retry[2][:300], server.log())
    [sale] = sale_of(org, "inv_1")
    assert sale.customer_id == customer.pk  # stored whole: linked to its customer
    assert post_json(server, SALE, key, body)[0] == 200  # and once


def test_lead_whose_connection_dies_mid_transaction_leaves_no_customer_and_the_retry_links_the_sale(server, org):
    _, key = create_api_key(organization=org, name="CRM")
    pending, _ = record_sale(org, customer_external_id="cus_2", amount=Decimal("20.00"),
                             currency="EUR", invoice_id="inv_2")
    assert pending.customer_id is None
    assert post_json(server, LEAD, key, {"customer_external_id": "cus_warm"})[0] == 201
    # The customer's INSERT is done; linking its pending sale waits on this row lock.
    (status, _, content), pid = in_flight_kill(
        server, "SELECT 1 FROM tracking_sale WHERE id = %s FOR UPDATE", [pending.pk],
        "POST", LEAD, body=b'{"customer_external_id": "cus_2"}', headers=api_headers(key))
    with tenant_scope(org):
        customers = Customer.objects.filter(external_id="cus_2").count()
    print(f"DRILL db-restart lead {server.mode}: terminated pid {pid} mid-request -> {status}; "
          f"customers stored {customers}")
    assert status == 500, (status, content[:300], server.log())
    assert customers == 0, "a customer was stored without its pending sale linked"
    retry = post_json(server, LEAD, key, {"customer_external_id": "cus_2"})
    assert retry[0] == 201, (retry[0], retry[2][:300], server.log())
    with tenant_scope(org):
        customer = Customer.objects.get(external_id="cus_2")
    [sale] = sale_of(org, "inv_2")
    assert sale.customer_id == customer.pk


def test_campaign_form_whose_connection_dies_mid_save_stores_nothing_and_the_retry_stores_it_whole(
        server, org, admin_user):
    groups = [GroupFactory(organization=org, name="Sales"), GroupFactory(organization=org, name="Engineering")]
    cookie = session_cookie(admin_user)
    warm = post_campaign_form(server, org, cookie, "Warm-up", groups)
    assert warm[0] == 302 and "/manage/campaigns/" in warm[1]["Location"], (warm[0], warm[2][:1000], server.log())
    through = Campaign.target_groups.through._meta.db_table
    # The campaign's INSERT is done; its target groups' INSERT waits on this table lock.
    path, kwargs = campaign_form(org, cookie, "Autumn launch", groups)
    (status, _, content), pid = in_flight_kill(server, f'LOCK TABLE "{through}" IN SHARE MODE', [],
                                               "POST", path, **kwargs)
    stored = campaigns_named(org, "Autumn launch")
    print(f"DRILL db-restart campaign-form {server.mode}: terminated pid {pid} mid-request -> {status}; "
          f"campaigns stored {len(stored)}")
    assert status == 500, (status, content[:300], server.log())
    assert stored == [], "a campaign was stored without its target groups"
    retry = post_campaign_form(server, org, cookie, "Autumn launch", groups)
    assert retry[0] == 302, (retry[0], retry[2][:1000], server.log())
    [campaign] = campaigns_named(org, "Autumn launch")
    assert retry[1]["Location"] == f"/o/{org.slug}/manage/campaigns/{campaign.public_id}/"
    assert sorted(g.pk for g in campaign.target_groups.all()) == sorted(g.pk for g in groups)


def test_redirect_whose_connection_dies_still_answers_302_and_keeps_the_click(server, org):
    campaign = CampaignFactory(organization=org)
    link = LinkFactory(organization=org, campaign=campaign)
    warm = server.request("GET", f"/l/{link.code}")  # the link and today's salt are in the process now
    assert warm[0] == 302 and click_id_of(warm[1]) in raw_click_ids()
    (status, headers, content), pid = in_flight_kill(server, "LOCK TABLE tracking_rawclick IN SHARE MODE", [],
                                                     "GET", f"/l/{link.code}")
    assert status == 302, (status, content[:300], server.log())
    kept = click_id_of(headers)
    after = server.request("GET", f"/l/{link.code}")
    assert after[0] == 302, (after[0], server.log())
    # Written by the INSERT itself, not spooled: the process is back on the database.
    assert click_id_of(after[1]) in raw_click_ids(), "the next click did not reach the database directly"
    deadline = time.time() + 15  # the spooled click is drained by the process's drain thread
    while kept not in raw_click_ids() and time.time() < deadline:
        time.sleep(0.05)
    recorded = raw_click_ids()
    print(f"DRILL db-restart redirect {server.mode}: terminated pid {pid} mid-request -> {status}; "
          f"click kept {kept in recorded}; next click inserted directly True; raw clicks {len(recorded)}")
    assert kept in recorded, f"the click answered during the outage was lost\n{server.log()}"
    assert len(recorded) == 3


# --- idle -----------------------------------------------------------------------------------------

def test_every_request_succeeds_after_the_database_dropped_all_idle_connections(server, org, admin_user):
    """The regression guard of CONN_HEALTH_CHECKS=True (config/settings.py): with it off, the
    first request after each restart (here the sale) used the dead connection and answered 500."""
    _, key = create_api_key(organization=org, name="CRM")
    campaign = CampaignFactory(organization=org)
    link = LinkFactory(organization=org, campaign=campaign)
    groups = [GroupFactory(organization=org, name="Sales")]
    cookie = session_cookie(admin_user)

    def round_of_requests(n):
        return {
            "sale": post_json(server, SALE, key, {"customer_external_id": f"cus_{n}", "amount": "10.00",
                                                  "currency": "EUR", "invoice_id": f"inv_{n}"}),
            "lead": post_json(server, LEAD, key, {"customer_external_id": f"cus_{n}"}),
            "campaign": post_campaign_form(server, org, cookie, f"Restart {n}", groups),
            "redirect": server.request("GET", f"/l/{link.code}"),
        }

    expected = {"sale": 201, "lead": 201, "campaign": 302, "redirect": 302}
    first = round_of_requests(0)
    assert {k: v[0] for k, v in first.items()} == expected, server.log()
    failures = []
    terminated = 0
    for n in range(1, 4):  # three restarts in a row, a round of requests after each
        time.sleep(0.2)  # the pool (if any) has its connections back and idle
        terminated += len(terminate_others())
        for name, (status, headers, content) in round_of_requests(n).items():
            if status != expected[name]:
                failures.append((n, name, status, content[:200]))
            elif name == "redirect" and click_id_of(headers) not in raw_click_ids():
                failures.append((n, name, "spooled: the INSERT failed", b""))
    print(f"DRILL db-restart idle {server.mode}: 3 restarts, {terminated} backends terminated, "
          f"12 requests after them, failures {len(failures)}")
    assert failures == [], f"{failures}\n{server.log()}"
    with tenant_scope(org):
        assert Sale.objects.filter(customer__isnull=False).count() == 4
        assert Campaign.objects.filter(name__startswith="Restart ").count() == 4

