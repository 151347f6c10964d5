"""bench/webhooks: 10,000 domain events delivered as signed webhooks to a local receiver by ONE
Celery worker process; then the same with the receiver down for the first 60 s.

A fresh PostgreSQL database (BENCH_DATABASE_URL, default bench_webhooks on 127.0.0.1, dropped and
recreated; --sqlite for the embedded mode's file database) gets one organisation per run, each
with one webhook endpoint subscribed to `sale.created`. The receiver is a threaded HTTP/1.1
server in this process (tests/integrations/receiver.py) counting the 2xx answers it gave per
`webhook-id`. One real worker (`celery -A config worker --pool solo`, started here) consumes the
broker production runs on (Redis, --redis URL, default redis://127.0.0.1:6379/14), or with
--filesystem-broker the embedded mode's (kombu's file-system transport under a temporary VAR_DIR,
slower per message: a file per task). This process publishes the events through
common.events.publish in transactions of 100
(a burst of sales: each is an outbox event and a queued task after its commit) and, like celery
beat, sends the outbox sweep and the webhook sweep (integrations.tasks.deliver_due) every 5 s.
The worker does the rest: each outbox event's fan-out (a message and a delivery), the sending
(signed, through the SSRF guard: 127.0.0.1 is allowed by WEBHOOK_ALLOWED_HOSTS here), the log.

Run 1 (throughput): the clock runs from the first publish to the last delivery received.
Run 2 (outage): the receiver's port is closed for the first --outage seconds: the first attempt
fails, the endpoint is paused for its retries (5 s, then 5 min: the production schedule unless
--retry-schedule), and once the receiver is back every event must arrive. The clock runs to the
last delivery, so it includes the wait for the retry.

Checks, per run: lost = events whose webhook-id the receiver never answered 2xx to; every
message's id delivered at least once; and "recorded once": exactly one successful attempt in the
delivery log per message (duplicates are reported). Baseline, same run: raw urllib3 POSTs of
a body of the same size over one keep-alive connection (the ceiling of one sender on this
receiver). Last line: RESULT webhooks events=… seconds=… per_s=… lost=… outage_lost=… target=met|missed"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, recreate_database, setup_django  # noqa: E402 - the benches' shared helper

sys.path.insert(0, str(ROOT))
from tests.integrations.receiver import WebhookReceiver, free_port  # noqa: E402 - the receiver the tests use

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_webhooks"
TARGET = 200  # deliveries per second
TIMEOUT = 900  # seconds for every event to arrive, per run
BEAT_EVERY = 5.0  # seconds, as config/settings.py's beat schedule
PUBLISH_BATCH = 100
BASELINE_REQUESTS = 2000


def start_worker(env: dict, workdir: Path, queue: str) -> tuple[subprocess.Popen, Path]:
    log_path = workdir / "worker.log"
    celery = Path(sys.executable).parent / "celery"
    command = [str(celery) if celery.exists() else sys.executable, *([] if celery.exists() else ["-m", "celery"]),
               "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO", "--without-heartbeat",
               "--without-gossip", "--without-mingle", "--queues", queue, "--hostname", f"{queue}@%h"]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while " ready." not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the worker did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.1)
    return process, log_path


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


def seed(name: str, url: str):
    from integrations.models import WebhookEndpoint
    from integrations.signing import new_secret
    from tenancy.models import Organization
    from tenancy.scoping import tenant_scope

    org = Organization.objects.create(name=name, slug=name.lower().replace(" ", "-"))
    with tenant_scope(org):
        endpoint = WebhookEndpoint.objects.create(organization=org, url=url, events=["sale.created"],
                                                  secret=new_secret())
    return org, endpoint


def publish_sales(org, count: int, tag: str) -> None:
    from django.db import transaction

    from common.events import publish

    for start in range(0, count, PUBLISH_BATCH):
        with transaction.atomic():
            for number in range(start, min(start + PUBLISH_BATCH, count)):
                publish("sale.created", organization_id=org.pk, cause=f"{tag}-{number}",
                        data={"sale_id": f"sal_{tag}_{number:06d}", "invoice_id": f"INV-{number:06d}",
                              "amount": "129.00", "currency": "EUR", "customer_id": f"cus_{number:06d}",
                              "ambassadors": [{"ambassador_id": "amb_7f3c2a", "share": "1.0"}],
                              "occurred_at": "2026-12-06T12:00:00Z"})


def beat(send) -> None:
    """What celery beat sends every few seconds (config/settings.py)."""
    send("common.tasks.sweep_outbox")
    send("integrations.tasks.deliver_due")


def baseline(receiver: WebhookReceiver, size: int) -> float:
    """Raw urllib3 POSTs of `size` bytes over one keep-alive connection: requests per second."""
    import urllib3

    body = b'{"type":"sale.created","data":"' + b"x" * max(0, size - 40) + b'"}'
    pool = urllib3.HTTPConnectionPool("127.0.0.1", receiver.port, maxsize=1)
    headers = {"Content-Type": "application/json", "webhook-id": "msg_baseline", "webhook-timestamp": "1",
               "webhook-signature": "v1,baseline"}
    started = time.perf_counter()
    for _ in range(BASELINE_REQUESTS):
        pool.urlopen("POST", "/baseline", body=body, headers=headers, retries=False).data  # noqa: B018 - read it
    return BASELINE_REQUESTS / (time.perf_counter() - started)


def wait_until_delivered(org, receiver_ref, count: int, worker, log_path, send) -> float | None:
    """Until every message of `org` got a 2xx (beat ticks meanwhile); the moment of the last
    arrival (perf_counter), or None on timeout."""
    from django_scopes import scopes_disabled

    from integrations.models import WebhookMessage

    deadline = time.monotonic() + TIMEOUT
    next_beat = time.monotonic()
    while True:
        receiver = receiver_ref()
        if time.monotonic() >= next_beat:
            beat(send)
            next_beat = time.monotonic() + BEAT_EVERY
        if receiver is not None and len(receiver.per_id) >= count:
            with scopes_disabled():
                ids = set(WebhookMessage.objects.filter(organization=org).values_list("msg_id", flat=True))
            if len(ids) >= count and ids <= set(receiver.per_id):
                return receiver.last_at
        if worker.poll() is not None:
            sys.exit(f"the worker died:\n{log_path.read_text(errors='replace')[-5000:]}")
        if time.monotonic() > deadline:
            print(f"timed out with {len(receiver.per_id) if receiver else 0:,} of {count:,} delivered")
            return None
        time.sleep(0.05)


def check(org, receiver: WebhookReceiver | None, count: int) -> dict:
    from django.db.models import Q
    from django_scopes import scopes_disabled

    from integrations.models import DeliveryAttempt, WebhookDelivery, WebhookMessage

    with scopes_disabled():
        ids = set(WebhookMessage.objects.filter(organization=org).values_list("msg_id", flat=True))
        statuses = Counter(WebhookDelivery.objects.filter(organization=org).values_list("status", flat=True))
        logged = Counter(DeliveryAttempt.objects.filter(organization=org, response_status__gte=200,
                                                        response_status__lt=300)
                         .values_list("delivery__message__msg_id", flat=True))
        failures = DeliveryAttempt.objects.filter(organization=org).exclude(
            Q(response_status__gte=200, response_status__lt=300)).count()
        retried = WebhookDelivery.objects.filter(organization=org, attempts__gt=1).count()
    received = receiver.per_id if receiver else Counter()
    delivered = ids & set(received)
    return {
        "messages": len(ids),
        "lost": count - len(delivered),  # events with no message, or whose message never got a 2xx
        "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "logged_once": sum(1 for msg_id in ids if logged[msg_id] == 1),
        "logged_twice": sum(1 for n in logged.values() if n > 1),
        "failed_attempts": failures,
        "retried_deliveries": retried,
        "statuses": dict(statuses),
    }


def task_times(log_path: Path) -> str:
    """Where the worker's time went: tasks run and their seconds, per task name (its INFO log)."""
    import re

    runs, seconds, sent = Counter(), Counter(), 0
    for name, took, result in re.findall(r"Task ([\w.]+)\[[^\]]+\] succeeded in ([0-9.e-]+)s: (\S+)",
                                         log_path.read_text(errors="replace")):
        runs[name] += 1
        seconds[name] += float(took)
        if name.startswith("integrations.tasks.deliver_due") and result.isdigit():
            sent += int(result)
    engine_seconds = sum(took for name, took in seconds.items() if name.startswith("integrations.tasks.deliver_due"))
    summary = "; ".join(f"{name.rsplit('.', 1)[-1]} {runs[name]:,}× {seconds[name]:.1f} s" for name in sorted(runs))
    if engine_seconds:
        summary += (f" — the delivery engine alone: {sent:,} deliveries in {engine_seconds:.1f} s of its tasks = "
                    f"{sent / engine_seconds:.0f}/s")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the receiver is down in run 2")
    parser.add_argument("--retry-schedule", default="", help="WEBHOOK_RETRY_SCHEDULE for the worker "
                        "(default: production's 5,300,1800,…)")
    parser.add_argument("--sqlite", action="store_true", help="the embedded mode's SQLite file database")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
                        help="the broker, as production runs it: a Redis URL (default redis://127.0.0.1:6379/14 or "
                             "BENCH_REDIS_URL)")
    parser.add_argument("--filesystem-broker", action="store_true",
                        help="the embedded mode's file-system broker instead of Redis")
    args = parser.parse_args()
    if args.filesystem_broker:
        args.redis = ""
    count = args.events

    var_dir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    workdir = var_dir / "celery"
    workdir.mkdir(parents=True)
    url = f"sqlite:///{var_dir / 'bench.sqlite3'}" if args.sqlite else os.environ.get("BENCH_DATABASE_URL",
                                                                                       DEFAULT_URL)
    if not args.sqlite:
        recreate_database(url)
    queue = f"bench-webhooks-{os.getpid()}"
    environment = {"VAR_DIR": str(var_dir), "CELERY_QUEUE": queue, "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
                   "SITE_URL": "https://ambassadors.example.com", "LOG_LEVEL": "WARNING"}
    if args.retry_schedule:
        environment["WEBHOOK_RETRY_SCHEDULE"] = args.retry_schedule
    if args.redis:
        environment["CELERY_BROKER_URL"] = args.redis
    setup_django(url, **environment)
    from celery import current_app
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)

    def send(task_name: str) -> None:
        current_app.send_task(task_name)

    steady = WebhookReceiver(keep_bodies=False).start()
    outage_port = free_port()
    late: list[WebhookReceiver] = []
    worker_env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO",
                  "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(ROOT)}
    worker, log_path = start_worker(worker_env, workdir, queue)
    try:
        raw_rate = baseline(steady, 420)  # about the size of a sale.created envelope
        steady.per_id.clear()
        print(f"database {connection.vendor} ({url.rsplit('@', 1)[-1]}); broker "
              f"{args.redis or 'embedded (file system)'}; one worker (solo); retry schedule "
              f"{','.join(map(str, settings.WEBHOOK_RETRY_SCHEDULE))} s")

        # Run 1: throughput.
        org, _ = seed("Bench Steady", steady.url())
        started = time.perf_counter()
        publish_sales(org, count, "steady")
        publish_seconds = time.perf_counter() - started
        last = wait_until_delivered(org, lambda: steady, count, worker, log_path, send)
        seconds = (last - started) if last else float("inf")
        time.sleep(2.0)  # late duplicates are counted too
        first = check(org, steady, count)
        rate = count / seconds if last else 0.0
        print(f"run 1: published {count:,} events in {publish_seconds:.1f} s; last delivery after {seconds:.2f} s "
              f"= {rate:.0f} deliveries/s (target {TARGET}); raw urllib3 baseline {raw_rate:.0f} requests/s on one "
              f"connection, so the pipeline runs at {rate / raw_rate:.2f}× the bare HTTP ceiling")
        print(f"run 1: {first}")

        # Run 2: the receiver down for the first `outage` seconds.
        org2, _ = seed("Bench Outage", f"http://127.0.0.1:{outage_port}/hook")
        started2 = time.perf_counter()
        publish_sales(org2, count, "outage")

        def outage_receiver():
            if not late and time.perf_counter() - started2 >= args.outage:
                late.append(WebhookReceiver(outage_port, keep_bodies=False).start())
                print(f"run 2: receiver up after {time.perf_counter() - started2:.1f} s")
            return late[0] if late else None

        last2 = wait_until_delivered(org2, outage_receiver, count, worker, log_path, send)
        seconds2 = (last2 - started2) if last2 else float("inf")
        time.sleep(2.0)
        second = check(org2, late[0] if late else None, count)
        print(f"run 2: every event delivered {seconds2:.1f} s after the first publish (receiver down "
              f"{args.outage:.0f} s; the endpoint paused for its retries meanwhile)")
        print(f"run 2: {second}")
    finally:
        stop_worker(worker)
        print(f"worker: {task_times(log_path)}")
        steady.stop()
        for receiver in late:
            receiver.stop()

    lost, outage_lost = first["lost"], second["lost"]
    recorded_once = first["logged_once"] == count and second["logged_once"] == count
    met = lost == 0 and outage_lost == 0 and recorded_once and rate >= TARGET
    print(f"recorded once in the log: run 1 {first['logged_once']:,}/{count:,}, run 2 {second['logged_once']:,}/"
          f"{count:,}; duplicates received: run 1 {first['duplicates']}, run 2 {second['duplicates']}")
    print(f"RESULT webhooks events={count} seconds={seconds:.2f} per_s={rate:.0f} lost={lost} "
          f"outage_lost={outage_lost} target={'met' if met else 'missed'}")
    shutil.rmtree(var_dir, ignore_errors=True)
    return 0 if lost == 0 and outage_lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
