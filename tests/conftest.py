"""The suite's fixtures: an organisation and its members, a clean cache per test, no real broker.

Shared helpers are in tests/support/ (need_service, workers, drills, the scenario builder) and
tests/factories.py; the fixtures of tests/support/ that several modules use are plugins here."""

import copy
import uuid

import pytest
from django.core.cache import cache

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import OrganizationFactory, member

# start_worker (real Celery workers); redis_server (the drills' own Redis); smtp_server (loopback SMTP);
# http_receiver (a loopback stand-in for Slack / Teams webhooks).
pytest_plugins = ["tests.support.workers", "tests.support.drills", "tests.support.smtp", "tests.support.http_receiver"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Each test sees an empty cache. On Redis that is a key prefix of its own, not FLUSHDB,
    which would also empty the Celery broker a worker started by a test shares, and would
    let one test run's leftovers (allauth's rate limits, say) reach the next."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches
    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        cache.clear()
    yield


@pytest.fixture(autouse=True)
def _no_remembered_listeners():
    """Which organisations listen to events is remembered per process for 2 s
    (integrations.listening); ids come back between tests, so each test starts afresh."""
    from integrations import listening

    listening._memo.clear()
    yield
    listening._memo.clear()


@pytest.fixture(autouse=True)
def _own_media(settings, tmp_path_factory):
    """Uploads of a test go to a directory of its own, not the checkout's var/media."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def queued_attributions(monkeypatch):
    """The tracking API queues attribution on commit; in tests that must not reach the real
    broker (a file queue under var/). The organisation ids it would have queued, in order."""
    from tracking import tasks

    queued = []
    monkeypatch.setattr(tasks.attribute_pending, "delay", lambda organization_id: queued.append(organization_id))
    return queued


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme", slug="acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Rival", slug="rival")


@pytest.fixture
def ny_org(db):
    """An organisation in New York's time zone selling in USD (local days ≠ UTC days)."""
    return OrganizationFactory(name="Gotham Goods", slug="gotham", time_zone="America/New_York", currency="USD")


@pytest.fixture
def scoped():
    """Enter an organisation's scope in a test: `with scoped(org): ...`."""
    return tenant_scope


@pytest.fixture
def owner(org):
    return member(org, Role.OWNER, email="owner@acme.test")


@pytest.fixture
def admin_user(org):
    return member(org, Role.ADMIN, email="admin@acme.test")


@pytest.fixture
def manager(org):
    return member(org, Role.MANAGER, email="manager@acme.test")


@pytest.fixture
def ambassador_user(org):
    return member(org, Role.AMBASSADOR, ambassador=True, email="amb@acme.test")


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login
