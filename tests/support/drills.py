"""The reliability drills' shared parts (a plugin of tests/conftest.py: the `redis_server` fixture).

A Redis of the test's own, to kill (SIGKILL: what it held dies with it) or hang (SIGSTOP:
connections accepted, nothing answered, as behind a network partition); polling until a
condition holds while a worker catches up; and what the drills check afterwards: the raw and
processed clicks, and the click rollups (DailyClickRollup, DailyAmbassadorClicks) against a
recount from the Click rows.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest
from django_scopes import scopes_disabled

from tenancy.scoping import tenant_scope
from tests.support.services import need_service
from tests.support.workers import Worker
from tracking.models import Click, DailyAmbassadorClicks, DailyClickRollup, RawClick

REDIS_SERVER = shutil.which("redis-server")
START_TIMEOUT = 30  # seconds for redis-server to answer
CATCH_UP_TIMEOUT = 120  # seconds for the worker to process the backlog
DISPATCH_EVERY = 2.0  # seconds between beat-style dispatches while waiting
POLL = 0.05


# --- A Redis of the test's own ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """`redis-server` on 127.0.0.1, in its own process group, no persistence: killed, it forgets
    everything (queued messages included), as a broker that crashed and lost its memory would."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def answers(self) -> bool:
        import redis

        try:
            client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except (redis.RedisError, OSError):
            return False

    def start(self) -> "RedisServer":
        """Start it; on the same port as before when restarted (the app and workers know that URL)."""
        need_service("redis-server", REDIS_SERVER is not None, "no redis-server binary on PATH")
        self.directory.mkdir(parents=True, exist_ok=True)
        same_port = self.port is not None
        for _ in range(5):
            if not same_port:
                self.port = free_port()
            self.starts += 1
            with (self.directory / "redis.log").open("ab") as log_file:
                self.process = subprocess.Popen(
                    [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", str(self.directory), "--protected-mode", "no"],
                    cwd=self.directory, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                    start_new_session=True)
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and self.process.poll() is None:
                if self.answers():
                    return self
                time.sleep(POLL)
            self.kill()  # exited (port taken meanwhile?) or never answered
            if same_port:
                time.sleep(0.5)
        pytest.fail(f"redis-server did not start on port {self.port}:\n{self.log()}", pytrace=False)

    def pause(self) -> None:
        """SIGSTOP: it still accepts connections (the kernel does) but never answers, like a
        server behind a network partition or stuck; `resume()` lets it carry on."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, no goodbye; returns once it's gone and its port refuses connections."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis")
    try:
        yield server
    finally:
        server.kill()


# --- Counting and waiting -------------------------------------------------------------------------------------------


def raw_ids() -> list[str]:
    with scopes_disabled():
        return list(RawClick.objects.values_list("click_id", flat=True))


def raw_count() -> int:
    with scopes_disabled():
        return RawClick.objects.count()


def click_ids() -> list[str]:
    with scopes_disabled():
        return list(Click.objects.values_list("click_id", flat=True))


def click_count() -> int:
    with scopes_disabled():
        return Click.objects.count()


COUNTS = ("total", "clicks", "unique_clicks", "bot_clicks", "self_clicks")


def stored_rollups(organization) -> tuple[dict, dict]:
    """(campaign, ambassador, channel, day) → counts, and (ambassador, day) → counts, zero rows left out."""
    with tenant_scope(organization):
        detailed = {tuple(row[:4]): tuple(row[4:]) for row in DailyClickRollup.objects.values_list(
            "campaign_id", "ambassador_id", "channel", "day", *COUNTS) if any(row[4:])}
        per_ambassador = {tuple(row[:2]): tuple(row[2:]) for row in DailyAmbassadorClicks.objects.values_list(
            "ambassador_id", "day", *COUNTS) if any(row[2:])}
    return detailed, per_ambassador


def recounted_rollups(organization) -> tuple[dict, dict]:
    """The same two, recounted from the Click rows alone."""
    detailed = defaultdict(lambda: [0] * len(COUNTS))
    per_ambassador = defaultdict(lambda: [0] * len(COUNTS))
    with tenant_scope(organization):
        rows = Click.objects.values_list("campaign_id", "ambassador_id", "channel", "day", "is_bot", "is_self",
                                         "is_unique")
        for campaign_id, ambassador_id, channel, day, is_bot, is_self, is_unique in rows:
            credited = not is_bot and not is_self
            counts = (1, int(credited), int(credited and is_unique), int(is_bot), int(is_self and not is_bot))
            for key, target in (((campaign_id, ambassador_id, channel, day), detailed),
                                ((ambassador_id, day), per_ambassador)):
                for index, count in enumerate(counts):
                    target[key][index] += count
    return ({key: tuple(value) for key, value in detailed.items() if any(value)},
            {key: tuple(value) for key, value in per_ambassador.items() if any(value)})


def differences(stored: dict, recount: dict) -> str:
    keys = sorted((key for key in stored.keys() | recount.keys() if stored.get(key) != recount.get(key)), key=str)
    return (f"{len(keys)} keys differ (stored vs recount {COUNTS}), e.g. "
            + "; ".join(f"{key}: {stored.get(key)} vs {recount.get(key)}" for key in keys[:10]))


def assert_rollups_equal_a_recount(organization, label: str) -> int:
    """DailyClickRollup and DailyAmbassadorClicks == a recount from the Click rows; their total."""
    stored, stored_per_ambassador = stored_rollups(organization)
    recount, recount_per_ambassador = recounted_rollups(organization)
    total = sum(counts[0] for counts in stored.values())
    assert stored == recount, f"{label}: DailyClickRollup: {differences(stored, recount)}"
    assert stored_per_ambassador == recount_per_ambassador, (
        f"{label}: DailyAmbassadorClicks: {differences(stored_per_ambassador, recount_per_ambassador)}")
    return total


def wait_for(condition, what: str, timeout: float, worker: Worker | None = None, every=None) -> float:
    """Poll `condition` until true (calling `every()` each DISPATCH_EVERY seconds meanwhile);
    the seconds it took. Fails with `what` (and the worker's log) on timeout."""
    started = time.monotonic()
    next_call = started
    while True:
        if every is not None and time.monotonic() >= next_call:
            every()
            next_call = time.monotonic() + DISPATCH_EVERY
        if condition():
            return time.monotonic() - started
        if worker is not None:
            worker._check_alive()
        if time.monotonic() - started > timeout:
            log = f"\n--- worker log ---\n{worker.log()}" if worker is not None else ""
            pytest.fail(f"Timed out after {timeout} s waiting for {what}.{log}", pytrace=False)
        time.sleep(POLL)

