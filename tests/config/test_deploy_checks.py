"""Production settings pass Django's deployment checks: with DEBUG off, a real secret key and
HTTPS=1, `manage.py check --deploy` reports nothing (HSTS, HTTPS redirect, secure cookies,
frame denial, no-sniff); and the headers reach the browser."""

import os
import secrets
import subprocess
import sys

from django.conf import settings


def test_check_deploy_is_clean_under_production_settings():
    # A production-like environment, not the test run's (browser tests set DJANGO_ALLOW_ASYNC_UNSAFE,
    # which check --deploy rightly refuses).
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "DATABASE_URL", "REDIS_URL", "VAR_DIR")
           if key in os.environ}
    env.update(DEBUG="0", HTTPS="1", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="ambassadors.example.com",
               DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_security_headers(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/accounts/login/", secure=True)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["Referrer-Policy"] == "same-origin"


def test_plain_http_is_redirected_to_https_when_https_is_on(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/accounts/login/")
    assert response.status_code == 301 and response["Location"].startswith("https://")
