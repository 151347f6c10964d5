"""Real Celery workers, started as subprocesses against the test database (a plugin of
tests/conftest.py: the `start_worker` fixture).

Each worker consumes only a queue of its own (`it-<random>`), so a stray worker of someone else
on the same Redis never steals our task and ours never steals theirs; `Worker.send` publishes
on an explicit connection to the worker's broker, whatever broker the settings chose when this
process loaded them. Each runs in a process group of its own, so a drill can SIGKILL it, and
whatever is left of it is killed after the test. The tests that use it are transactional, so
what they write is committed and the worker, a separate process, sees it.
"""

import contextlib
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

from config.celery import app
from tests.support.services import redis_url
from tests.support.subprocesses import subprocess_database_url

STARTUP_TIMEOUT = 60  # seconds for the worker to say "ready"
TASK_TIMEOUT = 60  # seconds for a task to be done once sent
STOP_TIMEOUT = 20  # seconds of warm shutdown before the worker is killed
POLL = 0.1


# --- Where the worker finds the broker ------------------------------------------------------------


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


def stop_process_group(process: subprocess.Popen, *, warm: bool = True, timeout: float = STOP_TIMEOUT) -> None:
    """Warm shutdown (SIGTERM) if asked, then SIGKILL the whole group if anything is left."""
    if process.poll() is None and warm:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # also any child the leader left behind
    process.wait(timeout=timeout)


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
        """Warm shutdown (SIGTERM), killed after STOP_TIMEOUT, and its process group with it."""
        stop_process_group(self.process, warm=self.process.poll() is None)


def celery_command() -> list[str]:
    script = Path(sys.executable).parent / "celery"
    return [str(script)] if script.exists() else [sys.executable, "-m", "celery"]


@pytest.fixture
def start_worker(tmp_path):
    """`start_worker(broker, **env)`: a running `celery -A config worker --pool solo` on the test
    database and a broker, consuming a queue of its own, in a process group of its own.

    `broker` is "redis" (REDIS_URL's Redis: skipped without it, its queue dropped after the
    test), "filesystem" (kombu's `filesystem://`, the embedded mode: needs nothing), or the URL
    of a Redis of the test's own (tests.support.drills), which is then the worker's broker and
    cache, as production's single REDIS_URL. `env` is added to the worker's environment.
    Whatever is left of it is stopped after the test (warm, then its group killed) and its log
    printed, which pytest shows when the test failed."""
    workers: list[tuple[Worker, bool]] = []

    def start(broker: str, **extra_env: str) -> Worker:
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
        shared_redis = broker == "redis"
        if broker == "filesystem":
            url = "filesystem-atomic://"  # what the embedded mode uses (config/kombu_filesystem.py)
            env.update(CELERY_BROKER_URL=url)
            transport_options = filesystem_broker_options(var_dir)
        elif shared_redis or broker.startswith("redis://"):
            url = redis_url() if shared_redis else broker
            env.update(REDIS_URL=url, CELERY_BROKER_URL=url)
            transport_options = {}
        else:
            raise ValueError(broker)
        env.update(extra_env)
        log_path = tmp_path / f"{queue}.log"
        command = [
            *celery_command(), "-A", "config", "worker",
            "--pool", "solo", "--loglevel", "INFO",
            "--without-heartbeat", "--without-gossip", "--without-mingle",
            "--queues", queue, "--hostname", f"{queue}@%h",
        ]
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                       stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        worker = Worker("filesystem" if broker == "filesystem" else "redis", url, transport_options, queue,
                        log_path, process)
        workers.append((worker, shared_redis))
        worker.wait_ready()
        return worker

    yield start

    for worker, shared_redis in workers:
        stop_process_group(worker.process, warm=worker.process.poll() is None)
        if shared_redis:
            delete_redis_queue(worker.broker_url, worker.queue)
        print(f"--- {worker.broker} worker {worker.queue} exited with {worker.process.returncode}; "
              f"log ---\n{worker.log()}")
