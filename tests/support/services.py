"""Tests that need a real service (Redis, PostgreSQL, a Celery worker, Chromium) are skipped
when it is missing, and fail instead with REQUIRE_SERVICES=1, which is how CI runs them."""

import os
import shutil

import pytest

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# The system Chromium the browser tests drive (`playwright install` cannot download browsers here).
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


def need_service(name: str, available: bool, why: str = "") -> None:
    """Skip a test whose service is missing, or fail it when CI demands real services."""
    if available:
        return
    message = f"{name} is not available{': ' + why if why else ''}"
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {message}", pytrace=False)
    pytest.skip(message)


def redis_url() -> str:
    """REDIS_URL, once its Redis answers (else the test is skipped, or fails under REQUIRE_SERVICES=1)."""
    url = os.environ.get("REDIS_URL", "")
    need_service("Redis", bool(url), "REDIS_URL not set")
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except (redis.RedisError, OSError) as exc:
        need_service("Redis", False, f"no answer at {url} ({exc})")
    return url
