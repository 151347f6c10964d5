"""Domain events (common.events, outbox topic "event") become webhook deliveries.

Runs inside the outbox's transaction for the event (common/outbox.py), so the messages, their
deliveries and the events' "handled" marks commit together. Idempotent all the same (the outbox
may run a handler again if its commit was lost): one WebhookMessage per organisation and cause
(the outbox key) and one WebhookDelivery per endpoint and message are unique in the database,
and what exists is reused, never duplicated.

A burst of events (an import, a busy shop) would cost a transaction and a dozen statements per
event if each were fanned out alone; so the handler also takes up to FANOUT_BATCH other due
events of its topic (`take_due_siblings`: locked with SKIP LOCKED on PostgreSQL, like the
outbox's own claim; on SQLite the transaction already holds the write lock) and fans them all
out in a few statements, marking them handled in the same transaction. Their own queued tasks
then find nothing to do. If the batch fails (one bad event), its savepoint is rolled back and
the event is fanned out alone; the others are left to their own tasks, and an event that
failed before is never taken into a batch again.

An event no enabled endpoint of its organisation subscribes to leaves no message: most
organisations have no webhooks, and every lead and sale would otherwise be written twice."""

from __future__ import annotations

import logging
import secrets
import string
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from common.events import EVENT_TOPIC
from common.models import OutboxEvent
from tenancy.scoping import tenant_scope

from ..models import WebhookDelivery, WebhookEndpoint, WebhookMessage

log = logging.getLogger(__name__)

MSG_ID_ALPHABET = string.ascii_letters + string.digits
MSG_ID_LENGTH = 26
FANOUT_BATCH = 200  # events fanned out in one transaction (WEBHOOK_FANOUT_BATCH)


def new_msg_id() -> str:
    """`msg_` + 26 random letters and digits (~155 bits): the message's `webhook-id`."""
    return "msg_" + "".join(secrets.choice(MSG_ID_ALPHABET) for _ in range(MSG_ID_LENGTH))


def take_due_siblings(event: OutboxEvent, limit: int) -> list[OutboxEvent]:
    """Up to `limit` other due, unhandled events of the topic, locked for this transaction."""
    if limit <= 0:
        return []
    # An event that failed before is left to be handled alone (its own task, the outbox's backoff).
    due = (OutboxEvent.objects.filter(topic=EVENT_TOPIC, processed_at__isnull=True, available_at__lte=timezone.now(),
                                      attempts=0)
           .exclude(pk=event.pk).order_by("available_at", "pk"))
    if connection.vendor == "postgresql":
        due = due.select_for_update(skip_locked=True)
    return list(due[:limit])


def fan_out_many(events: list[OutboxEvent]) -> dict[int, int]:
    """Messages and deliveries of `events` (in the caller's transaction); per organisation, how
    many deliveries were asked for (no entry: nothing to send)."""
    by_organization: dict[int, list[OutboxEvent]] = defaultdict(list)
    for event in events:
        if event.organization_id is not None:
            by_organization[event.organization_id].append(event)
    queued: dict[int, int] = {}
    for organization_id, own_events in by_organization.items():
        with tenant_scope(organization_id):
            # Subscriptions are matched in Python: an organisation has a handful of endpoints, and
            # SQLite has no JSON containment lookup.
            endpoints = list(WebhookEndpoint.objects.filter(organization_id=organization_id, enabled=True)
                             .order_by("pk"))
            wanted = [(event, [endpoint for endpoint in endpoints
                               if event.payload.get("type", "") in (endpoint.events or [])]) for event in own_events]
            wanted = [(event, targets) for event, targets in wanted if targets]
            if not wanted:
                continue
            # One statement whether or not a message exists (a handler run again): an upsert that
            # changes nothing of an existing row (its msg_id stays) and returns every row's id.
            messages = WebhookMessage.objects.bulk_create(
                [WebhookMessage(organization_id=organization_id, msg_id=new_msg_id(),
                                event_type=event.payload.get("type", ""), cause=event.key,
                                payload={"type": event.payload.get("type", ""),
                                         "timestamp": event.payload.get("timestamp"),
                                         "data": event.payload.get("data", {})})
                 for event, _ in wanted],
                update_conflicts=True, unique_fields=["organization", "cause"], update_fields=["event_type"])
            now = timezone.now()
            rows = [WebhookDelivery(organization_id=organization_id, endpoint=endpoint, message_id=message.pk,
                                    next_attempt_at=now, created_at=now)
                    for message, (_, targets) in zip(messages, wanted, strict=True) for endpoint in targets]
            WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
            queued[organization_id] = len(rows)
    return queued


def fan_out(event: OutboxEvent, *, batch: int | None = None) -> dict[int, int]:
    """The event, and up to `batch` - 1 other due events of its topic, fanned out in the caller's
    transaction; the others are marked handled with it. Per organisation, deliveries asked for."""
    batch = int(getattr(settings, "WEBHOOK_FANOUT_BATCH", FANOUT_BATCH)) if batch is None else batch
    siblings = take_due_siblings(event, batch - 1)
    if siblings:
        try:
            with transaction.atomic():  # a savepoint: a sibling that fails takes nothing with it
                queued = fan_out_many([event, *siblings])
                OutboxEvent.objects.filter(pk__in=[sibling.pk for sibling in siblings]).update(
                    processed_at=timezone.now(), last_error="")
            return queued
        except Exception as error:  # noqa: BLE001 - whatever failed is found by handling each alone
            log.warning("Fanning out %d events with %s failed (%s); handling it alone, the others by their own "
                        "tasks.", len(siblings) + 1, event.key, type(error).__name__)
    return fan_out_many([event])
