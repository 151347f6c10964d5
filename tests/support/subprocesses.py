"""Helpers for tests that start real processes (a Celery worker, gunicorn) against the
test database."""

from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.db import connection


def subprocess_database_url() -> str:
    """The URL of the database this test runs on (the test database, not the configured one),
    for a process the test starts."""
    db = connection.settings_dict
    name = str(db["NAME"])
    if db["ENGINE"] == "django.db.backends.sqlite3":
        if name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
            pytest.fail(f"The SQLite test database {name!r} is in memory; a worker process can't share it.")
        return f"sqlite:///{Path(name).resolve()}"
    scheme = {
        "django.db.backends.postgresql": "postgres",
        "django.db.backends.mysql": "mysql",
    }.get(db["ENGINE"])
    if scheme is None:
        pytest.fail(f"Don't know how to hand the database engine {db['ENGINE']} to a worker.")
    credentials = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or ""
    if host.startswith("/"):  # a Unix socket directory travels percent-encoded
        host = quote(host, safe="")
    elif ":" in host:  # an IPv6 address
        host = f"[{host}]"
    netloc = (credentials + "@" if credentials else "") + host
    if db.get("PORT"):
        netloc += f":{db['PORT']}"
    # Plain connection options (sslmode, ...) travel as query parameters; the pool, if any,
    # is rebuilt by the worker's own settings from DB_POOL, which it inherits.
    options = {key: value for key, value in (db.get("OPTIONS") or {}).items()
               if isinstance(value, str | int) and not isinstance(value, bool)}
    query = f"?{urlencode(options)}" if options else ""
    return f"{scheme}://{netloc}/{quote(name, safe='')}{query}"
