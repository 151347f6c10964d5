"""Outbound webhooks, delivered for real: a domain event (common.events) goes through the outbox
and the fan-out to a real HTTP receiver on 127.0.0.1 (tests/integrations/receiver.py), and every
signature is checked with the reference `standardwebhooks` library, not with our signing code.
Retries are driven by moving the engine's clock to each delivery's next_attempt_at, not by
sleeping."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled
from standardwebhooks.webhooks import WebhookVerificationError

from common import outbox
from common.events import publish
from common.models import OutboxEvent
from integrations.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookMessage
from integrations.services import delivery
from integrations.services.delivery import ALERT_TOPIC, DISABLE_AFTER, deliver_due, replay, replay_range, send_test
from integrations.signing import new_secret
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import member
from tests.integrations.receiver import WebhookReceiver, free_port, verify

pytestmark = pytest.mark.django_db

SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)


@pytest.fixture
def receiver(settings):
    """A receiver on loopback, and the SSRF guard told to allow 127.0.0.1 (tests only)."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_RETRY_SCHEDULE = SCHEDULE
    settings.WEBHOOK_SEND_ON_COMMIT = False  # no broker in these tests: the engine is called directly
    settings.OUTBOX_PUBLISH_ON_COMMIT = False
    server = WebhookReceiver().start()
    try:
        yield server
    finally:
        server.stop()


def make_endpoint(org, url, events=("sale.created",), **fields) -> WebhookEndpoint:
    with tenant_scope(org):
        return WebhookEndpoint.objects.create(organization=org, url=url, events=list(events),
                                              **{"secret": new_secret(), **fields})


def sale_created(org, number: int = 1) -> None:
    """A domain event as the tracking app publishes it, in its own transaction."""
    with transaction.atomic():
        publish("sale.created", organization_id=org.pk, cause=f"sale-{number}",
                data={"sale_id": f"sal_{number}", "amount": "120.00", "currency": "EUR"})


def fan_out() -> int:
    return outbox.sweep()


def deliveries(org) -> list[WebhookDelivery]:
    with tenant_scope(org):
        return list(WebhookDelivery.objects.select_related("message").order_by("pk"))


def attempts_of(row: WebhookDelivery) -> list[DeliveryAttempt]:
    with tenant_scope(row.organization_id):
        return list(DeliveryAttempt.objects.filter(delivery=row).order_by("attempted_at", "pk"))


def refreshed(instance):
    with scopes_disabled():
        instance.refresh_from_db()
    return instance


def test_an_event_reaches_the_receiver_signed_with_the_standard_headers(org, receiver):
    endpoint = make_endpoint(org, receiver.url())
    sale_created(org)
    fan_out()
    run = deliver_due()

    assert run.succeeded == 1
    [request] = receiver.requests
    payload = verify(request, endpoint.secret)  # the reference library accepts it
    assert payload["type"] == "sale.created"
    assert payload["data"] == {"sale_id": "sal_1", "amount": "120.00", "currency": "EUR"}
    assert payload["timestamp"].endswith("Z")
    assert request.body.startswith(b'{"type":"sale.created","timestamp":')  # the envelope's documented order
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"].startswith("msg_") and len(request.headers["webhook-id"]) == 30
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 30
    assert request.headers["user-agent"].startswith("Ambassadors-Webhooks/")
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"

    [row] = deliveries(org)
    assert (row.status, row.attempts, row.last_status_code, row.next_attempt_at) == ("succeeded", 1, 200, None)
    [logged] = attempts_of(row)
    assert logged.response_status == 200 and logged.response_body == "ok" and logged.trigger == "schedule"
    assert logged.request_headers["webhook-id"] == request.headers["webhook-id"]
    assert "webhook-signature" not in {name.lower() for name in logged.request_headers}  # never stored
    assert logged.request_body == request.body.decode()


def test_a_wrong_secret_does_not_verify(org, receiver):
    make_endpoint(org, receiver.url())
    sale_created(org)
    fan_out()
    deliver_due()
    with pytest.raises(WebhookVerificationError):
        verify(receiver.requests[0], new_secret())


def test_the_fan_out_is_idempotent_and_only_reaches_subscribed_enabled_endpoints(org, other_org, receiver):
    subscribed = make_endpoint(org, receiver.url("/a"), events=["sale.created", "lead.created"])
    make_endpoint(org, receiver.url("/b"), events=["lead.created"])  # another event type
    make_endpoint(org, receiver.url("/c"), enabled=False)
    make_endpoint(other_org, receiver.url("/d"))  # another organisation
    sale_created(org)
    event = OutboxEvent.objects.get()
    from integrations.handlers import on_event

    with transaction.atomic():
        on_event(event)
        on_event(event)  # a handler run again (a lost commit): nothing twice
    fan_out()
    with scopes_disabled():
        assert WebhookMessage.objects.count() == 1
        assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [subscribed.pk]
    deliver_due()
    assert [request.path for request in receiver.requests] == ["/a"]


def test_a_burst_of_events_is_fanned_out_in_one_transaction_each_once(org, other_org, receiver):
    make_endpoint(org, receiver.url("/acme"))
    make_endpoint(other_org, receiver.url("/rival"))
    for number in range(5):
        sale_created(org, number)
        sale_created(other_org, 100 + number)
    first = OutboxEvent.objects.order_by("pk").first()
    assert outbox.handle_key(first.key) is True  # takes the other nine with it
    assert OutboxEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert outbox.sweep() == 0 and outbox.handle_key(OutboxEvent.objects.last().key) is False
    with scopes_disabled():
        assert WebhookMessage.objects.filter(organization=org).count() == 5
        assert WebhookDelivery.objects.filter(organization=other_org).count() == 5
    deliver_due()
    paths = Counter(request.path for request in receiver.requests)
    assert paths == {"/acme": 5, "/rival": 5} and len({r.webhook_id for r in receiver.requests}) == 10


def test_no_endpoint_no_message(org, receiver):
    make_endpoint(org, receiver.url(), events=["lead.created"])  # not this type
    sale_created(org)
    fan_out()
    with scopes_disabled():
        assert WebhookMessage.objects.count() == 0 and WebhookDelivery.objects.count() == 0


def test_500_three_times_then_200_delivers_four_times_with_one_webhook_id(org, receiver):
    endpoint = make_endpoint(org, receiver.url())
    receiver.answer(500, "boom", times=3)
    sale_created(org)
    fan_out()
    clock = timezone.now()
    waits = []
    for _ in range(4):
        deliver_due(now=clock)
        row = deliveries(org)[0]
        if row.status != DeliveryStatus.PENDING:
            break
        waits.append((row.next_attempt_at - clock).total_seconds())
        assert refreshed(endpoint).paused_until == row.next_attempt_at  # nothing else goes before the retry
        assert deliver_due(now=row.next_attempt_at - timedelta(seconds=1)).claimed == 0  # not due yet
        clock = row.next_attempt_at

    requests = receiver.requests
    assert len(requests) == 4
    assert len({request.webhook_id for request in requests}) == 1
    for request in requests:
        verify(request, endpoint.secret)
    for wait, planned in zip(waits, SCHEDULE[:3], strict=True):  # 5 s, 5 min, 30 min, ± 10 % jitter
        assert planned * 0.9 - 1 <= wait <= planned * 1.1 + 1
    row = deliveries(org)[0]
    assert (row.status, row.attempts, row.last_status_code) == ("succeeded", 4, 200)
    assert [a.response_status for a in attempts_of(row)] == [500, 500, 500, 200]
    assert attempts_of(row)[0].error == "The receiver answered 500; only 2xx counts as delivered."
    endpoint = refreshed(endpoint)
    assert (endpoint.consecutive_failures, endpoint.paused_until, endpoint.enabled) == (0, None, True)


def test_a_delivery_fails_for_good_after_the_last_retry(org, receiver):
    make_endpoint(org, receiver.url())
    receiver.answer(503, times=len(SCHEDULE) + 1)
    sale_created(org)
    fan_out()
    clock = timezone.now()
    for _ in range(len(SCHEDULE) + 1):
        deliver_due(now=clock)
        row = deliveries(org)[0]
        clock = row.next_attempt_at or clock
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 10, None)
    assert len(receiver.requests) == 10
    assert deliver_due(now=clock + timedelta(days=3)).claimed == 0


def test_410_disables_the_endpoint_and_cancels_what_waits(org, receiver):
    endpoint = make_endpoint(org, receiver.url())
    receiver.answer(410, "gone")
    for number in range(3):
        sale_created(org, number)
    fan_out()
    deliver_due()

    assert len(receiver.requests) == 1  # the lane stops at the first failure
    endpoint = refreshed(endpoint)
    assert endpoint.enabled is False and "410" in endpoint.disabled_reason
    assert {row.status for row in deliveries(org)} == {DeliveryStatus.CANCELED}
    assert OutboxEvent.objects.filter(topic=ALERT_TOPIC).count() == 1
    sale_created(org, 9)
    fan_out()
    assert len(deliveries(org)) == 3  # a disabled endpoint gets no new deliveries


def test_429_and_503_honour_retry_after_in_seconds_or_as_a_date(org, receiver):
    make_endpoint(org, receiver.url())
    receiver.answer(429, headers={"Retry-After": "120"})
    sale_created(org)
    fan_out()
    start = timezone.now()
    deliver_due(now=start)
    row = deliveries(org)[0]
    assert 119 <= (row.next_attempt_at - start).total_seconds() <= 125  # not the schedule's 5 s

    moment = timezone.now() + timedelta(hours=3)
    receiver.answer(503, headers={"Retry-After": format_datetime(moment.astimezone(UTC), usegmt=True)})
    deliver_due(now=row.next_attempt_at)
    row = deliveries(org)[0]
    assert abs((row.next_attempt_at - moment).total_seconds()) < 5  # the date given, not 5 minutes

    receiver.answer(429, headers={"Retry-After": str(30 * 24 * 3600)})  # a month: capped at a day
    clock = row.next_attempt_at
    deliver_due(now=clock)
    row = deliveries(org)[0]
    assert (row.next_attempt_at - clock) <= timedelta(hours=24, seconds=5)
    assert delivery.parse_retry_after("soon", timezone.now()) is None


def test_a_redirect_is_not_followed(org, receiver):
    make_endpoint(org, receiver.url("/old"))
    receiver.answer(302, headers={"Location": receiver.url("/new")})
    sale_created(org)
    fan_out()
    deliver_due()
    assert [request.path for request in receiver.requests] == ["/old"]
    row = deliveries(org)[0]
    assert row.status == "pending" and row.last_status_code == 302
    assert attempts_of(row)[0].error.startswith("Redirect (302) not followed")


def test_after_a_rotation_both_secrets_sign_for_24_hours_then_only_the_new_one(org, receiver):
    old_secret, secret = new_secret(), new_secret()
    endpoint = make_endpoint(org, receiver.url(), secret=secret, previous_secret=old_secret,
                             previous_secret_expires_at=timezone.now() + timedelta(hours=24))
    sale_created(org, 1)
    fan_out()
    deliver_due()
    first = receiver.requests[-1]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    verify(first, secret)
    verify(first, old_secret)  # a receiver still on the old secret keeps working

    with scopes_disabled():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            previous_secret_expires_at=timezone.now() - timedelta(seconds=1))  # the 24 hours are over
    sale_created(org, 2)
    fan_out()
    deliver_due()
    second = receiver.requests[-1]
    assert len(second.headers["webhook-signature"].split(" ")) == 1
    verify(second, secret)
    with pytest.raises(WebhookVerificationError):
        verify(second, old_secret)


def test_an_endpoint_that_is_down_costs_one_attempt_per_retry_step_not_one_per_event(org, receiver):
    endpoint = make_endpoint(org, f"http://127.0.0.1:{free_port()}/hook")  # nothing listens there
    for number in range(30):
        sale_created(org, number)
    fan_out()
    start = timezone.now()
    run = deliver_due(now=start)
    assert (run.claimed, run.retried) == (30, 1)
    endpoint = refreshed(endpoint)
    assert endpoint.consecutive_failures == 1 and endpoint.paused_until > start
    with scopes_disabled():
        assert DeliveryAttempt.objects.count() == 1
        assert "Could not connect" in DeliveryAttempt.objects.get().error
    assert deliver_due(now=start + timedelta(seconds=1)).claimed == 0  # paused: nothing is tried

    # It comes back: at the retry, the first success sends everything that waited.
    with scopes_disabled():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url())
    deliver_due(now=endpoint.paused_until)
    assert len(receiver.requests) == 30
    assert len({request.webhook_id for request in receiver.requests}) == 30
    assert {row.status for row in deliveries(org)} == {DeliveryStatus.SUCCEEDED}
    assert refreshed(endpoint).consecutive_failures == 0


def test_admins_are_emailed_at_5_10_15_failures_and_the_endpoint_disabled_at_20(org, admin_user, owner, manager,
                                                                              receiver):
    endpoint = make_endpoint(org, receiver.url())
    receiver.answer(500, times=100)
    sale_created(org)
    fan_out()
    clock = timezone.now()
    alerts_at = []
    for failure in range(1, DISABLE_AFTER + 1):
        with scopes_disabled():  # each its own delivery's first try: the schedule restarts, the count goes on
            WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).update(attempts=0)
        deliver_due(now=clock)
        if OutboxEvent.objects.filter(topic=ALERT_TOPIC, processed_at__isnull=True).exists():
            alerts_at.append(failure)
            outbox.sweep()
        clock = refreshed(endpoint).paused_until or clock

    assert alerts_at == [5, 10, 15, 20]  # the last one: disabled
    endpoint = refreshed(endpoint)
    assert endpoint.enabled is False and endpoint.consecutive_failures == 20
    assert "20 failed attempts in a row" in endpoint.disabled_reason
    assert [message.subject for message in mail.outbox] == [
        f"[Ambassadors] Webhook endpoint failing ({n} failures in a row): {endpoint.url}" for n in (5, 10, 15)
    ] + [f"[Ambassadors] Webhook endpoint disabled: {endpoint.url}"]
    assert all(sorted(message.to) == ["admin@acme.test", "owner@acme.test"] for message in mail.outbox)
    assert "The receiver answered 500" in mail.outbox[0].body and endpoint.url in mail.outbox[0].body
    assert deliveries(org)[0].status == DeliveryStatus.CANCELED


def test_a_success_resets_the_count_and_a_new_episode_alerts_again(org, admin_user, receiver):
    member(org, Role.MANAGER, email="someone@acme.test")  # not an admin: not told
    endpoint = make_endpoint(org, receiver.url())
    with scopes_disabled():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=4)
    receiver.answer(500)
    sale_created(org, 1)
    fan_out()
    clock = timezone.now()
    deliver_due(now=clock)
    assert refreshed(endpoint).consecutive_failures == 5
    deliver_due(now=refreshed(endpoint).paused_until)
    assert refreshed(endpoint).consecutive_failures == 0
    outbox.sweep()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["admin@acme.test"]


def test_the_test_button_sends_once_now_and_logs_it(org, receiver):
    endpoint = make_endpoint(org, receiver.url(), enabled=False)
    receiver.answer(500)
    failed = send_test(endpoint)
    sent = send_test(endpoint)
    assert (failed.response_status, failed.trigger, sent.response_status, sent.trigger) == (500, "test", 200, "test")
    payload = verify(receiver.requests[-1], endpoint.secret)
    assert payload["type"] == "webhook.test"
    assert deliver_due(now=timezone.now() + timedelta(days=2)).claimed == 0  # never retried
    endpoint = refreshed(endpoint)
    assert endpoint.consecutive_failures == 0 and endpoint.enabled is False


def test_replay_sends_the_same_webhook_id_again_and_logs_it_as_a_replay(org, receiver):
    make_endpoint(org, receiver.url())
    sale_created(org)
    fan_out()
    deliver_due()
    row = deliveries(org)[0]
    replayed = replay(row)
    assert (replayed.status, replayed.next_trigger) == ("pending", "replay")
    deliver_due()
    first, second = receiver.requests
    assert first.webhook_id == second.webhook_id
    assert [a.trigger for a in attempts_of(row)] == ["schedule", "replay"]
    assert deliveries(org)[0].status == "succeeded"


def test_replay_of_a_time_range_takes_the_messages_created_in_it(org, receiver):
    endpoint = make_endpoint(org, receiver.url())
    for number in range(3):
        sale_created(org, number)
    fan_out()
    deliver_due()
    base = timezone.now() - timedelta(days=10)
    with scopes_disabled():
        for offset, message in enumerate(WebhookMessage.objects.order_by("pk")):
            WebhookMessage.objects.filter(pk=message.pk).update(created_at=base + timedelta(days=offset))
    assert replay_range(endpoint, base + timedelta(days=1), base + timedelta(days=3)) == 2  # [since, until)
    deliver_due()
    assert len(receiver.requests) == 5


def test_old_attempts_are_pruned_after_30_days(org, receiver):
    make_endpoint(org, receiver.url())
    sale_created(org)
    fan_out()
    deliver_due()
    row = deliveries(org)[0]
    with scopes_disabled():
        DeliveryAttempt.objects.update(attempted_at=timezone.now() - timedelta(days=31))
    assert delivery.prune_log() == 1
    assert attempts_of(row) == []


def test_a_receiver_that_hangs_times_out(org, receiver, settings):
    settings.WEBHOOK_TIMEOUT = 0.5
    make_endpoint(org, receiver.url())
    receiver.answer(200, delay=2.0)
    sale_created(org)
    fan_out()
    deliver_due()
    row = deliveries(org)[0]
    assert row.status == "pending" and row.last_status_code is None
    assert attempts_of(row)[0].error.startswith("Timed out")


def test_bodies_are_logged_truncated_to_4_kb(org, receiver):
    make_endpoint(org, receiver.url(), events=["lead.created"])
    receiver.answer(200, "x" * 10_000)
    with transaction.atomic():
        publish("lead.created", organization_id=org.pk, cause="big", data={"notes": "y" * 10_000})
    fan_out()
    deliver_due()
    [logged] = attempts_of(deliveries(org)[0])
    assert len(logged.response_body) == 4096 and len(logged.request_body) == 4096
    assert len(receiver.requests[0].body) > 10_000  # the receiver got all of it


def test_the_timestamp_header_is_the_time_of_sending_not_of_the_event(org, receiver):
    endpoint = make_endpoint(org, receiver.url())
    with transaction.atomic():
        publish("sale.created", organization_id=org.pk, cause="old", data={},
                occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
    fan_out()
    deliver_due()
    request = receiver.requests[0]
    assert verify(request, endpoint.secret)["timestamp"] == "2026-01-01T00:00:00Z"


# --- The broker down when the event is published --------------------------------------------------------


@pytest.fixture
def unreachable_broker():
    """This process's Celery app publishes to a Redis address where nothing listens (with the
    settings' broker timeouts), as when the broker is down; restored after the test."""
    import contextlib

    from django.conf import settings as django_settings

    from config.celery import app

    before = app.conf.broker_url, app.conf.broker_transport_options

    def reset_pools():
        app._pool = None
        with contextlib.suppress(AttributeError):
            app.amqp._producer_pool = None

    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    app.conf.broker_transport_options = dict(django_settings.REDIS_BROKER_TRANSPORT_OPTIONS)
    reset_pools()
    yield
    app.conf.broker_url, app.conf.broker_transport_options = before
    reset_pools()


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_at_publish_the_webhook_goes_out_once_the_sweep_runs(org, settings, unreachable_broker,
                                                                                   start_worker, caplog):
    from common import tasks as outbox_tasks
    from integrations import tasks
    from tests.support.drills import wait_for

    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    server = WebhookReceiver().start()
    try:
        endpoint = make_endpoint(org, server.url())
        sale_created(org)  # its commit tries to queue the outbox task: the broker is down
        assert "Could not queue the outbox event" in caplog.text
        assert OutboxEvent.objects.get().processed_at is None and server.requests == []

        # The broker is back (a worker on a live one); the beat sends its sweeps as usual.
        worker = start_worker("filesystem", WEBHOOK_ALLOWED_HOSTS="127.0.0.1")

        def beat():
            worker.send(outbox_tasks.sweep_outbox)
            worker.send(tasks.deliver_due)

        wait_for(lambda: len(server.requests) >= 1, "the webhook", 60, worker, every=beat)
        wait_for(lambda: deliveries(org)[0].status == DeliveryStatus.SUCCEEDED, "the delivery recorded", 30, worker,
                 every=beat)
        [request] = server.requests
        assert verify(request, endpoint.secret)["type"] == "sale.created"
        assert request.webhook_id == deliveries(org)[0].message.msg_id
    finally:
        server.stop()


def test_an_event_that_cannot_be_fanned_out_does_not_hold_up_the_others(org, receiver):
    make_endpoint(org, receiver.url())
    sale_created(org, 1)
    OutboxEvent.objects.create(topic="event", key="event:sale.created:broken", organization_id=org.pk,
                               payload=["not", "an", "envelope"])
    sale_created(org, 2)
    first = OutboxEvent.objects.order_by("pk").first()
    assert outbox.handle_key(first.key) is True  # its batch failed on the broken one: handled alone
    outbox.sweep()
    broken = OutboxEvent.objects.get(key="event:sale.created:broken")
    assert broken.processed_at is None and broken.attempts == 1 and "AttributeError" in broken.last_error
    assert OutboxEvent.objects.filter(processed_at__isnull=True).count() == 1
    deliver_due()
    assert len(receiver.requests) == 2


def test_re_enabling_a_failing_endpoint_ends_its_pause(org, receiver):
    from integrations.services.endpoints import update_endpoint

    endpoint = make_endpoint(org, receiver.url())
    receiver.answer(500)
    sale_created(org)
    fan_out()
    clock = timezone.now()
    deliver_due(now=clock)
    assert refreshed(endpoint).paused_until > clock
    with tenant_scope(org):
        update_endpoint(refreshed(endpoint), enabled=False)
        update_endpoint(refreshed(endpoint), enabled=True)  # an admin starts it afresh
    with scopes_disabled():
        WebhookDelivery.objects.update(next_attempt_at=clock)  # its own retry is due; the endpoint's pause was not
    deliver_due(now=clock + timedelta(seconds=1))
    assert len(receiver.requests) == 2 and deliveries(org)[0].status == "succeeded"
