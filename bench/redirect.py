"""bench/redirect: the tracked redirect against a bare Django 302, in one gunicorn, on
PostgreSQL + Redis, under wrk -c32. Prints req/s, p50, p99, the ratio tracked / bare,
and checks that every 302 answered left a click behind (lost = answered − recorded).

Both capture modes are measured (CLICK_CAPTURE=spool, the default, and db); the RESULT
line reports the default mode and adds the db figures."""

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")


def sh(*args, env=None, check=True, capture=False):
    done = subprocess.run(args, env=env, check=False, cwd=ROOT, text=True,
                          stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None)
    if check and done.returncode:
        raise SystemExit(f"{' '.join(args[:3])}… failed ({done.returncode}):\n{done.stdout or ''}")
    return done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


SETUP = """
from campaigns.models import Campaign, TrackedLink
from ambassadors.models import Ambassador
from tenancy.models import Organization
from tenancy.scoping import tenant_scope
from tracking.models import RawClick
from django_scopes import scopes_disabled
org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
with tenant_scope(org):
    c, _ = Campaign.objects.get_or_create(organization=org, slug="bench", defaults=dict(
        name="Bench", status="active", destination_url="https://www.example.com/landing?x=1#top"))
    a, _ = Ambassador.objects.get_or_create(organization=org, email="bench@example.com",
                                            defaults=dict(display_name="Bench", status="active"))
    link, _ = TrackedLink.objects.get_or_create(organization=org, campaign=c, ambassador=a,
                                                defaults={"code": "BenchLnk1"})
with scopes_disabled():
    RawClick.objects.all().delete()
print("CODE", link.code)
"""

COUNT = """
from tracking.models import RawClick
from django_scopes import scopes_disabled
with scopes_disabled():
    print("COUNT", RawClick.objects.count())
    RawClick.objects.all().delete()
"""


def manage_shell(env, code) -> str:
    out = sh(PY, "manage.py", "shell", "-c", code, env=env, capture=True).stdout
    return out


def start_gunicorn(env, port, workers):
    log = open(ROOT / "var" / f"bench-gunicorn-{env['CLICK_CAPTURE']}.log", "w")  # noqa: SIM115 - lives with the server
    proc = subprocess.Popen([GUNICORN, "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                             "--worker-class", "sync", "--log-level", "warning", "--graceful-timeout", "20"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_bench/missing", timeout=1)
        except urllib.error.HTTPError:
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn did not start; see var/bench-gunicorn-{env['CLICK_CAPTURE']}.log")


def stop_gunicorn(proc):
    os.killpg(proc.pid, signal.SIGTERM)  # graceful: workers finish, spools drain at exit
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def to_ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)", value)
    if match is None:
        raise SystemExit(f"Can't read the latency {value!r}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url, seconds, connections, threads):
    out = sh("wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url, capture=True).stdout
    if "Requests/sec" not in out or "50%" not in out:
        raise SystemExit(f"wrk gave no figures for {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "total": total, "p50": p50, "p99": p99, "bad": int(bad.group(1)) if bad else 0,
            "errors": errors.group(1) if errors else "", "raw": out}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ambassadors_bench_redirect")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    ensure_database(database_url)
    (ROOT / "var").mkdir(exist_ok=True)
    base_env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "DEBUG": "0",
                "SECRET_KEY": "bench-only", "BENCH_VIEWS": "1", "ALLOWED_HOSTS": "127.0.0.1",
                "PLATFORM_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING", "CLICK_CAPTURE": "db",
                "CLICK_SPOOL_DIR": str(ROOT / "var" / "bench-spool")}
    sh(PY, "manage.py", "migrate", "--noinput", "-v", "0", env=base_env)
    code = re.search(r"CODE (\S+)", manage_shell(base_env, SETUP)).group(1)

    # Each mode gets its own server; bare and tracked alternate in it, round after round,
    # so both see the same machine (this one is noisy) and the ratio is taken per round.
    results = {}
    for mode in ("spool", "db"):
        env = {**base_env, "CLICK_CAPTURE": mode}
        port = free_port()
        proc = start_gunicorn(env, port, args.workers)
        rounds = []
        try:
            base = f"http://127.0.0.1:{port}"
            wrk(f"{base}/_bench/bare", 2, args.connections, 2)  # warm-up: workers, connections, caches
            wrk(f"{base}/l/{code}", 2, args.connections, 2)
            time.sleep(1)
            manage_shell(env, COUNT)  # forget the warm-up clicks
            for _ in range(args.rounds):
                bare = wrk(f"{base}/_bench/bare", args.seconds, args.connections, 2)
                tracked = wrk(f"{base}/l/{code}", args.seconds, args.connections, 2)
                rounds.append((bare, tracked))
        finally:
            stop_gunicorn(proc)
        recorded = int(re.search(r"COUNT (\d+)", manage_shell(env, COUNT)).group(1))
        answered = sum(t["total"] - t["bad"] for _, t in rounds)
        ratios = sorted(t["rps"] / b["rps"] for b, t in rounds)
        middle = sorted(rounds, key=lambda r: r[1]["rps"] / r[0]["rps"])[len(rounds) // 2]
        results[mode] = {"bare": middle[0], "tracked": middle[1], "ratio": statistics.median(ratios),
                         "answered": answered, "recorded": recorded, "lost": max(0, answered - recorded),
                         "errors": " ".join(t["errors"] for _, t in rounds if t["errors"])}

    for mode in ("spool", "db"):
        r = results[mode]
        b, t = r["bare"], r["tracked"]
        print(f"[{mode:5}] bare 302  {b['rps']:7.0f} req/s  p50 {b['p50']:6.2f} ms  p99 {b['p99']:6.2f} ms")
        print(f"[{mode:5}] tracked   {t['rps']:7.0f} req/s  p50 {t['p50']:6.2f} ms  p99 {t['p99']:6.2f} ms  "
              f"ratio {r['ratio']:.2f} (median of {args.rounds} rounds)")
        print(f"[{mode:5}] answered {r['answered']}  recorded {r['recorded']}  lost {r['lost']}"
              f"{'  socket errors: ' + r['errors'] if r['errors'] else ''}")
    default, db = results["spool"], results["db"]
    met = default["ratio"] >= 0.5 and default["tracked"]["p99"] < 25 and default["lost"] == 0
    print(f"RESULT redirect bare_rps={default['bare']['rps']:.0f} tracked_rps={default['tracked']['rps']:.0f} "
          f"ratio={default['ratio']:.2f} p50_ms={default['tracked']['p50']:.2f} "
          f"p99_ms={default['tracked']['p99']:.2f} lost={default['lost']} mode=spool "
          f"db_ratio={db['ratio']:.2f} db_p99_ms={db['tracked']['p99']:.2f} db_lost={db['lost']} "
          f"target={'met' if met else 'missed'}")


if __name__ == "__main__":
    sys.exit(main())
