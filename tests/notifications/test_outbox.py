"""The outbox (common/outbox.py): one event per key, each handled with its writes in one
transaction, a failing handler rolled back and retried with backoff."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ambassadors.models import AmbassadorGroup
from common import outbox
from common.models import OutboxEvent
from tenancy.scoping import tenant_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def topic():
    """A test topic whose handler writes a row (a group named in the payload), then fails when asked."""
    name = "test.make-group"
    calls = []

    def handle(event):
        calls.append(event.key)
        with tenant_scope(event.organization_id):
            AmbassadorGroup.objects.create(organization_id=event.organization_id, name=event.payload["name"])
        if event.payload.get("fail_times", 0) >= len(calls):
            raise RuntimeError("the mail server is on fire")

    outbox.register(name)(handle)
    yield name, calls
    outbox.HANDLERS.pop(name, None)


def groups(org) -> list[str]:
    with tenant_scope(org):
        return sorted(AmbassadorGroup.objects.values_list("name", flat=True))


def test_the_same_key_twice_makes_one_event(org, topic):
    name, _ = topic
    outbox.emit(name, key="make:1", organization_id=org.pk, payload={"name": "First"})
    outbox.emit(name, key="make:1", organization_id=org.pk, payload={"name": "Second"})
    assert list(OutboxEvent.objects.values_list("key", "payload")) == [("make:1", {"name": "First"})]


def test_an_event_is_handled_once_with_its_writes(org, topic):
    name, calls = topic
    outbox.emit(name, key="make:2", organization_id=org.pk, payload={"name": "Handled"})
    assert outbox.sweep() == 1
    assert outbox.sweep() == 0
    assert outbox.handle_key("make:2") is False  # the post-commit task arriving late: nothing to do
    assert calls == ["make:2"] and groups(org) == ["Handled"]
    event = OutboxEvent.objects.get(key="make:2")
    assert event.processed_at is not None and event.attempts == 0 and event.last_error == ""


def test_a_failing_handler_leaves_nothing_and_is_retried_with_backoff(org, topic):
    name, calls = topic
    outbox.emit(name, key="make:3", organization_id=org.pk, payload={"name": "Eventually", "fail_times": 2})
    start = timezone.now()

    assert outbox.sweep(now=start) == 1
    event = OutboxEvent.objects.get(key="make:3")
    assert groups(org) == []  # the handler's row went with its failure
    assert event.processed_at is None and event.attempts == 1
    assert "the mail server is on fire" in event.last_error
    assert event.available_at == start + timedelta(seconds=5)

    assert outbox.sweep(now=start + timedelta(seconds=4)) == 0  # still backing off
    assert outbox.sweep(now=start + timedelta(seconds=5)) == 1  # second failure: twice as long
    event.refresh_from_db()
    assert event.attempts == 2 and event.available_at == start + timedelta(seconds=15)
    assert groups(org) == []

    assert outbox.sweep(now=start + timedelta(seconds=15)) == 1
    event.refresh_from_db()
    assert event.processed_at is not None and event.last_error == ""
    assert groups(org) == ["Eventually"] and len(calls) == 3


def test_an_event_without_a_handler_waits_for_one(org):
    outbox.emit("test.nobody", key="nobody:1", organization_id=org.pk)
    outbox.sweep()
    event = OutboxEvent.objects.get(key="nobody:1")
    assert event.processed_at is None and "No handler" in event.last_error


def test_backoff_doubles_up_to_an_hour():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert outbox.backoff(30).total_seconds() == 3600
