"""The admins' webhook pages (/o/<slug>/manage/webhooks/): adding an endpoint shows its secret on
the next page and never again, editing and re-enabling, rotating (the new secret once, the old one
signing 24 hours), deleting after confirmation, a test event to a real receiver, the delivery log
with its filters and replay; forms show their errors; another organisation's endpoints are 404."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from common.events import publish
from common.outbox import sweep
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.services.delivery import deliver_due
from integrations.services.endpoints import create_endpoint
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import member
from tests.integrations.receiver import WebhookReceiver, verify

pytestmark = pytest.mark.django_db

BASE = "/o/acme/manage/webhooks/"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")


@pytest.fixture(autouse=True)
def _loopback(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_SEND_ON_COMMIT = False
    settings.OUTBOX_PUBLISH_ON_COMMIT = False


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def admin(login, admin_user):
    return login(admin_user)


def endpoint_of(org) -> WebhookEndpoint:
    with tenant_scope(org):
        return WebhookEndpoint.objects.get()


def test_adding_an_endpoint_shows_its_secret_once(admin, org):
    assert admin.get(BASE).status_code == 200
    response = admin.post(f"{BASE}new/", {"url": "http://127.0.0.1:9/hook", "description": "CRM",
                                          "events": ["sale.created", "sale.refunded"]})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    (secret,) = set(SECRET.findall(response.content.decode()))
    endpoint = endpoint_of(org)
    assert endpoint.secret == secret and endpoint.events == ["sale.created", "sale.refunded"]
    assert "only time it is shown" in response.content.decode()
    for url in (BASE, f"{BASE}{endpoint.public_id}/", f"{BASE}{endpoint.public_id}/deliveries/"):
        page = admin.get(url)
        assert page.status_code == 200 and secret not in page.content.decode(), url
    listing = admin.get(BASE).content.decode()
    assert "http://127.0.0.1:9/hook" in listing and "sale.refunded" in listing and "Enabled" in listing


def test_the_form_shows_what_is_wrong(admin, org):
    response = admin.post(f"{BASE}new/", {"url": "http://169.254.169.254/latest/", "events": []})
    assert response.status_code == 400
    form = response.context["form"]
    assert "events" in form.errors and "Choose at least one event type." in form.errors["events"]
    response = admin.post(f"{BASE}new/", {"url": "http://169.254.169.254/latest/", "events": ["sale.created"]})
    assert response.status_code == 400 and "url" in response.context["form"].errors
    with tenant_scope(org):
        assert not WebhookEndpoint.objects.exists()


def test_editing_reenables_and_disabling_says_why(admin, org):
    with tenant_scope(org):
        endpoint, _ = create_endpoint(org, url="http://127.0.0.1:9/hook", events=["sale.created"])
        WebhookEndpoint.objects.update(enabled=False, consecutive_failures=20,
                                       disabled_reason="Disabled after 20 failures in a row.")
    page = admin.get(BASE).content.decode()
    assert "Disabled" in page and "Disabled after 20 failures in a row." in page
    response = admin.post(f"{BASE}{endpoint.public_id}/", {"url": "http://127.0.0.1:9/hook", "description": "",
                                                            "events": ["lead.created"], "enabled": "on"})
    assert response.status_code == 302
    endpoint = endpoint_of(org)
    assert endpoint.enabled and endpoint.consecutive_failures == 0 and endpoint.disabled_reason == ""
    assert endpoint.events == ["lead.created"]
    admin.post(f"{BASE}{endpoint.public_id}/", {"url": "http://127.0.0.1:9/hook", "events": ["lead.created"]})
    assert endpoint_of(org).disabled_reason == "Disabled by an admin."


def test_rotating_shows_the_new_secret_once_and_explains_the_overlap(admin, org):
    with tenant_scope(org):
        endpoint, first = create_endpoint(org, url="http://127.0.0.1:9/hook", events=["sale.created"])
    assert admin.get(f"{BASE}{endpoint.public_id}/rotate-secret/").status_code == 405
    response = admin.post(f"{BASE}{endpoint.public_id}/rotate-secret/")
    body = response.content.decode()
    (second,) = set(SECRET.findall(body))
    assert second != first and first not in body and "24 hours" in body
    endpoint = endpoint_of(org)
    assert endpoint.secret == second and endpoint.previous_secret == first
    edit = admin.get(f"{BASE}{endpoint.public_id}/").content.decode()
    assert second not in edit and "previous secret signs until" in edit


def test_deleting_asks_first(admin, org):
    with tenant_scope(org):
        endpoint, _ = create_endpoint(org, url="http://127.0.0.1:9/hook", events=["sale.created"])
    page = admin.get(f"{BASE}{endpoint.public_id}/delete/")
    assert page.status_code == 200 and "Delete this webhook endpoint?" in page.content.decode()
    with tenant_scope(org):
        assert WebhookEndpoint.objects.exists()
    assert admin.post(f"{BASE}{endpoint.public_id}/delete/").status_code == 302
    with tenant_scope(org):
        assert not WebhookEndpoint.objects.exists()


def test_test_event_and_the_log_with_replay(admin, org, receiver):
    with tenant_scope(org):
        endpoint, secret = create_endpoint(org, url=receiver.url("/hook"), events=["sale.created"])
    response = admin.post(f"{BASE}{endpoint.public_id}/test/", follow=True)
    assert "The test event was delivered" in response.content.decode()
    (request,) = receiver.wait_for(1)
    verify(request, secret)

    publish("sale.created", organization_id=org.pk, cause="sale-1", data={"sale": {"id": "s1"}})
    sweep()
    receiver.answer(500, "boom")
    deliver_due(organization_id=org.pk)
    receiver.wait_for(2)
    log = admin.get(f"{BASE}{endpoint.public_id}/deliveries/")
    body = log.content.decode()
    assert log.status_code == 200 and "sale.created" in body and "webhook.test" in body and "boom" in body
    assert secret not in body
    failed_only = admin.get(f"{BASE}{endpoint.public_id}/deliveries/", {"event_type": "sale.created"})
    assert "webhook.test" not in "".join(re.findall(r"<code>([^<]*)</code>", failed_only.content.decode()))
    assert admin.get(f"{BASE}{endpoint.public_id}/deliveries/", {"status": "nope"}).status_code == 400

    with tenant_scope(org):
        delivery = WebhookDelivery.objects.get(message__event_type="sale.created")
    msg_id = delivery.message.msg_id
    response = admin.post(f"{BASE}{endpoint.public_id}/deliveries/{msg_id}/replay/", follow=True)
    assert f"{msg_id} will be sent again" in response.content.decode()
    deliver_due(organization_id=org.pk)
    assert [r.webhook_id for r in receiver.wait_for(3)].count(msg_id) == 2
    with tenant_scope(org):
        delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED

    since = timezone.localtime(timezone.now() - timedelta(hours=1), org.tzinfo).strftime("%Y-%m-%dT%H:%M")
    until = timezone.localtime(timezone.now() + timedelta(hours=1), org.tzinfo).strftime("%Y-%m-%dT%H:%M")
    response = admin.post(f"{BASE}{endpoint.public_id}/replay/", {"since": since, "until": until}, follow=True)
    assert "2 deliveries will be sent again." in response.content.decode()
    response = admin.post(f"{BASE}{endpoint.public_id}/replay/", {"since": until, "until": since})
    assert response.status_code == 400 and "until" in response.context["replay_form"].errors


def test_only_admins_and_only_their_organisation(login, org, other_org, admin):
    with tenant_scope(other_org):
        theirs, secret = create_endpoint(other_org, url="http://127.0.0.1:9/theirs", events=["sale.created"])
    manager = login(member(org, Role.MANAGER, email="m@acme.test"))
    assert manager.get(BASE).status_code == 403
    client = login(member(org, Role.ADMIN, email="a2@acme.test"))
    urls = [f"{BASE}{theirs.public_id}/", f"{BASE}{theirs.public_id}/delete/", f"{BASE}{theirs.public_id}/deliveries/"]
    assert [client.get(url).status_code for url in urls] == [404, 404, 404]
    for action in ("rotate-secret", "test", "delete", "replay"):
        assert client.post(f"{BASE}{theirs.public_id}/{action}/", {}).status_code == 404, action
    assert client.get("/o/rival/manage/webhooks/").status_code == 404
    with tenant_scope(other_org):
        theirs.refresh_from_db()
    assert theirs.secret == secret
