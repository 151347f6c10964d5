"""The SSRF guard (integrations/ssrf.py): no private, loopback, link-local or metadata address,
checked on the addresses the host resolves to (what is actually connected to), unless
WEBHOOK_ALLOWED_HOSTS names the host; redirects are never followed (tests/integrations/test_delivery.py)."""

import pytest
from django.db import transaction
from django_scopes import scopes_disabled

from common import outbox
from common.events import publish
from integrations.models import DeliveryAttempt, WebhookEndpoint
from integrations.services.delivery import deliver_due
from integrations.signing import new_secret
from integrations.ssrf import UnsafeURL, check_url, forbidden_reason, post, resolve
from tenancy.scoping import tenant_scope
from tests.integrations.receiver import WebhookReceiver

FORBIDDEN = [
    "127.0.0.1", "127.1.2.3", "0.0.0.0", "10.0.0.1", "172.16.5.4", "192.168.1.1",  # noqa: S104 - addresses under test
    "169.254.169.254", "169.254.1.1", "100.64.0.1", "100.100.100.200", "224.0.0.1", "239.255.255.250",
    "240.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.0.8",
    "::1", "::", "fe80::1", "fd00:ec2::254", "fc00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
    "::ffff:10.0.0.1", "::127.0.0.1", "2002:7f00:1::", "64:ff9b::a9fe:a9fe", "fec0::1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_internal_addresses_are_forbidden(address):
    assert forbidden_reason(address) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_not(address):
    assert forbidden_reason(address) is None


def test_metadata_addresses_say_so():
    assert "metadata" in forbidden_reason("169.254.169.254")
    assert "metadata" in forbidden_reason("fd00:ec2::254")


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://localhost/hook", "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook", "https://[::ffff:127.0.0.1]/hook", "https://2130706433/hook",  # 127.0.0.1 as a number
    "https://0x7f.1/hook", "https://10.1.2.3/hook", "https://[fd00:ec2::254]/hook",
])
def test_urls_resolving_to_internal_addresses_are_refused(settings, url):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(UnsafeURL, match="can't be sent to"):
        check_url(url)


@pytest.mark.parametrize("url", ["http://example.com/hook", "ftp://example.com/", "https://user:pw@example.com/",
                                 "https://exa mple.com/", "not a url", "https:///nohost"])
def test_other_bad_urls_are_refused_with_a_reason(settings, url):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(UnsafeURL) as refused:
        check_url(url)
    assert str(refused.value)


def test_an_allowed_host_may_use_http_and_any_address(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1", "LocalHost"]
    check_url("http://127.0.0.1:8080/hook")
    check_url("http://localhost:8080/hook")
    with pytest.raises(UnsafeURL):
        check_url("https://169.254.169.254/")  # not allowed: only the named hosts are


def test_the_target_keeps_the_host_name_for_the_host_header(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    target = resolve("http://localhost:8080/a/b?c=d")
    assert target.host_header == "localhost:8080" and target.path == "/a/b?c=d"
    assert set(target.addresses) <= {"127.0.0.1", "::1"}


def test_a_post_to_a_refused_address_never_leaves(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    receiver = WebhookReceiver().start()
    try:
        result = post(receiver.url(), b"{}", {}, timeout=2)
    finally:
        receiver.stop()
    assert result.status is None and result.error.startswith("Refused: Webhooks can't be sent to 127.0.0.1")
    assert receiver.requests == []


@pytest.mark.django_db
def test_a_delivery_to_loopback_is_refused_unless_the_host_is_allowed(org, settings):
    """The guard runs at every attempt, on what the host resolves to then: an endpoint saved while
    allowed (or whose DNS changed since) gets nothing sent once it resolves to loopback."""
    settings.OUTBOX_PUBLISH_ON_COMMIT = settings.WEBHOOK_SEND_ON_COMMIT = False
    receiver = WebhookReceiver().start()
    try:
        settings.WEBHOOK_ALLOWED_HOSTS = []
        with tenant_scope(org):
            WebhookEndpoint.objects.create(organization=org, url=receiver.url().replace("127.0.0.1", "localhost"),
                                           events=["lead.created"], secret=new_secret())
        with transaction.atomic():
            publish("lead.created", organization_id=org.pk, cause="lead-1", data={"lead_id": "lea_1"})
        outbox.sweep()
        deliver_due()
        assert receiver.requests == []
        with scopes_disabled():
            assert DeliveryAttempt.objects.get().error.startswith("Refused: Webhooks can't be sent to localhost")

        settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
        with scopes_disabled():
            WebhookEndpoint.objects.update(paused_until=None)
            from integrations.models import WebhookDelivery
            WebhookDelivery.objects.update(next_attempt_at=WebhookDelivery.objects.get().created_at)
        deliver_due()
        [request] = receiver.requests
        assert request.headers["host"] == f"localhost:{receiver.port}"  # the name, sent to the vetted address
    finally:
        receiver.stop()
