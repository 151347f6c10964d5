"""The spool's promise with a real gunicorn: SIGKILL it, and every click it answered is
still drained into the database by the next process."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django_scopes import scopes_disabled

from tests.support.subprocesses import subprocess_database_url
from tracking import capture
from tracking.models import RawClick

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def click_capture(settings, tmp_path):
    """Overrides the both-modes fixture: this is the spool's promise."""
    settings.CLICK_CAPTURE = "spool"
    settings.CLICK_SPOOL_DRAIN_THREAD = False
    return "spool"


def recorded_ids():
    with scopes_disabled():
        return list(RawClick.objects.values_list("click_id", flat=True))


def start_gunicorn(tmp_path, spool_dir, drain_thread: bool):
    env = {**os.environ, "DATABASE_URL": subprocess_database_url(), "DEBUG": "0", "SECRET_KEY": "test",
           "CLICK_CAPTURE": "spool", "CLICK_SPOOL_DIR": str(spool_dir),
           "CLICK_SPOOL_DRAIN_THREAD": "1" if drain_thread else "0", "CLICK_SPOOL_DRAIN_SECONDS": "0.05",
           "VAR_DIR": str(tmp_path / "var"), "ALLOWED_HOSTS": "127.0.0.1", "PLATFORM_HOSTS": "127.0.0.1"}
    env.pop("REDIS_URL", None)  # the link cache reads the database; keeps the test self-contained
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", "127.0.0.1:0", "--workers", "2",
         "--log-level", "info"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 30
    output = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        output.append(line)
        if "Listening at: http://127.0.0.1:" in line:
            port = int(line.rsplit(":", 1)[1].split()[0])
            return proc, port
        if proc.poll() is not None:
            break
    proc.kill()
    pytest.fail("gunicorn did not start:\n" + "".join(output))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("drain_thread", [False, True], ids=["no-drain-before-kill", "draining-when-killed"])
def test_killed_web_server_loses_no_click_it_answered(tmp_path, org, link, drain_thread):
    spool_dir = tmp_path / "spool"
    proc, port = start_gunicorn(tmp_path, spool_dir, drain_thread)
    opener = urllib.request.build_opener(NoRedirect)
    answered = []
    try:
        for _ in range(60):
            try:
                opener.open(f"http://127.0.0.1:{port}/l/{link.code}", timeout=10)
            except urllib.error.HTTPError as response:
                assert response.code == 302, response.read()[:500]
                answered.append(parse_qs(urlsplit(response.headers["Location"]).query)["amb_cid"][0])
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # no goodbye: no atexit drain, no graceful shutdown
        proc.wait()
    assert len(answered) == 60
    # The next process on this machine takes over what the dead ones left, once the kernel
    # has closed their files (and so released their locks).
    deadline = time.time() + 10
    while list(spool_dir.glob("*.spool")) and time.time() < deadline:
        capture.drain_orphans(spool_dir)
        time.sleep(0.05)
    recorded = recorded_ids()
    assert set(answered) <= set(recorded), f"lost {len(set(answered) - set(recorded))} answered clicks"
    assert len(recorded) == len(set(recorded))
    assert list(spool_dir.glob("*.spool")) == []
