"""A domain event (common.events, outbox topic "event") becomes webhook deliveries.

Runs inside the outbox's transaction for the event (common/outbox.py), so the message, its
deliveries and the event's "handled" mark commit together. Idempotent all the same (the outbox
may run a handler again if its commit was lost): one WebhookMessage per organisation and cause
(the outbox key) and one WebhookDelivery per endpoint and message are unique in the database,
and what exists is reused, never duplicated.

An event no enabled endpoint of its organisation subscribes to leaves no message: most
organisations have no webhooks, and every lead and sale would otherwise be written twice."""

from __future__ import annotations

import secrets
import string

from django.utils import timezone

from common.models import OutboxEvent
from tenancy.scoping import tenant_scope

from ..models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookMessage

MSG_ID_ALPHABET = string.ascii_letters + string.digits
MSG_ID_LENGTH = 26


def new_msg_id() -> str:
    """`msg_` + 26 random letters and digits (~155 bits): the message's `webhook-id`."""
    return "msg_" + "".join(secrets.choice(MSG_ID_ALPHABET) for _ in range(MSG_ID_LENGTH))


def subscribed_endpoints(organization_id: int, event_type: str) -> list[WebhookEndpoint]:
    """The organisation's enabled endpoints that chose this event type. Filtered in Python: an
    organisation has a handful of endpoints, and SQLite has no JSON containment lookup."""
    endpoints = WebhookEndpoint.objects.filter(organization_id=organization_id, enabled=True).order_by("pk")
    return [endpoint for endpoint in endpoints if event_type in (endpoint.events or [])]


def fan_out(event: OutboxEvent) -> int:
    """The message and deliveries of one event (in the caller's transaction); how many of its
    deliveries are pending (0: nothing to send)."""
    payload = event.payload
    event_type = payload.get("type", "")
    organization_id = event.organization_id
    if organization_id is None:
        return 0
    with tenant_scope(organization_id):
        endpoints = subscribed_endpoints(organization_id, event_type)
        if not endpoints:
            return 0
        message = WebhookMessage.objects.filter(organization_id=organization_id, cause=event.key).first()
        if message is None:
            message = WebhookMessage.objects.create(
                organization_id=organization_id, msg_id=new_msg_id(), event_type=event_type, cause=event.key,
                payload={"type": event_type, "timestamp": payload.get("timestamp"), "data": payload.get("data", {})})
        now = timezone.now()
        WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(organization_id=organization_id, endpoint=endpoint, message=message, next_attempt_at=now,
                             created_at=now) for endpoint in endpoints],
            ignore_conflicts=True)
        return WebhookDelivery.objects.filter(message=message, status=DeliveryStatus.PENDING).count()
