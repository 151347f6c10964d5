"""Drill: a burst of clicks on one link (a post that takes off) against a real gunicorn.

20,000 GET /l/<code> over loopback from 32 concurrent keep-alive connections to gunicorn on
the test database, with the production capture (the spool, drained by each worker's thread
while the burst runs). Then the server stops gracefully (its spools drain at exit), any
spool left is drained, and the click processing service runs until no raw click remains.

It proves, with figures printed (requests, errors, clicks, duplicates, requests/s):

* every request got its 302 (0 errors, 0 other statuses), each with a click id of its own;
* exactly one Click row per answered click id: none lost, none counted twice, no raw click or
  spool file left over;
* the daily rollups add up to the burst (total and creditable clicks, both rollup tables).

The server runs gthread workers (2 processes x 16 threads) so the 32 connections stay open
(keep-alive) and many request threads append to one process's spool at once, next to its
drain thread. (The Procfile's sync workers close the connection after each answer; they pass
the drill too, at ~800 requests/s instead of ~1,900 here.) The client is a small asyncio one
in one thread: 32 Python threads with http.client spent their time on the GIL (~500/s).
The same 20,000 run on SQLite (about 20 s). The redirect's per-address rate limit is off for
the server: all requests come from one address (loopback is exempt by default anyway)."""

import asyncio
import concurrent.futures
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum
from django_scopes import scopes_disabled

from campaigns.linkcache import link_cache
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory, LinkFactory
from tests.support.subprocesses import subprocess_database_url
from tracking import capture
from tracking.models import Click, DailyAmbassadorClicks, DailyClickRollup, RawClick
from tracking.services import click_processing

ROOT = Path(__file__).resolve().parents[2]
BURST = 20_000
CONNECTIONS = 32
WORKERS = 2  # one per CPU of the CI machine, as in the Procfile
THREADS = 16  # gthread: keep-alive connections, and request threads appending to one spool at once
BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/124.0 Safari/537.36")

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def start_gunicorn(tmp_path, spool_dir):
    log_path = tmp_path / "gunicorn.log"
    env = {**os.environ, "DATABASE_URL": subprocess_database_url(), "DEBUG": "0",
           "SECRET_KEY": settings.SECRET_KEY,
           "CLICK_CAPTURE": "spool", "CLICK_SPOOL_DIR": str(spool_dir), "CLICK_SPOOL_DRAIN_THREAD": "1",
           "VAR_DIR": str(tmp_path / "var"), "ALLOWED_HOSTS": "127.0.0.1", "PLATFORM_HOSTS": "127.0.0.1",
           "RATELIMIT_REDIRECT": "", "LOG_LEVEL": "WARNING"}
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):  # link cache in process, broker on files: self-contained
        env.pop(name, None)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", "127.0.0.1:0",
             "--workers", str(WORKERS), "--worker-class", "gthread", "--threads", str(THREADS),
             "--log-level", "info", "--backlog", "256", "--graceful-timeout", "30"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        for line in log_path.read_text(errors="replace").splitlines():
            if "Listening at: http://127.0.0.1:" in line:
                return proc, int(line.rsplit(":", 1)[1].split()[0]), log_path
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    pytest.fail("gunicorn did not start:\n" + log_path.read_text(errors="replace"))


def stop_gunicorn(proc):
    """SIGTERM: workers finish their requests and drain their spools at exit."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


async def _fire_async(port, path, total, connections):
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {BROWSER}\r\n\r\n").encode()
    ids, errors = [], []
    remaining = [total]

    async def worker():
        reader = writer = None
        while remaining[0] > 0:
            remaining[0] -= 1
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split()[1])
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, _, value = line.partition(":")
                        headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                if length:
                    await reader.readexactly(length)
                if status != 302:
                    errors.append(f"status {status}")
                else:
                    ids.append(parse_qs(urlsplit(headers["location"]).query)["amb_cid"][0])
                if headers.get("connection", "").lower() == "close":
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                errors.append(repr(error))
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return ids, errors, time.perf_counter() - started


def fire(port, path, total, connections):
    # In a thread of its own: the session's Playwright browser (tests/browser/conftest.py)
    # leaves this thread's event loop running, and asyncio.run() refuses to nest in it.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _fire_async(port, path, total, connections)).result()


def test_burst_of_clicks_on_one_link_answers_all_and_counts_each_once(org, tmp_path):
    campaign = CampaignFactory(organization=org)
    link = LinkFactory(organization=org, campaign=campaign)
    link_cache.clear()
    total = BURST
    spool_dir = tmp_path / "spool"
    proc, port, log_path = start_gunicorn(tmp_path, spool_dir)
    try:
        warm_ids, warm_errors, _ = fire(port, f"/l/{link.code}", WORKERS * 4, WORKERS * 4)  # imports, link cache
        assert warm_errors == [], (warm_errors[:5], log_path.read_text(errors="replace")[-3000:])
        answered, errors, seconds = fire(port, f"/l/{link.code}", total, CONNECTIONS)
    finally:
        stop_gunicorn(proc)
    started = time.perf_counter()
    capture.drain_orphans(spool_dir)  # whatever a worker could not drain at exit
    with tenant_scope(org):
        while click_processing.process_pending(org.pk).more:
            pass
    processing_seconds = time.perf_counter() - started

    expected = set(answered) | set(warm_ids)
    with scopes_disabled():
        clicks = Click.objects.filter(organization=org).count()
        distinct = Click.objects.filter(organization=org).aggregate(n=Count("click_id", distinct=True))["n"]
        recorded = set(Click.objects.filter(organization=org).values_list("click_id", flat=True))
        raw_left = RawClick.objects.count()
        rollup = DailyClickRollup.objects.filter(organization=org).aggregate(total=Sum("total"), clicks=Sum("clicks"),
                                                                            unique=Sum("unique_clicks"))
        per_ambassador = DailyAmbassadorClicks.objects.filter(organization=org).aggregate(total=Sum("total"))["total"]
    figures = (f"DRILL load: requests={total} errors={len(errors)} answered={len(answered)} "
               f"clicks={clicks - len(warm_ids)} (+{len(warm_ids)} warm-up) duplicates={clicks - distinct} "
               f"lost={len(expected - recorded)} rollup_total={rollup['total']} rollup_clicks={rollup['clicks']} "
               f"rollup_unique={rollup['unique']} requests_per_s={total / seconds:.0f} burst_s={seconds:.1f} "
               f"drain_and_process_s={processing_seconds:.1f} connections={CONNECTIONS} workers={WORKERS}x{THREADS} "
               f"db={connection.vendor}")
    print(figures)
    assert errors == [], f"{figures}\nfirst errors: {errors[:5]}\n{log_path.read_text(errors='replace')[-3000:]}"
    assert len(answered) == total and len(set(answered)) == total, figures  # a click id of its own each
    assert recorded == expected and clicks == distinct == len(expected), figures
    assert raw_left == 0 and list(spool_dir.glob("*.spool")) == [], figures
    assert rollup["total"] == rollup["clicks"] == per_ambassador == len(expected), figures
