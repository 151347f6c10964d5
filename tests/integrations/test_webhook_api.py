"""The webhook endpoints' API (/api/v1/o/<slug>/webhooks/): admins create endpoints and get the
secret in that answer only, change, rotate, test (to a real receiver on loopback, checked with the
reference `standardwebhooks` library), read the delivery log and replay; bad input is a 400
naming the field; another organisation's endpoints and deliveries are 404."""

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
def api(login, admin_user):
    return login(admin_user)


URL = "/api/v1/o/acme/webhooks/"


def create(api, **body):
    body = {"url": "http://127.0.0.1:9/hook", "events": ["sale.created"], **body}
    return api.post(URL, body, content_type="application/json")


def test_create_answers_the_secret_once_then_never(api):
    response = create(api, description="CRM", events=["sale.created", "lead.created"])
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_") and response["Cache-Control"] == "no-store"
    assert created["events"] == ["lead.created", "sale.created"] and created["enabled"] is True
    detail = api.get(f"{URL}{created['id']}/")
    listing = api.get(URL)
    assert detail.status_code == 200 and "secret" not in detail.json()
    assert listing.json()["count"] == 1 and listing.json()["results"][0]["id"] == created["id"]
    for answer in (detail, listing):
        assert created["secret"] not in answer.content.decode()


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "http://169.254.169.254/latest/"}, "url"),
    ({"url": "https://10.1.2.3/hook"}, "url"),
    ({"url": 12}, "url"),
    ({"url": "not a url"}, "url"),
    ({"events": []}, "events"),
    ({"events": ["sale.exploded"]}, "events"),
    ({"events": "sale.created"}, "events"),
    ({"description": 5}, "description"),
    ({"description": "x" * 201}, "description"),
])
def test_bad_input_is_a_400_naming_the_field(api, org, body, field):
    response = create(api, **body)
    assert response.status_code == 400 and field in response.json(), response.content
    with tenant_scope(org):
        assert not WebhookEndpoint.objects.exists()


def test_a_body_that_is_not_an_object_is_refused(api):
    response = api.post(URL, ["url"], content_type="application/json")
    assert response.status_code == 400
    response = api.post(URL, "url=http://127.0.0.1/", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_patch_changes_and_reenables(api, org):
    endpoint_id = create(api).json()["id"]
    with tenant_scope(org):
        WebhookEndpoint.objects.update(enabled=False, consecutive_failures=20, disabled_reason="20 failures.")
    response = api.patch(f"{URL}{endpoint_id}/", {"enabled": True, "events": ["payout.paid"]},
                         content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["enabled"] is True and response.json()["consecutive_failures"] == 0
    assert response.json()["disabled_reason"] == "" and response.json()["events"] == ["payout.paid"]
    for body, field in (({"enabled": "yes"}, "enabled"), ({"url": "http://127.0.0.1/", "events": []}, "events")):
        response = api.patch(f"{URL}{endpoint_id}/", body, content_type="application/json")
        assert response.status_code == 400 and field in response.json(), response.content
    assert api.put(f"{URL}{endpoint_id}/", {}, content_type="application/json").status_code == 405


def test_rotate_answers_the_new_secret_once(api, org):
    created = create(api).json()
    response = api.post(f"{URL}{created['id']}/rotate-secret/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    rotated = response.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    with tenant_scope(org):
        endpoint = WebhookEndpoint.objects.get()
    assert endpoint.previous_secret == created["secret"] and endpoint.secret == rotated["secret"]
    assert timezone.now() + timedelta(hours=23) < endpoint.previous_secret_expires_at
    detail = api.get(f"{URL}{created['id']}/").content.decode()
    assert rotated["secret"] not in detail and created["secret"] not in detail


def test_test_event_reaches_a_real_receiver_signed(api, receiver):
    created = create(api, url=receiver.url("/hook")).json()
    response = api.post(f"{URL}{created['id']}/test/")
    assert response.status_code == 200, response.content
    assert response.json()["succeeded"] is True and response.json()["response_status"] == 200
    (request,) = receiver.wait_for(1)
    verify(request, created["secret"])  # the reference library; raises if the signature is wrong
    assert request.json["type"] == "webhook.test"
    log = api.get(f"{URL}{created['id']}/deliveries/").json()
    assert log["count"] == 1 and log["results"][0]["event_type"] == "webhook.test"
    assert "webhook-signature" not in {name.lower() for name in log["results"][0]["log"][0]["request_headers"]}


def _delivered_sale(org, number: int):
    publish("sale.created", organization_id=org.pk, cause=f"sale-{number}", data={"sale": {"id": str(number)}})
    sweep()
    deliver_due(organization_id=org.pk)


def test_deliveries_filter_page_and_replay(api, org, receiver):
    created = create(api, url=receiver.url("/hook")).json()
    for number in range(3):
        _delivered_sale(org, number)
    receiver.wait_for(3)
    base = f"{URL}{created['id']}/deliveries/"
    page = api.get(base, {"limit": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["limit"] == 2
    assert [r["status"] for r in page["results"]] == ["succeeded", "succeeded"]
    assert api.get(base, {"status": "failed"}).json()["count"] == 0
    assert api.get(base, {"event_type": "sale.created", "offset": 2}).json()["results"][0]["event_type"] \
        == "sale.created"
    for query, field in (({"status": "nope"}, "status"), ({"limit": "9223372036854775808"}, "limit"),
                         ({"offset": "-1"}, "offset"), ({"event_type": ""}, "event_type")):
        response = api.get(base, query)
        assert response.status_code == 400 and field in response.json(), (query, response.content)

    msg_id = page["results"][0]["id"]
    response = api.post(f"{base}{msg_id}/replay/")
    assert response.status_code == 202 and response.json()["status"] == "pending", response.content
    deliver_due(organization_id=org.pk)
    assert [r.webhook_id for r in receiver.wait_for(4)].count(msg_id) == 2  # the same webhook-id again

    since = (timezone.now() - timedelta(hours=1)).isoformat()
    until = (timezone.now() + timedelta(minutes=1)).isoformat()
    response = api.post(f"{URL}{created['id']}/replay/", {"since": since, "until": until},
                        content_type="application/json")
    assert response.status_code == 202 and response.json() == {"replayed": 3}
    with tenant_scope(org):
        assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 3
    for body in ({"since": until, "until": since}, {"since": "yesterday", "until": until}, {"until": until}):
        response = api.post(f"{URL}{created['id']}/replay/", body, content_type="application/json")
        assert response.status_code == 400 and {"since", "until"} & set(response.json()), response.content


def test_delete(api, org):
    endpoint_id = create(api).json()["id"]
    assert api.delete(f"{URL}{endpoint_id}/").status_code == 204
    assert api.get(f"{URL}{endpoint_id}/").status_code == 404


def test_managers_are_refused(login, org):
    client = login(member(org, Role.MANAGER, email="m@acme.test"))
    assert client.get(URL).status_code == 403
    assert create(client).status_code == 403


def test_another_organisations_endpoints_and_deliveries_are_404(api, other_org, receiver):
    with tenant_scope(other_org):
        theirs, secret = create_endpoint(other_org, url=receiver.url("/theirs"), events=["sale.created"])
    _delivered_sale(other_org, 1)
    receiver.wait_for(1)
    with tenant_scope(other_org):
        msg_id = WebhookDelivery.objects.get().message.msg_id
    mine = f"{URL}{theirs.public_id}/"
    answers = [api.get(mine), api.patch(mine, {"enabled": False}, content_type="application/json"),
               api.delete(mine), api.post(f"{mine}rotate-secret/"), api.post(f"{mine}test/"),
               api.get(f"{mine}deliveries/"), api.post(f"{mine}deliveries/{msg_id}/replay/"),
               api.post(f"{mine}replay/", {"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z"},
                        content_type="application/json"),
               api.get("/api/v1/o/rival/webhooks/")]
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert all(secret not in a.content.decode() for a in answers)
    assert len(receiver.requests) == 1  # no test event, no replay reached B's receiver
    with tenant_scope(other_org):
        theirs.refresh_from_db()
    assert theirs.enabled and theirs.secret == secret
