"""Domain events: something happened that systems outside the product may hear about
(outbound webhooks, issue 16). Any layer publishes one in the transaction of the change that
caused it; it is an outbox event (common.outbox) under one topic, EVENT_TOPIC, which the
integrations app handles (fan-out to the organisation's webhook endpoints). The publisher
knows nothing of webhooks, and a broker outage only delays the event.

Event types (the Standard Webhooks `type`): see EVENT_TYPES. `data` is plain JSON: public ids
(never database ids), ISO 8601 times in UTC, money as strings with their currency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from django.utils import timezone

from . import outbox

EVENT_TOPIC = "event"
EVENT_TYPES = (
    "lead.created",
    "sale.created",
    "sale.refunded",
    "ambassador.joined",
    "campaign.published",
    "earning.created",
    "earning.updated",
    "payout.paid",
)


Listener = Callable[[int, str], bool]
_listeners: list[Listener] = []


def listen(wants: Listener) -> Listener:
    """Register `wants(organization_id, event_type) -> bool` (a higher layer, from its
    AppConfig.ready): an event is written only if some listener wants it, so an organisation
    without webhook endpoints pays nothing for the earnings ledger's millions of entries."""
    if wants not in _listeners:
        _listeners.append(wants)
    return wants


def wanted(organization_id: int, event_type: str) -> bool:
    """Whether a listener wants events of this type from this organisation: a publisher that
    must read rows to build an event's data asks first (the earnings ledger, per batch)."""
    return any(wants(organization_id, event_type) for wants in _listeners)


def publish(event_type: str, *, organization_id: int, cause: str, data: dict,
            occurred_at: datetime | None = None) -> None:
    """Write the event in the caller's transaction, if a listener wants it. `cause` names what
    it is about, uniquely for its type (e.g. the sale's public id): the same cause twice is one
    event."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {event_type!r}")
    if not wanted(organization_id, event_type):
        return
    moment = (occurred_at or timezone.now()).astimezone(UTC)
    outbox.emit(EVENT_TOPIC, key=f"event:{event_type}:{cause}", organization_id=organization_id,
                payload={"type": event_type, "timestamp": moment.isoformat().replace("+00:00", "Z"), "data": data})
