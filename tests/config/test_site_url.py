"""`make run PORT=18123`: every absolute address the site hands out — short links, QR codes,
invitation e-mails — is on port 18123 unless SITE_URL says otherwise, in the web server, the
worker (which sends the e-mails) and the beat alike.

Settings are read once per process, so each case starts a Python process with the environment
`make run` gives it and reports what it built."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from honcho.environ import expand_processes, parse_procfile

from ambassadors.models import Ambassador
from ambassadors.services.invitation_emails import send_invitation
from campaigns.qr import qr_code
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory, InvitationFactory, LinkFactory, OrganizationFactory, member

REPORT = """
import json, uuid
import django
django.setup()
from django.conf import settings
from ambassadors.models import Invitation
from ambassadors.services.invitation_emails import invitation_url
from campaigns.qr import qr_code
from campaigns.share import short_url_for_code

link = short_url_for_code("AbCd1234")
print(json.dumps({
    "SITE_URL": settings.SITE_URL,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "CSRF_TRUSTED_ORIGINS": settings.CSRF_TRUSTED_ORIGINS,
    "PLATFORM_HOSTS": sorted(settings.PLATFORM_HOSTS),
    "short_link": link,
    "x_link": short_url_for_code("AbCd1234", "x"),
    "qr_svg": qr_code(link, "svg").decode(),
    "invitation": invitation_url(Invitation(public_id=uuid.uuid4())),
}))
"""


def settings_of(tmp_path: Path, **environment: str) -> subprocess.CompletedProcess:
    """A fresh process's settings under `environment` (on top of a bare one: no SITE_URL, PORT,
    DATABASE_URL from the test run)."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", SECRET_KEY="test-only", DEBUG="0",
               VAR_DIR=str(tmp_path / "var"), **environment)
    return subprocess.run([sys.executable, "-c", REPORT], cwd=settings.BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=120)


def report(tmp_path: Path, **environment: str) -> dict:
    result = settings_of(tmp_path, **environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_site_url_follows_port(tmp_path):
    seen = report(tmp_path, PORT="18123")
    assert seen["SITE_URL"] == "http://127.0.0.1:18123"
    assert seen["short_link"] == "http://127.0.0.1:18123/l/AbCd1234"
    assert seen["x_link"] == "http://127.0.0.1:18123/l/AbCd1234/x"
    # The QR code encodes that link: the same bytes as a QR code made of it directly.
    assert seen["qr_svg"] == qr_code("http://127.0.0.1:18123/l/AbCd1234", "svg").decode()
    assert seen["invitation"].startswith("http://127.0.0.1:18123/invite/")
    assert "127.0.0.1" in seen["ALLOWED_HOSTS"] and "localhost" in seen["ALLOWED_HOSTS"]
    assert seen["CSRF_TRUSTED_ORIGINS"] == ["http://127.0.0.1:18123"]


def test_without_port_the_site_is_on_8000(tmp_path):
    seen = report(tmp_path)
    assert seen["SITE_URL"] == "http://127.0.0.1:8000"
    assert seen["short_link"] == "http://127.0.0.1:8000/l/AbCd1234"


def test_an_explicit_site_url_wins_and_is_allowed(tmp_path):
    seen = report(tmp_path, PORT="18123", SITE_URL="https://amb.example.com/")
    assert seen["SITE_URL"] == "https://amb.example.com"
    assert seen["short_link"] == "https://amb.example.com/l/AbCd1234"
    assert seen["invitation"].startswith("https://amb.example.com/")
    assert "amb.example.com" in seen["ALLOWED_HOSTS"]
    assert seen["CSRF_TRUSTED_ORIGINS"] == ["https://amb.example.com"]
    # Hosts and origins set by hand are taken as they are.
    seen = report(tmp_path, SITE_URL="https://amb.example.com", ALLOWED_HOSTS="app.example.com",
                  CSRF_TRUSTED_ORIGINS="https://app.example.com")
    assert seen["ALLOWED_HOSTS"] == ["app.example.com"]
    assert seen["CSRF_TRUSTED_ORIGINS"] == ["https://app.example.com"]


@pytest.mark.parametrize(("environment", "message"), [
    ({"PORT": "eighty"}, "PORT must be a port number"),
    ({"SITE_URL": "127.0.0.1:8000"}, "SITE_URL must be an http(s) address"),
])
def test_a_wrong_port_or_site_url_is_refused_with_a_message(tmp_path, environment, message):
    result = settings_of(tmp_path, **environment)
    assert result.returncode != 0
    assert message in result.stderr


def test_every_process_of_make_run_gets_the_site_port(tmp_path):
    """honcho gives each process type a PORT of its own (web 18123, worker 18223, beat 18323);
    the Procfile hands each the site's port, so the worker's e-mails link to the web server."""
    procfile = parse_procfile((Path(settings.BASE_DIR) / "Procfile").read_text())
    assert set(procfile.processes) == {"web", "worker", "beat"}
    processes = expand_processes(procfile.processes, env={}, port=18123)  # what `honcho start` runs
    assert {p.env["PORT"] for p in processes} == {"18123", "18223", "18323"}
    for process in processes:
        # The process's own command, up to the program it execs: which PORT and SITE_URL does it see?
        prefix, found, program = process.cmd.partition("exec ")
        assert found and program.split()[0] in ("gunicorn", "celery"), process.cmd
        env = {**{key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ},
               **process.env, "RUN_PORT": "18123", "DJANGO_SETTINGS_MODULE": "config.settings",
               "SECRET_KEY": "test-only", "DEBUG": "0", "VAR_DIR": str(tmp_path / "var")}
        probe = f"{prefix}exec {shlex.quote(sys.executable)} -c {shlex.quote(REPORT)}"
        result = subprocess.run(["/bin/sh", "-c", probe], cwd=settings.BASE_DIR, env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        assert seen["SITE_URL"] == "http://127.0.0.1:18123", process.name
    web = next(p for p in processes if p.name.startswith("web"))
    assert "--bind 127.0.0.1:$PORT" in web.cmd


def test_invitation_email_links_to_the_site_port(db, settings):
    settings.SITE_URL = "http://127.0.0.1:18123"  # what every process's settings hold under PORT=18123 (above)
    invitation = InvitationFactory()
    with tenant_scope(invitation.organization):
        send_invitation(invitation)
    (message,) = mail.outbox
    links = re.findall(r"https?://[^\s\"'<>]+", message.body)
    assert links and all(link.startswith("http://127.0.0.1:18123/invite/") for link in links), links


def test_the_home_page_and_the_qr_code_hand_out_links_on_the_site_port(db, settings, client):
    settings.SITE_URL = "http://127.0.0.1:18123"
    org = OrganizationFactory()
    user = member(org, Role.AMBASSADOR, ambassador=True)
    with tenant_scope(org):
        ambassador = Ambassador.objects.get(user=user)
    link = LinkFactory(campaign=CampaignFactory(organization=org), ambassador=ambassador)
    client.force_login(user)
    home = client.get(f"/o/{org.slug}/").content.decode()
    assert f"http://127.0.0.1:18123/l/{link.code}" in home
    assert "127.0.0.1:8000" not in home
    svg = client.get(f"/api/v1/o/{org.slug}/links/{link.code}/qr.svg")
    assert svg.status_code == 200
    assert svg.content == qr_code(f"http://127.0.0.1:18123/l/{link.code}", "svg")  # encodes exactly that link


def test_the_short_links_host_serves_them(tmp_path):
    """A SITE_URL on a host of its own (a LAN address, app.example.com): the short links it hands
    out answer there without PLATFORM_HOSTS having to be set too."""
    result = settings_of(tmp_path, SITE_URL="http://app.example.com:9000")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["short_link"] == "http://app.example.com:9000/l/AbCd1234"
    assert "app.example.com" in report["PLATFORM_HOSTS"] and "127.0.0.1" in report["PLATFORM_HOSTS"]
