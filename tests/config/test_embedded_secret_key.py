"""`make run` runs with DEBUG off, so it needs a secret key nobody typed in: in the embedded mode
(no DATABASE_URL) a key is made once into VAR_DIR/secret_key, readable by its owner only, and
kept across restarts; the web server, worker and beat starting together all read the same one.
With a database server (several machines) SECRET_KEY must be given."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from django.conf import settings

PRINT_KEY = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"


def start(var_dir: Path, **environment: str) -> subprocess.Popen:
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="0", VAR_DIR=str(var_dir), **environment)
    return subprocess.Popen([sys.executable, "-c", PRINT_KEY], cwd=settings.BASE_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def key_of(var_dir: Path, **environment: str) -> str:
    process = start(var_dir, **environment)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out.strip()


def test_the_embedded_mode_makes_a_secret_key_once_and_keeps_it(tmp_path):
    key = key_of(tmp_path)
    path = tmp_path / "secret_key"
    assert len(key) >= 50 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key_of(tmp_path) == key  # a restart keeps sessions and signed links valid
    assert key_of(tmp_path / "elsewhere") != key  # made at random, not derived
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".secret_key")]  # no leftovers


def test_processes_starting_together_read_the_same_key(tmp_path):
    processes = [start(tmp_path) for _ in range(4)]
    keys = {process.communicate(timeout=120)[0].strip() for process in processes}
    assert len(keys) == 1 and keys == {(tmp_path / "secret_key").read_text().strip()}


def test_a_given_secret_key_is_used_and_nothing_is_written(tmp_path):
    assert key_of(tmp_path, SECRET_KEY="given-by-the-operator") == "given-by-the-operator"
    assert not (tmp_path / "secret_key").exists()


def test_with_a_database_server_the_secret_key_must_be_given(tmp_path):
    process = start(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/never-connected")
    out, err = process.communicate(timeout=120)
    assert process.returncode != 0
    assert "SECRET_KEY must be set when DATABASE_URL is" in err
    assert not (tmp_path / "secret_key").exists()
