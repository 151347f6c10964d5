"""Rate limits drill: each limit answers a clear 429 once passed, counts in the shared cache
(Redis on CI), keys on hashes only, and lets everything through when the cache fails.

* tracking API: per API key and endpoint (RATELIMIT_TRACK_API) → 429, JSON {"detail"},
  Retry-After; nothing stored past the limit; another key, or the other endpoint, unaffected;
* the /l/<code> redirect: per visitor address hash (RATELIMIT_REDIRECT) → 429 text/plain with
  Retry-After and no click recorded, so recorded clicks == 302s exactly; another address, the
  machine itself (loopback) and an undeclared proxy (a private address) unaffected; behind a
  declared proxy each visitor counts on its own; the per-process allowance is exact to `burst`;
* log-in: allauth's ACCOUNT_RATE_LIMITS → 429 with our page;
* the join page per address hash, the invitation page per address hash and per token → 429 page;
* no cache key or value holds a client address; a failing cache limits nothing."""

import json
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from ambassadors.services import invitations
from ambassadors.services.programme import join_page_of
from campaigns.models import Campaign, CampaignStatus, TrackedLink
from common import ratelimits
from tenancy.scoping import scopes_disabled, tenant_scope
from tenancy.services import create_api_key
from tests.factories import AmbassadorFactory
from tracking import capture
from tracking.models import Customer, RawClick
from tracking.views import redirect

pytestmark = pytest.mark.django_db

VISITOR = "203.0.113.7"  # documentation addresses (RFC 5737), never loopback
OTHER = "198.51.100.23"
IPV6 = "2001:db8:85a3::8a2e:370:7334"


@pytest.fixture(autouse=True)
def _db_capture(settings, tmp_path, monkeypatch):
    """Clicks go straight to the database (one row per 302), and no process allowance or
    remembered cache failure is left over from another test."""
    monkeypatch.setattr(ratelimits, "_cache_down_until", 0.0)
    settings.CLICK_CAPTURE = "db"
    settings.CLICK_SPOOL_DIR = tmp_path / "spool"
    capture.reset_spool()
    redirect._allowance.clear()
    from campaigns.linkcache import link_cache

    link_cache.clear()
    yield
    redirect._allowance.clear()
    capture.reset_spool()


@pytest.fixture
def link(org):
    ambassador = AmbassadorFactory(organization=org)
    with tenant_scope(org):
        campaign = Campaign.objects.create(organization=org, name="Spring", slug="spring",
                                           status=CampaignStatus.ACTIVE, destination_url="https://shop.example.com/")
        return TrackedLink.objects.create(organization=org, campaign=campaign, ambassador=ambassador, code="Rl8dEf7h")


def machine(org, name="CRM"):
    _, full_key = create_api_key(organization=org, name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {full_key}")
    return client


def cached_items() -> list[tuple[str, bytes]]:
    """Every (key, raw value) this test put in the cache, Redis or local memory."""
    backend = cache._cache if hasattr(cache, "_cache") else None
    if hasattr(backend, "get_client"):  # Redis
        client = backend.get_client()
        prefix = cache.key_prefix
        return [(key.decode(), client.get(key) or b"") for key in client.scan_iter(f"{prefix}*")
                if client.type(key) == b"string"]
    return [(key, repr(value).encode()) for key, value in cache._cache.items()]


def assert_no_address_in_cache(*addresses):
    items = cached_items()
    assert items, "the limits left nothing in the cache"
    for key, value in items:
        for address in addresses:
            assert address not in key and address.encode() not in value, (key, value[:80])
    return len(items)


# --- the tracking API ------------------------------------------------------------------------------------


def test_tracking_api_is_limited_per_key_with_json_429_and_retry_after(org, settings):
    settings.RATELIMIT_TRACK_API = "3/m"
    crm, shop = machine(org, "CRM"), machine(org, "Shop")
    statuses = []
    for i in range(5):
        response = crm.post("/api/v1/track/lead", {"email": f"p{i}@example.com"}, format="json")
        statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 429, 429], statuses
    assert response["Content-Type"] == "application/json"
    detail = response.json()["detail"]
    assert "Too many requests with this API key" in detail and "3/m" in detail
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    with tenant_scope(org):
        assert Customer.objects.count() == 3  # nothing stored past the limit
    assert shop.post("/api/v1/track/lead", {"email": "x@example.com"}, format="json").status_code == 201
    sale = {"customer_external_id": "c1", "amount": "10.00", "currency": "EUR", "invoice_id": "i1"}
    assert crm.post("/api/v1/track/sale", sale, format="json").status_code == 201  # its own budget
    # A bad key is refused before counting: it can't spend a real key's budget.
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Bearer amb_xxxxxxxx_nope")
    assert stranger.post("/api/v1/track/lead", {"email": "y@example.com"}, format="json").status_code == 401
    print(f"DRILL api limit: statuses={statuses} stored=3 retry_after={retry_after}s")


# --- the redirect ------------------------------------------------------------------------------------------


def clicks() -> int:
    with scopes_disabled():
        return RawClick.objects.count()


def test_redirect_limit_answers_429_and_records_no_click_past_it(link, settings):
    settings.RATELIMIT_REDIRECT = "5/m"  # below 10/m: no per-process allowance, every click counted
    client = Client(REMOTE_ADDR=VISITOR)
    statuses = [client.get(f"/l/{link.code}").status_code for _ in range(8)]
    assert statuses == [302] * 5 + [429] * 3, statuses
    response = client.get(f"/l/{link.code}")
    assert response.status_code == 429 and response["Content-Type"].startswith("text/plain")
    assert "Too many clicks" in response.content.decode() and 1 <= int(response["Retry-After"]) <= 60
    assert "Location" not in response
    assert clicks() == 5 == statuses.count(302)  # every 302 is a recorded click; no 429 is
    assert Client(REMOTE_ADDR=OTHER).get(f"/l/{link.code}").status_code == 302  # another visitor
    loopback = Client(REMOTE_ADDR="127.0.0.1")  # the machine itself (benchmarks, health checks)
    assert {loopback.get(f"/l/{link.code}").status_code for _ in range(8)} == {302}
    assert clicks() == 5 + 1 + 8
    # A load balancer not declared in TRUSTED_PROXY_COUNT: its private address is every visitor's,
    # so it is not limited (refusing it would refuse everyone).
    balancer = Client(REMOTE_ADDR="10.0.0.2")
    assert {balancer.get(f"/l/{link.code}").status_code for _ in range(8)} == {302}
    n = assert_no_address_in_cache(VISITOR, OTHER)
    print(f"DRILL redirect limit: requests=26 302s={clicks()} clicks={clicks()} 429s=4 cache-keys={n} raw-ips=0")


def test_redirect_limit_behind_a_trusted_proxy_counts_the_visitor_not_the_proxy(link, settings):
    settings.RATELIMIT_REDIRECT = "3/m"
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    for visitor in (VISITOR, OTHER):
        statuses = [proxy.get(f"/l/{link.code}", HTTP_X_FORWARDED_FOR=f"192.0.2.1, {visitor}").status_code
                    for _ in range(4)]
        assert statuses == [302, 302, 302, 429], (visitor, statuses)


def test_address_hashes_are_keyed_and_ipv6_counts_by_its_slash_64(settings):
    assert ratelimits.address_hash(IPV6) == ratelimits.address_hash("2001:db8:85a3::1")
    assert ratelimits.address_hash(IPV6) != ratelimits.address_hash("2001:db8:85a4::1")
    assert ratelimits.address_hash(VISITOR) != ratelimits.address_hash(OTHER)
    assert VISITOR not in ratelimits.address_hash(VISITOR) and len(ratelimits.address_hash(VISITOR)) == 32
    first = ratelimits.address_hash(VISITOR)
    settings.SECRET_KEY = "another-secret"
    assert ratelimits.address_hash(VISITOR) != first  # keyed: no table of 2³² hashes gives it away


def test_the_per_process_allowance_is_exact_to_its_burst(link, settings):
    """With RATELIMIT_REDIRECT=20/m and a burst of 2, an address's first 2 clicks in this process
    skip the shared counter: 22 redirects, then 429. With P processes, at most P × burst extra."""
    settings.RATELIMIT_REDIRECT = "20/m"
    settings.RATELIMIT_REDIRECT_LOCAL_BURST = 2
    client = Client(REMOTE_ADDR=VISITOR)
    statuses = [client.get(f"/l/{link.code}").status_code for _ in range(25)]
    assert statuses.count(302) == 22 and statuses[22:] == [429] * 3, statuses
    assert clicks() == 22

    allowance = ratelimits.LocalAllowance()
    assert [allowance.first_few("k", 60, 3, 1000.0) for _ in range(4)] == [True, True, True, False]
    assert allowance.first_few("k", 60, 3, 1061.0)  # a new window starts afresh
    allowance.MAX_KEYS = 2
    assert allowance.first_few("a", 60, 3, 1061.0) and not allowance.first_few("b", 60, 3, 1061.0)  # full: count


def test_a_failing_cache_limits_nothing(link, settings, monkeypatch, org):
    """If the cache (Redis) can't be reached, the limits let requests through: a limiter must never
    be what loses a click or takes the API down."""
    import redis

    def down(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr(ratelimits, "get_usage", down)
    settings.RATELIMIT_REDIRECT = "1/m"
    settings.RATELIMIT_TRACK_API = "1/m"
    client = Client(REMOTE_ADDR=VISITOR)
    assert {client.get(f"/l/{link.code}").status_code for _ in range(4)} == {302}
    assert clicks() == 4
    crm = machine(org)
    assert {crm.post("/api/v1/track/lead", {"email": f"p{i}@example.com"}, format="json").status_code
            for i in range(3)} == {201}


def test_limits_can_be_switched_off(link, settings):
    settings.RATELIMIT_REDIRECT = ""
    client = Client(REMOTE_ADDR=VISITOR)
    assert {client.get(f"/l/{link.code}").status_code for _ in range(30)} == {302}


def test_defaults_are_safe(settings):
    """What production gets without any RATELIMIT_* variable (the values in config/settings.py)."""
    import importlib
    import os

    from config import settings as config_settings

    env = {key for key in os.environ if key.startswith("RATELIMIT_")}
    assert not env, f"the environment sets {env}: defaults not checked"
    fresh = importlib.reload(config_settings)
    assert ratelimits.parse_rate(fresh.RATELIMIT_REDIRECT) == (120, 60)
    assert ratelimits.parse_rate(fresh.RATELIMIT_TRACK_API) == (1200, 60)
    assert ratelimits.parse_rate(fresh.RATELIMIT_JOIN) == (30, 60)
    assert ratelimits.parse_rate(fresh.RATELIMIT_INVITATION_TOKEN) == (20, 60)
    assert fresh.ACCOUNT_RATE_LIMITS["login_failed"] == "10/m/ip,5/5m/key"
    assert fresh.RATELIMIT_FAIL_OPEN is True
    assert fresh.RATELIMIT_EXEMPT_NETWORKS == settings.RATELIMIT_EXEMPT_NETWORKS
    for address in ("127.0.0.1", "::1", "10.1.2.3", "172.20.0.5", "192.168.1.10", "fd00::1"):
        assert ratelimits.exempt(address), address
    for address in (VISITOR, OTHER, IPV6, "8.8.8.8", "172.32.0.1"):
        assert not ratelimits.exempt(address), address


# --- log-in, join and invitation pages ----------------------------------------------------------------------


def test_login_posts_get_429_from_allauth(owner, settings):
    """allauth's "login" limit (log-in posts per address) answers 429 with templates/429.html;
    its "login_failed" limit (failed attempts per address and per account) refuses in the form."""
    settings.ACCOUNT_RATE_LIMITS = {"login": "4/m/ip", "login_failed": "100/m/ip,2/m/key"}
    client = Client(REMOTE_ADDR=VISITOR)
    statuses, refused_in_form = [], 0
    for _ in range(6):
        response = client.post(reverse("account_login"), {"login": owner.email, "password": "wrong"})
        statuses.append(response.status_code)
        refused_in_form += "Too many failed login attempts" in response.content.decode()
    assert statuses == [200, 200, 200, 200, 429, 429], statuses
    assert refused_in_form == 2  # the 3rd and 4th wrong password for this account
    html = response.content.decode()
    assert "Too many requests" in html and "<h1>" in html  # templates/429.html, a page a person can read
    other = Client(REMOTE_ADDR=OTHER)
    assert other.post(reverse("account_login"), {"login": "manager@acme.test", "password": "x"}).status_code == 200
    n = assert_no_address_in_cache(VISITOR, OTHER)
    print(f"DRILL login limit: statuses={statuses} refused-in-form={refused_in_form} cache-keys={n} raw-ips=0")


def test_login_limit_behind_a_trusted_proxy_counts_each_visitor(owner, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login": "2/m/ip"}
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    for visitor in (VISITOR, OTHER):
        statuses = [proxy.post(reverse("account_login"), {"login": owner.email, "password": "wrong"},
                               HTTP_X_FORWARDED_FOR=visitor).status_code for _ in range(3)]
        assert statuses == [200, 200, 429], (visitor, statuses)
    assert_no_address_in_cache(VISITOR, OTHER, "10.0.0.2")


def test_join_page_is_limited_per_address(org, settings):
    settings.RATELIMIT_JOIN = "3/m"
    with tenant_scope(org):
        page = join_page_of(org)
        page.enabled = True
        page.save()
    url = reverse("join", args=[org.slug])
    client = Client(REMOTE_ADDR=VISITOR)
    statuses = [client.get(url).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429], statuses
    response = client.get(url)
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 60
    html = response.content.decode()
    assert "Too many requests" in html and re.search(r"wait \d+ seconds?", html)
    assert Client(REMOTE_ADDR=OTHER).get(url).status_code == 200
    assert_no_address_in_cache(VISITOR, OTHER)


def test_invitation_page_is_limited_per_address_and_per_token(org, settings):
    settings.RATELIMIT_JOIN = "4/m"
    settings.RATELIMIT_INVITATION_TOKEN = "2/m"
    with tenant_scope(org):
        invitation = invitations.invite(organization=org, email="guest@example.com", send=False)
        token = invitations.make_token(invitation)
    url = reverse("invitation", args=[token])
    statuses = [Client(REMOTE_ADDR=f"203.0.113.{i}").get(url).status_code for i in range(10, 14)]
    assert statuses == [200, 200, 429, 429], statuses  # one token, from four addresses
    guesser = Client(REMOTE_ADDR=VISITOR)  # guessing tokens from one address
    statuses = [guesser.get(reverse("invitation", args=[f"guess{i}"])).status_code for i in range(6)]
    assert statuses[:4] == [404] * 4 and statuses[4:] == [429, 429], statuses
    assert token not in json.dumps([key for key, _ in cached_items()])
