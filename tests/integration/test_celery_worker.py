"""A real Celery worker, started as a subprocess, runs our tasks against the test database.

Two brokers: Redis (production; needs REDIS_URL) and kombu's `filesystem://` (the embedded
mode; needs nothing, so it always runs). The database is whatever the tests use: PostgreSQL
when DATABASE_URL points at it, else the SQLite file settings.py names for tests. The tests are
transactional so that what they write is committed and the worker, a separate process, sees it.

Each worker consumes only a queue of its own (`it-<random>`), so a stray worker of someone
else on the same Redis never steals our task and ours never steals theirs; the producer here
publishes on an explicit connection to that broker, whatever broker the settings chose when
this process loaded them.
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_scopes import scopes_disabled

from ambassadors.models import Invitation
from ambassadors.services.invitations import invite
from ambassadors.tasks import send_invitation_email
from config.celery import app
from tenancy.scoping import tenant_scope
from tests.conftest import need_service
from tests.subprocesses import subprocess_database_url

pytestmark = pytest.mark.django_db(transaction=True)

STARTUP_TIMEOUT = 60  # seconds for the worker to say "ready"
TASK_TIMEOUT = 60  # seconds for a task to be done once sent
STOP_TIMEOUT = 20  # seconds of warm shutdown before the worker is killed
POLL = 0.1


# --- Where the worker finds the database and the broker ----------------------------------------


def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    need_service("Redis", bool(url), "REDIS_URL not set")
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except (redis.RedisError, OSError) as exc:
        need_service("Redis", False, f"no answer at {url} ({exc})")
    return url


def filesystem_broker_options(var_dir: Path) -> dict:
    """The folders settings.py gives the filesystem broker under VAR_DIR (it creates them).
    kombu keeps its exchange tables in `control_folder`, "control" relative to the current
    directory unless told: the worker runs in VAR_DIR/celery, so both sides use the same one
    and neither writes into the repository."""
    folder = var_dir / "celery"
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


def delete_redis_queue(url: str, queue: str) -> None:
    """Drop what kombu kept in Redis for our queue (the list, its priority lists, its bindings)."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        keys = list(client.scan_iter(match=f"*{queue}*"))  # the queue name is unique to this test
        if keys:
            client.delete(*keys)
        client.close()
    except (redis.RedisError, OSError) as exc:
        print(f"Could not clean up Redis queue {queue}: {exc}")


# --- The worker ----------------------------------------------------------------------------------


def task_result_pattern(task_id: str) -> re.Pattern:
    return re.compile(rf"\[{re.escape(task_id)}\] succeeded in [0-9.e-]+s: (?P<result>.*)$", re.MULTILINE)


@dataclass
class Worker:
    broker: str
    broker_url: str
    transport_options: dict
    queue: str
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _fail(self, message: str):
        pytest.fail(f"{message}\n--- worker log ({self.log_path}) ---\n{self.log()}", pytrace=False)

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            self._fail(f"The Celery worker exited with status {self.process.returncode}.")

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        ready = re.compile(rf"^\[.*\] {re.escape(self.queue)}@\S+ ready\.$", re.MULTILINE)
        while not ready.search(self.log()):
            self._check_alive()
            if time.monotonic() > deadline:
                self._fail(f"The Celery worker wasn't ready after {timeout} s.")
            time.sleep(POLL)

    def send(self, task, *args) -> str:
        """Publish `task(*args)` to this worker's queue on its broker; the message's task id."""
        with app.connection_for_write(self.broker_url, transport_options=self.transport_options) as conn:
            result = app.send_task(task.name, args=list(args), queue=self.queue, connection=conn)
        return result.id

    def wait_for_result(self, task_id: str, timeout: float = TASK_TIMEOUT) -> str:
        """The repr of what the task returned, as the worker logged it on success."""
        pattern = task_result_pattern(task_id)
        deadline = time.monotonic() + timeout
        while True:
            log = self.log()
            if match := pattern.search(log):
                return match.group("result").strip()
            if re.search(rf"\[{re.escape(task_id)}\] (raised|retry|failed|ignored)", log, re.IGNORECASE):
                self._fail(f"Task {task_id} did not succeed in the worker.")
            self._check_alive()
            if time.monotonic() > deadline:
                self._fail(f"Task {task_id} wasn't done after {timeout} s.")
            time.sleep(POLL)

    def wait_until(self, condition, what: str, timeout: float = TASK_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            self._check_alive()
            if time.monotonic() > deadline:
                self._fail(f"Timed out after {timeout} s waiting for {what}.")
            time.sleep(POLL)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)


def celery_command() -> list[str]:
    script = Path(sys.executable).parent / "celery"
    return [str(script)] if script.exists() else [sys.executable, "-m", "celery"]


@pytest.fixture
def start_worker(tmp_path):
    """`start_worker("redis" | "filesystem")`: a running `celery -A config worker` on that broker
    and the test database, consuming a queue of its own. Stopped (and its queue dropped) after
    the test; its log is printed, which pytest shows when the test failed."""
    workers: list[Worker] = []

    def start(broker: str) -> Worker:
        queue = f"it-{uuid.uuid4().hex[:12]}"
        var_dir = tmp_path / f"var-{queue}"  # the worker's own VAR_DIR: nothing shared with the repo's var/
        workdir = var_dir / "celery"  # and its current directory, where kombu may leave files
        workdir.mkdir(parents=True)
        env = dict(os.environ)
        for name in ("CELERY_TASK_ALWAYS_EAGER", "EMAIL_HOST", "CELERY_BROKER_URL", "REDIS_URL"):
            env.pop(name, None)  # EMAIL_HOST unset: the console backend prints the mail to the log
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            SECRET_KEY=settings.SECRET_KEY,
            DEBUG="0",
            DATABASE_URL=subprocess_database_url(),  # explicit: VAR_DIR no longer leads to the test DB
            VAR_DIR=str(var_dir),
            CELERY_QUEUE=queue,  # the tasks a task queues come back to this worker
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(filter(None, [str(settings.BASE_DIR), env.get("PYTHONPATH")])),
        )
        if broker == "redis":
            url = redis_url()
            env.update(REDIS_URL=url, CELERY_BROKER_URL=url)
            transport_options = {}
        elif broker == "filesystem":
            url = "filesystem-atomic://"  # what the embedded mode uses (config/kombu_filesystem.py)
            env.update(CELERY_BROKER_URL=url)
            transport_options = filesystem_broker_options(var_dir)
        else:
            raise ValueError(broker)
        log_path = tmp_path / f"{queue}.log"
        command = [
            *celery_command(), "-A", "config", "worker",
            "--pool", "solo", "--loglevel", "INFO",
            "--without-heartbeat", "--without-gossip", "--without-mingle",
            "--queues", queue, "--hostname", f"{queue}@%h",
        ]
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                       stdout=log_file, stderr=subprocess.STDOUT)
        worker = Worker(broker, url, transport_options, queue, log_path, process)
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start

    for worker in workers:
        worker.stop()
        if worker.broker == "redis":
            delete_redis_queue(worker.broker_url, worker.queue)
        print(f"--- {worker.broker} worker {worker.queue} exited with {worker.process.returncode}; "
              f"log ---\n{worker.log()}")


# --- The tests -----------------------------------------------------------------------------------


def sent_at(invitation):
    with scopes_disabled():
        return Invitation.objects.filter(pk=invitation.pk).values_list("sent_at", flat=True).get()


def invitation_for(organization, email: str) -> Invitation:
    with tenant_scope(organization):
        invitation = invite(organization=organization, email=email, send=False)  # committed on return
    assert sent_at(invitation) is None
    return invitation


def assert_worker_sends_invitation(worker: Worker, org) -> None:
    invitation = invitation_for(org, "new.ambassador@example.com")

    task_id = worker.send(send_invitation_email, org.pk, invitation.pk)

    worker.wait_until(lambda: sent_at(invitation) is not None,
                      f"the worker to set Invitation.sent_at in the {connection.vendor} database")
    assert worker.wait_for_result(task_id) == "True"
    log = worker.log()
    assert f"Task {send_invitation_email.name}[{task_id}] received" in log
    assert "Acme invites you to its ambassador programme" in log  # the mail, from the console backend
    assert "new.ambassador@example.com" in log


@pytest.mark.services
def test_worker_on_redis_runs_a_task_against_the_database(start_worker, org):
    worker = start_worker("redis")
    assert_worker_sends_invitation(worker, org)


def test_worker_on_the_filesystem_broker_runs_a_task_against_the_database(start_worker, org):
    worker = start_worker("filesystem")
    assert_worker_sends_invitation(worker, org)


@pytest.mark.parametrize("broker", ["filesystem", pytest.param("redis", marks=pytest.mark.services)])
def test_a_tenant_task_in_the_worker_cannot_reach_another_organisation(start_worker, org, other_org, broker):
    ours = invitation_for(org, "ours@example.com")
    theirs = invitation_for(other_org, "theirs@example.com")
    worker = start_worker(broker)

    # Acme's id with Rival's invitation: inside Acme's scope that invitation doesn't exist.
    cross_id = worker.send(send_invitation_email, org.pk, theirs.pk)
    own_id = worker.send(send_invitation_email, org.pk, ours.pk)

    assert worker.wait_for_result(cross_id) == "False"
    assert worker.wait_for_result(own_id) == "True"
    assert sent_at(theirs) is None
    assert sent_at(ours) is not None
    assert "theirs@example.com" not in worker.log()


def test_filesystem_broker_survives_a_stream_of_messages_while_it_consumes(start_worker, org):
    """A stream of messages is consumed with no worker death (kombu's own file-system
    transport let `make run`'s worker die reading a half-written message)."""
    from tracking.tasks import delete_old_salts

    worker = start_worker("filesystem")
    task_ids = []
    for _ in range(150):
        task_ids.append(worker.send(delete_old_salts))
    for task_id in task_ids:
        assert worker.wait_for_result(task_id) == "0"
    assert "Unrecoverable error" not in worker.log()


@pytest.mark.parametrize("broker", ["filesystem", pytest.param("redis", marks=pytest.mark.services)])
def test_the_worker_attributes_leads_then_recomputes_a_new_window_in_a_chain_of_chunks(start_worker, org, broker,
                                                                                       monkeypatch):
    """Real worker: attribute_pending writes the credits; a window change's recompute runs as a
    chain of chunk tasks the worker queues to itself, and ends with the new version active."""
    from datetime import timedelta
    from decimal import Decimal

    from django.db import models
    from django.utils import timezone

    from campaigns.models import Campaign, CampaignStatus, TrackedLink
    from tests.factories import AmbassadorFactory
    from tracking.ids import new_click_id, new_visitor_id
    from tracking.models import Click, Credit, Customer
    from tracking.selectors import reporting_credits
    from tracking.services.attribution_settings import change_settings, settings_for
    from tracking.services.conversions import record_lead
    from tracking.tasks import attribute_pending, recompute_attribution

    monkeypatch.setenv("ATTRIBUTION_RECOMPUTE_CHUNK", "2")  # the worker's environment, read at its start
    now = timezone.now()
    with tenant_scope(org):
        campaign = Campaign.objects.create(organization=org, name="Launch", slug="launch",
                                           status=CampaignStatus.ACTIVE, destination_url="https://shop.example.com/")
        old, recent = (TrackedLink.objects.create(organization=org, campaign=campaign, code=f"Wk{n}000000",
                                                  ambassador=AmbassadorFactory(organization=org)) for n in (1, 2))
        for n in range(5):
            visitor = new_visitor_id()
            for link, days in ((old, 20), (recent, 1)):
                at = now - timedelta(days=days, hours=n)
                Click.objects.create(organization=org, click_id=new_click_id(), link=link, campaign_id=campaign.pk,
                                     ambassador_id=link.ambassador_id, clicked_at=at, day=at.date(),
                                     visitor_id=visitor, ip_hash="x" * 32, channel="direct")
            record_lead(org, visitor_id=visitor, customer_external_id=f"cus_{n}", occurred_at=now - timedelta(hours=n))
    worker = start_worker(broker)

    def linear_shares():
        with tenant_scope(org):
            return dict(reporting_credits(org.pk, "linear").filter(ambassador_id=old.ambassador_id)
                        .values_list("model").annotate(total=models.Sum("lead_share")))

    worker.send(attribute_pending, org.pk)
    with tenant_scope(org):
        worker.wait_until(lambda: not Customer.objects.filter(attributed_at__isnull=True).exists(),
                          "every lead attributed")
    assert linear_shares() == {"linear": Decimal("2.5000")}

    version = change_settings(org.pk, window_days=7).settings.pending_version
    worker.send(recompute_attribution, org.pk, version)
    worker.wait_until(lambda: settings_for(org.pk).version == version, "the recompute to finish")
    assert linear_shares() == {}  # the 20-day-old clicks are outside the new 7-day window
    with tenant_scope(org):
        assert reporting_credits(org.pk, "linear").filter(ambassador_id=recent.ambassador_id).count() == 5
        assert Credit.objects.filter(version=version).exists()
    assert worker.log().count(f"Task {recompute_attribution.name}[") >= 3 * 2  # 3 chunks: received + succeeded
