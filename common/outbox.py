"""The transactional outbox: work that must follow a commit and must not be lost.

A change writes an event in its own transaction (`emit`): the event exists exactly when the
change does. Whoever handles a topic registers for it (`@register("campaign.live")`, from a
higher layer's AppConfig.ready, so this module never imports upward). Events are handled by
`sweep()` (the beat's `common.tasks.sweep_outbox`, every few seconds) and, sooner, by a task
queued after the commit (`common.tasks.handle_outbox_event`); a broker that is down only delays
them until the next sweep.

Each event is handled in ONE transaction with its `processed_at`: the handler's writes and the
mark commit together or not at all, so a worker killed mid-handler leaves the event to be taken
again and nothing half-written. The row is claimed first (PostgreSQL: SELECT … FOR UPDATE SKIP
LOCKED, so overlapping sweeps take different events; SQLite: a conditional UPDATE, which takes
the database's write lock for the rest of the transaction). A handler that raises is rolled
back to a savepoint and the event backs off (`attempts`, `available_at`, `last_error`).
Handlers must be idempotent all the same (an event may be handled again if its commit is lost)."""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import OutboxEvent

log = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]

HANDLERS: dict[str, Handler] = {}

HANDLE_TASK = "common.tasks.handle_outbox_event"  # by name: this module must not import its tasks
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600
MAX_ERROR_LENGTH = 2000


def register(topic: str) -> Callable[[Handler], Handler]:
    """`@register("campaign.live")` over `def handle(event: OutboxEvent) -> None`; one handler per topic."""

    def decorator(func: Handler) -> Handler:
        existing = HANDLERS.get(topic)
        if existing is not None and existing is not func:
            raise ValueError(f"The outbox topic {topic!r} already has a handler ({existing.__module__}).")
        HANDLERS[topic] = func
        return func

    return decorator


def emit(topic: str, *, key: str, organization_id: int | None, payload: dict | None = None) -> None:
    """Write an event in the caller's transaction; the same key twice is a no-op (one event per
    cause). Once committed, a task is queued to handle it at once (if the broker is down, the
    beat's sweep handles it instead)."""
    OutboxEvent.objects.bulk_create(
        [OutboxEvent(topic=topic, key=key, organization_id=organization_id, payload=payload or {})],
        ignore_conflicts=True)
    if getattr(settings, "OUTBOX_PUBLISH_ON_COMMIT", True):
        transaction.on_commit(lambda: _publish(key))


def _publish(key: str) -> None:
    from celery import current_app

    try:
        current_app.send_task(HANDLE_TASK, args=[key])
    except Exception:  # noqa: BLE001 - kombu/redis/OS errors alike: the sweep is the safety net
        log.warning("Could not queue the outbox event %s (broker down?); the beat's sweep will handle it.", key,
                    exc_info=True)


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … doubling per failed attempt, at most an hour."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1), BACKOFF_MAX_SECONDS))


def _due(now):
    return OutboxEvent.objects.filter(processed_at__isnull=True, available_at__lte=now)


def _claim(event_filter, now) -> OutboxEvent | None:
    """Inside a transaction: lock one due event matching `event_filter` (a dict), or None."""
    due = _due(now).filter(**event_filter).order_by("available_at", "pk")
    if connection.vendor == "postgresql":
        return due.select_for_update(skip_locked=True).first()
    # SQLite: the first write of the transaction takes the database's write lock (IMMEDIATE
    # transactions take it at BEGIN); the conditional UPDATE both claims and re-checks the row.
    candidate = due.values_list("pk", flat=True).first()
    if candidate is None:
        return None
    if not _due(now).filter(pk=candidate).update(attempts=F("attempts")):  # a no-op write: the lock
        return None
    return OutboxEvent.objects.get(pk=candidate)


def _run(event: OutboxEvent, now) -> bool:
    """Handle a claimed event (inside its transaction); True if handled, False if it failed."""
    handler = HANDLERS.get(event.topic)
    try:
        if handler is None:
            raise LookupError(f"No handler is registered for the outbox topic {event.topic!r}.")
        with transaction.atomic():  # a savepoint: a failing handler leaves nothing behind
            handler(event)
    except Exception as error:  # noqa: BLE001 - any handler failure backs off, none is lost
        event.attempts += 1
        event.available_at = now + backoff(event.attempts)
        event.last_error = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
        event.save(update_fields=["attempts", "available_at", "last_error"])
        log.error("Outbox event %s (%s) failed (attempt %d, next at %s): %s", event.key, event.topic,
                  event.attempts, event.available_at.isoformat(), event.last_error)
        return False
    event.processed_at = timezone.now()
    event.last_error = ""
    event.save(update_fields=["processed_at", "last_error"])
    return True


def handle(event_id: int, *, now=None) -> bool:
    """Handle one event by id if it is due and not processed (and nobody else is at it)."""
    return _handle_one({"pk": event_id}, now)


def handle_key(key: str, *, now=None) -> bool:
    """Handle one event by key (what the post-commit task carries)."""
    return _handle_one({"key": key}, now)


def _handle_one(event_filter: dict, now) -> bool:
    now = now or timezone.now()
    with transaction.atomic():
        event = _claim(event_filter, now)
        if event is None:
            return False
        return _run(event, now)


def sweep(limit: int = 100, *, now=None) -> int:
    """Handle up to `limit` due events, each in its own transaction; the number handled (failed
    ones count too: they were taken and backed off)."""
    now = now or timezone.now()
    done = 0
    while done < limit:
        with transaction.atomic():
            event = _claim({}, now)
            if event is None:
                break
            _run(event, now)
        done += 1
    return done


def pending_count() -> int:
    return OutboxEvent.objects.filter(processed_at__isnull=True).count()
