"""bench/notify: a campaign published to 10,000 ambassadors, its e-mails delivered by ONE Celery
worker process through a local SMTP server; seconds from the publish to the last e-mail received.

A fresh PostgreSQL database (BENCH_DATABASE_URL, default bench_notify on 127.0.0.1, dropped and
recreated; --sqlite for the embedded mode's file database) gets one organisation, N active
ambassadors and a draft campaign with suggested posts. An aiosmtpd server in this process counts
what arrives per recipient. One real worker (`celery -A config worker --pool solo`, started here)
consumes the project's default embedded broker (kombu's file-system transport under a temporary
VAR_DIR; --redis URL for a Redis broker). The clock starts when the campaign is published through
campaigns.services (status → active, in a transaction: the announcement goes to the outbox and a
task is queued after the commit) and stops at the last e-mail's arrival; the worker does
everything in between: the outbox event, the fan-out (one Delivery row per ambassador), the
sending (batches of NOTIFY_BATCH_SIZE over one SMTP connection each, every e-mail rendered with
its share buttons and marked sent as soon as the server accepted it).

Baseline, same run, same server: raw smtplib sending prebuilt messages of the same size over one
connection (the ceiling of one sender on this SMTP server). Checks: every ambassador got exactly
one e-mail (duplicates, missing) and every Delivery row is sent.
Last line: RESULT notify ambassadors=… seconds=… per_s=… duplicates=… missing=… target=met|missed"""

import argparse
import contextlib
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, recreate_database, setup_django  # noqa: E402 - the benches' shared helper

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_notify"
TARGET = 200  # e-mails per second
TIMEOUT = 900  # seconds for every e-mail to arrive
BASELINE_MESSAGES = 2000
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)


class Inbox:
    """aiosmtpd handler: counts arrivals per recipient (and Message-ID) and when the last came."""

    def __init__(self):
        self.lock = threading.Lock()
        self.per_recipient: Counter = Counter()
        self.message_ids: Counter = Counter()
        self.total = 0
        self.last_arrival = 0.0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        found = MESSAGE_ID.search(envelope.original_content or b"")
        with self.lock:
            for recipient in envelope.rcpt_tos:
                self.per_recipient[recipient.lower()] += 1
            if found:
                self.message_ids[found.group(1)] += 1
            self.total += 1
            self.last_arrival = time.perf_counter()
        return "250 Message accepted for delivery"

    def reset(self):
        with self.lock:
            self.per_recipient.clear()
            self.message_ids.clear()
            self.total, self.last_arrival = 0, 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed(count: int):
    """One organisation, `count` active ambassadors, a draft campaign with a post per network."""
    from ambassadors.models import Ambassador
    from campaigns.models import Campaign, CampaignMessage, CampaignStatus
    from tenancy.models import Organization
    from tenancy.scoping import tenant_scope

    org = Organization.objects.create(name="Bench Corp", slug="bench-corp", time_zone="Europe/Paris")
    with tenant_scope(org):
        Ambassador.objects.bulk_create(
            [Ambassador(organization=org, email=f"ambassador{n}@bench.example.com", display_name=f"Ambassador {n}",
                        status="active") for n in range(count)], batch_size=5000)
        campaign = Campaign.objects.create(
            organization=org, name="Spring launch", slug="spring-launch", status=CampaignStatus.DRAFT,
            destination_url="https://shop.example.com/spring", description="Our spring collection is out: "
            "tell your network.")
        for channel, text in (("linkedin", "Our spring collection is out, and it is good: {link}"),
                              ("linkedin", "Spring is here, and so is our new collection: {link}"),
                              ("x", "Spring collection out now {link}"),
                              ("email", "Hi! Have a look at this: {link}")):
            CampaignMessage.objects.create(organization=org, campaign=campaign, channel=channel, text=text)
    return org, campaign


def baseline(port: int, inbox: Inbox, size: int) -> float:
    """Raw smtplib over one connection: prebuilt messages of `size` bytes; messages per second."""
    body = (b"x" * 76 + b"\r\n") * max(0, (size - 200) // 78)  # lines of a realistic length
    messages = [(f"baseline{n}@bench.example.com",
                 b"From: bench@example.com\r\nTo: baseline%d@bench.example.com\r\nSubject: baseline\r\n"
                 b"Message-ID: <baseline.%d@bench>\r\n\r\n" % (n, n) + body) for n in range(BASELINE_MESSAGES)]
    with smtplib.SMTP("127.0.0.1", port) as client:
        started = time.perf_counter()
        for recipient, message in messages:
            client.sendmail("bench@example.com", [recipient], message)
        seconds = time.perf_counter() - started
    inbox.reset()
    return BASELINE_MESSAGES / seconds


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
    while f"{queue}@" not in log_path.read_text(errors="replace") or " ready." not in log_path.read_text(
            errors="replace"):
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ambassadors", type=int, default=10_000)
    parser.add_argument("--sqlite", action="store_true", help="the embedded mode's SQLite file database")
    parser.add_argument("--redis", default="", help="a Redis URL for the broker (default: the embedded one)")
    args = parser.parse_args()
    count = args.ambassadors

    var_dir = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    workdir = var_dir / "celery"
    workdir.mkdir(parents=True)
    url = f"sqlite:///{var_dir / 'bench.sqlite3'}" if args.sqlite else os.environ.get("BENCH_DATABASE_URL",
                                                                                       DEFAULT_URL)
    if not args.sqlite:
        recreate_database(url)

    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, data_size_limit=None)
    controller.start()
    queue = f"bench-notify-{os.getpid()}"
    environment = {"VAR_DIR": str(var_dir), "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port),
                   "EMAIL_USE_TLS": "0", "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": "", "CELERY_QUEUE": queue,
                   "SITE_URL": "https://ambassadors.example.com", "LOG_LEVEL": "WARNING"}
    if args.redis:
        environment["CELERY_BROKER_URL"] = args.redis
    setup_django(url, **environment)
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scopes_disabled

    from campaigns.models import CampaignStatus
    from campaigns.services.campaigns import update_campaign
    from notifications.models import Delivery, DeliveryStatus
    from tenancy.scoping import tenant_scope

    try:
        call_command("migrate", verbosity=0, interactive=False)
        started = time.perf_counter()
        org, campaign = seed(count)
        print(f"database {connection.vendor} ({url.rsplit('@', 1)[-1]}); broker "
              f"{args.redis or 'embedded (file system)'}; seeded {count:,} ambassadors in "
              f"{time.perf_counter() - started:.1f} s")

        worker_env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "PYTHONUNBUFFERED": "1",
                      "LOG_LEVEL": "INFO", "DJANGO_SETTINGS_MODULE": "config.settings",
                      "PYTHONPATH": str(ROOT)}
        worker, log_path = start_worker(worker_env, workdir, queue)
        try:
            # The ceiling: one raw smtplib sender on this server (after the worker is up, so the
            # two measurements see the same machine load).
            sample_size = 5500  # bytes: about one campaign e-mail with its HTML part
            raw_rate = baseline(port, inbox, sample_size)

            published = time.perf_counter()
            with tenant_scope(org):
                update_campaign(campaign, status=CampaignStatus.ACTIVE)
            publish_seconds = time.perf_counter() - published
            deadline = time.monotonic() + TIMEOUT
            while len(inbox.per_recipient) < count:
                if worker.poll() is not None:
                    sys.exit(f"the worker died:\n{log_path.read_text(errors='replace')[-5000:]}")
                if time.monotonic() > deadline:
                    print(f"timed out with {len(inbox.per_recipient):,} of {count:,} e-mails")
                    break
                time.sleep(0.05)
            seconds = inbox.last_arrival - published if inbox.last_arrival else float("inf")
            time.sleep(2.0)  # anything arriving late (a duplicate) is counted too
            with scopes_disabled():
                statuses = Counter(Delivery.objects.values_list("status", flat=True))
        finally:
            stop_worker(worker)
        log = log_path.read_text(errors="replace")
    finally:
        controller.stop()

    expected = {f"ambassador{n}@bench.example.com" for n in range(count)}
    duplicates = sum(n - 1 for n in inbox.per_recipient.values() if n > 1)
    missing = len(expected - set(inbox.per_recipient))
    strangers = len(set(inbox.per_recipient) - expected)
    rate = count / seconds if seconds and missing == 0 else (count - missing) / seconds if seconds else 0.0
    runs = re.findall(r"Notifications: claimed=(\d+) sent=(\d+)", log)
    print(f"publish request: {publish_seconds * 1000:.0f} ms (transaction + outbox + queueing)")
    print(f"worker: {len(runs)} send runs; rows {dict(statuses)}; e-mails received {inbox.total:,} "
          f"(distinct recipients {len(inbox.per_recipient):,}, distinct Message-IDs {len(inbox.message_ids):,})")
    print(f"publish → last e-mail: {seconds:.2f} s = {rate:.0f} e-mails/s (target {TARGET}); "
          f"raw smtplib baseline {raw_rate:.0f} messages/s on one connection, so the whole pipeline runs at "
          f"{rate / raw_rate:.2f}× the bare SMTP ceiling")
    ok = duplicates == 0 and missing == 0 and strangers == 0 and statuses.get(DeliveryStatus.SENT, 0) == count
    met = ok and rate >= TARGET
    print(f"RESULT notify ambassadors={count} seconds={seconds:.2f} per_s={rate:.0f} duplicates={duplicates} "
          f"missing={missing} target={'met' if met else 'missed'}")
    shutil.rmtree(var_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
