"""The webhook delivery engine: due WebhookDelivery rows → signed POSTs → succeeded, retried,
failed, or the endpoint paused or disabled.

1. **Claim** (`claim`): due rows (pending, next_attempt_at ≤ now, of an enabled endpoint that is
   not paused) are taken in one transaction by moving their next_attempt_at to a lease (now +
   WEBHOOK_LEASE_SECONDS): PostgreSQL SELECT … FOR UPDATE SKIP LOCKED, so overlapping sweeps and
   workers take different rows; SQLite: the transaction holds the database's write lock. A worker
   that dies leaves its rows due again when the lease ends (so a message may be sent twice:
   receivers de-duplicate on webhook-id, as the specification asks).
2. **Send**: one lane per endpoint, endpoints in parallel (WEBHOOK_PARALLEL threads, HTTP only:
   no database in the threads). A lane sends its rows in order and stops at the first failure:
   an endpoint that is down costs one failed attempt, not one per pending event. No request is
   started with less than the timeout left on the lease.
3. **Record**, in one transaction per claim: a DeliveryAttempt per request (headers without the
   signature, bodies truncated to 4 KB) and each row's outcome, written only if the row is still
   ours (its lease unchanged). Only 2xx is success. After a failure the row is retried after
   RETRY_SCHEDULE[attempts - 1] ± 10 % (429 and 503: after Retry-After, at most a day) and the
   endpoint is **paused** until then: nothing else is sent to it before that retry (the circuit
   breaker). `consecutive_failures` counts failed attempts and is reset by a success; at 5, 10
   and 15 the organisation's admins are e-mailed (an outbox event, so the e-mail survives an SMTP
   outage), at 20 the endpoint is disabled. 410 Gone disables it at once. Disabling cancels its
   pending deliveries.

`send_test` sends a `webhook.test` message once, now, outside all this; `replay` and
`replay_range` schedule deliveries again."""

from __future__ import annotations

import json
import logging
import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scopes_disabled

from common import outbox
from tenancy.scoping import tenant_scope

from .. import signing, ssrf
from ..models import DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookMessage

log = logging.getLogger(__name__)

new_secret = signing.new_secret  # the interface the endpoint services use

DEFAULT_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)  # seconds, after each failure
JITTER = 0.10
ALERT_THRESHOLDS = (5, 10, 15)  # consecutive failures at which the admins are e-mailed
DISABLE_AFTER = 20  # consecutive failures
MAX_RETRY_AFTER = 24 * 3600.0  # seconds: a Retry-After further away is capped
RETRY_AFTER_STATUSES = (429, 503)
LOGGED_BODY_BYTES = 4096
MAX_ERROR = 500  # DeliveryAttempt.error's length
MAX_REASON = 300  # WebhookEndpoint.disabled_reason's length
LOG_DAYS = 30
ALERT_TOPIC = "integrations.endpoint_alert"
TEST_EVENT_TYPE = "webhook.test"


def _setting(name: str, default):
    return getattr(settings, name, default)


def retry_schedule() -> tuple[int, ...]:
    return tuple(_setting("WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE))


def timeout_seconds() -> float:
    return float(_setting("WEBHOOK_TIMEOUT", 15.0))


def retry_delay(failed_attempts: int) -> timedelta | None:
    """How long after its `failed_attempts`-th failure a delivery is tried again (± 10 %), or
    None when the schedule is over (the delivery has failed)."""
    schedule = retry_schedule()
    if failed_attempts > len(schedule):
        return None
    return timedelta(seconds=schedule[max(failed_attempts, 1) - 1] * random.uniform(1 - JITTER, 1 + JITTER))  # noqa: S311 - jitter, not a secret


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After in seconds (a number of seconds or an HTTP date), between 1 s and a day; None
    if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment is None:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - now).total_seconds()
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)


def encode(payload: dict) -> bytes:
    """The request body: the envelope in its documented order, compact JSON, UTF-8."""
    envelope = {"type": payload.get("type"), "timestamp": payload.get("timestamp"), "data": payload.get("data", {})}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def _text(content: bytes) -> str:
    return content[:LOGGED_BODY_BYTES].decode("utf-8", errors="replace")


def _header(headers: dict[str, str], name: str) -> str | None:
    name = name.lower()
    return next((value for key, value in headers.items() if key.lower() == name), None)


# --- One request -----------------------------------------------------------------------------------

@dataclass
class Outcome:
    """One attempt: what was sent (signature left out) and what came back."""

    delivery_id: int
    trigger: str
    attempted_at: datetime
    request_headers: dict
    request_body: str
    result: ssrf.HttpResult

    @property
    def succeeded(self) -> bool:
        return self.result.status is not None and 200 <= self.result.status < 300

    @property
    def error(self) -> str:
        if self.result.error:
            return self.result.error[:MAX_ERROR]
        status = self.result.status
        if status is not None and 300 <= status < 400:
            return f"Redirect ({status}) not followed: webhooks are only sent to the URL given."
        if status is not None and not self.succeeded:
            return f"The receiver answered {status}; only 2xx counts as delivered."
        return ""

    def attempt_row(self, delivery: WebhookDelivery) -> DeliveryAttempt:
        result = self.result
        return DeliveryAttempt(
            organization_id=delivery.organization_id, delivery_id=delivery.pk, attempted_at=self.attempted_at,
            duration_ms=result.duration_ms, request_headers=self.request_headers, request_body=self.request_body,
            response_status=result.status,
            response_headers={name: value[:500] for name, value in list(result.headers.items())[:50]},
            response_body=_text(result.body), error=self.error, trigger=self.trigger)


def attempt(endpoint: WebhookEndpoint, message: WebhookMessage, *, trigger: str) -> Outcome:
    """Sign and POST the message to the endpoint once (through the SSRF guard)."""
    body = encode(message.payload)
    attempted_at = timezone.now()
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "webhook-id": message.msg_id,
               "webhook-timestamp": str(timestamp)}
    signature = signing.signature_header(endpoint, message.msg_id, timestamp, body, attempted_at)
    try:
        result = ssrf.post(endpoint.url, body, {**headers, "webhook-signature": signature}, timeout=timeout_seconds())
    except Exception as error:  # noqa: BLE001 - a bug or an odd URL must fail this attempt, not the batch
        log.exception("Webhook attempt to endpoint %s failed unexpectedly", endpoint.public_id)
        result = ssrf.HttpResult(error=f"The request could not be made ({type(error).__name__}).")
    logged = {**headers, "User-Agent": ssrf.USER_AGENT}
    return Outcome(0, trigger, attempted_at, logged, _text(body), result)


# --- Claiming ----------------------------------------------------------------------------------------

@dataclass
class Claim:
    rows: list[WebhookDelivery]
    lease: datetime
    now: datetime  # the clock the claim ran on (tests move it)
    real_now: datetime
    deadline: float  # time.monotonic() when the lease ends

    def clock(self) -> datetime:
        """`now` moved on by the time spent since the claim."""
        return self.now + (timezone.now() - self.real_now)


def _due(now, organization_id):
    """Due rows of enabled endpoints that are not paused. A pause holds only while the endpoint
    counts failures: re-enabling it (which forgets its failures) ends a pause too."""
    rows = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now,
                                          endpoint__enabled=True).filter(
        Q(endpoint__paused_until__isnull=True) | Q(endpoint__paused_until__lte=now)
        | Q(endpoint__consecutive_failures=0))
    if organization_id is not None:
        rows = rows.filter(organization_id=organization_id)
    return rows


def claim(*, now=None, organization_id: int | None = None, limit: int | None = None) -> Claim | None:
    """Take up to `limit` due rows (platform-wide unless `organization_id`); None if none is due."""
    now = now or timezone.now()
    real_now = timezone.now()
    limit = limit or int(_setting("WEBHOOK_BATCH_SIZE", 200))
    lease_seconds = float(_setting("WEBHOOK_LEASE_SECONDS", 120))
    started = time.monotonic()
    with scopes_disabled(), transaction.atomic():
        due = _due(now, organization_id).order_by("next_attempt_at", "pk")
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return None
        lease = now + timedelta(seconds=lease_seconds)
        WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=lease)
        rows = list(WebhookDelivery.objects.filter(pk__in=ids).select_related("endpoint", "message"))
    return Claim(rows=rows, lease=lease, now=now, real_now=real_now, deadline=started + lease_seconds)


# --- Sending -------------------------------------------------------------------------------------------

def _lane(rows: list[WebhookDelivery], deadline: float) -> list[Outcome]:
    """One endpoint's rows, in order, until the first failure or too little lease left."""
    outcomes = []
    margin = timeout_seconds() + 1.0
    for row in rows:
        if time.monotonic() + margin > deadline:
            break
        outcome = attempt(row.endpoint, row.message, trigger=row.next_trigger or "schedule")
        outcome.delivery_id = row.pk
        outcomes.append(outcome)
        if not outcome.succeeded:
            break
    return outcomes


def _lanes(rows: list[WebhookDelivery]) -> dict[int, list[WebhookDelivery]]:
    """Rows per endpoint; in each, the most-tried first (the endpoint's retry is the one whose
    schedule is furthest along), then oldest first."""
    lanes: dict[int, list[WebhookDelivery]] = defaultdict(list)
    for row in rows:
        lanes[row.endpoint_id].append(row)
    for lane in lanes.values():
        lane.sort(key=lambda row: (-row.attempts, row.message.created_at, row.pk))
    return lanes


def send(claim: Claim) -> dict[int, list[Outcome]]:
    """Every lane's outcomes, per endpoint id."""
    lanes = _lanes(claim.rows)
    if len(lanes) == 1:
        endpoint_id, rows = next(iter(lanes.items()))
        return {endpoint_id: _lane(rows, claim.deadline)}
    workers = max(1, min(int(_setting("WEBHOOK_PARALLEL", 8)), len(lanes)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhooks") as pool:
        futures = {endpoint_id: pool.submit(_lane, rows, claim.deadline) for endpoint_id, rows in lanes.items()}
        return {endpoint_id: future.result() for endpoint_id, future in futures.items()}


# --- Recording -----------------------------------------------------------------------------------------

@dataclass
class Run:
    """What deliver_due did."""

    claimed: int = 0
    succeeded: int = 0
    retried: int = 0
    failed: int = 0
    disabled: list[int] = field(default_factory=list)  # endpoint ids
    more: bool = False


def _mine(claim: Claim, ids):
    return WebhookDelivery.objects.filter(pk__in=list(ids), status=DeliveryStatus.PENDING,
                                          next_attempt_at=claim.lease)


def _alert(endpoint: WebhookEndpoint, kind: str, now: datetime, detail: str = "") -> None:
    """Tell the organisation's admins (an outbox event: integrations.handlers e-mails them)."""
    outbox.emit(ALERT_TOPIC, key=f"webhook-alert:{endpoint.public_id}:{kind}:{endpoint.consecutive_failures}:"
                                 f"{now.isoformat()}", organization_id=endpoint.organization_id,
                payload={"endpoint_id": endpoint.pk, "kind": kind, "failures": endpoint.consecutive_failures,
                         "detail": detail[:MAX_REASON]})


def disable_endpoint(endpoint: WebhookEndpoint, reason: str, *, now: datetime | None = None) -> int:
    """Disable the endpoint (in the caller's transaction), cancel its pending deliveries and tell
    the admins; how many deliveries were canceled."""
    now = now or timezone.now()
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:MAX_REASON]
    endpoint.paused_until = None
    endpoint.save(update_fields=["enabled", "disabled_reason", "paused_until", "updated_at"])
    canceled = WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELED, next_attempt_at=None)
    _alert(endpoint, "disabled", now, reason)
    log.warning("Webhook endpoint %s of organisation %s disabled: %s (%d pending deliveries canceled)",
                endpoint.public_id, endpoint.organization_id, reason, canceled)
    return canceled


def _record_failure(claim: Claim, row: WebhookDelivery, outcome: Outcome, reset_first: bool, run: Run) -> datetime:
    """A lane's failed attempt: the row's next step and the endpoint's count, pause, alerts;
    returns when the endpoint may be tried again (or the lease, if it was disabled)."""
    now = claim.clock()
    status = outcome.result.status
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=row.endpoint_id)
    changes = {"attempts": F("attempts") + 1, "last_attempt_at": outcome.attempted_at, "last_status_code": status,
               "next_trigger": "schedule"}
    if status == 410:
        _mine(claim, [row.pk]).update(status=DeliveryStatus.CANCELED, next_attempt_at=None, **changes)
        if endpoint.enabled:
            disable_endpoint(endpoint, "The receiver answered 410 Gone: it no longer wants these events.", now=now)
            run.disabled.append(endpoint.pk)
        run.failed += 1
        return claim.lease
    failed_attempts = row.attempts + 1
    retry_after = (parse_retry_after(_header(outcome.result.headers, "Retry-After"), now)
                   if status in RETRY_AFTER_STATUSES else None)
    delay = retry_delay(failed_attempts)
    if delay is None:  # the schedule is over
        _mine(claim, [row.pk]).update(status=DeliveryStatus.FAILED, next_attempt_at=None, **changes)
        resume_at = now + (timedelta(seconds=retry_after) if retry_after else retry_delay(len(retry_schedule())))
        run.failed += 1
    else:
        resume_at = now + (timedelta(seconds=retry_after) if retry_after is not None else delay)
        _mine(claim, [row.pk]).update(next_attempt_at=resume_at, **changes)
        run.retried += 1
    endpoint.consecutive_failures = (0 if reset_first else endpoint.consecutive_failures) + 1
    endpoint.paused_until = resume_at
    endpoint.save(update_fields=["consecutive_failures", "paused_until"])
    if endpoint.consecutive_failures >= DISABLE_AFTER and endpoint.enabled:
        disable_endpoint(endpoint, f"Disabled after {endpoint.consecutive_failures} failed attempts in a row "
                                   f"(last: {outcome.error})", now=now)
        run.disabled.append(endpoint.pk)
        return claim.lease
    if endpoint.consecutive_failures in ALERT_THRESHOLDS:
        _alert(endpoint, "failing", now, outcome.error)
    return resume_at


def record(claim: Claim, outcomes: dict[int, list[Outcome]], run: Run) -> None:
    """Write every lane's attempts and outcomes, and release the rows no lane got to."""
    by_id = {row.pk: row for row in claim.rows}
    attempted = {outcome.delivery_id for lane in outcomes.values() for outcome in lane}
    with scopes_disabled(), transaction.atomic():
        DeliveryAttempt.objects.bulk_create(
            [outcome.attempt_row(by_id[outcome.delivery_id]) for lane in outcomes.values() for outcome in lane])
        for endpoint_id in sorted(outcomes):  # endpoints locked in one order: no deadlock between workers
            lane = outcomes[endpoint_id]
            successes = [outcome for outcome in lane if outcome.succeeded]
            by_status: dict[int, list[Outcome]] = defaultdict(list)
            for outcome in successes:
                by_status[outcome.result.status].append(outcome)
            for status, group in by_status.items():
                _mine(claim, [outcome.delivery_id for outcome in group]).update(
                    status=DeliveryStatus.SUCCEEDED, next_attempt_at=None, attempts=F("attempts") + 1,
                    last_attempt_at=max(outcome.attempted_at for outcome in group), last_status_code=status,
                    next_trigger="schedule")
            run.succeeded += len(successes)
            failure = lane[-1] if lane and not lane[-1].succeeded else None
            resume_at = claim.clock()
            if failure is not None:
                resume_at = _record_failure(claim, by_id[failure.delivery_id], failure, bool(successes), run)
            elif successes:
                WebhookEndpoint.objects.filter(pk=endpoint_id).filter(
                    Q(consecutive_failures__gt=0) | Q(paused_until__isnull=False)).update(
                    consecutive_failures=0, paused_until=None)
            left = [row.pk for row in claim.rows if row.endpoint_id == endpoint_id and row.pk not in attempted]
            if left:  # not tried: after the endpoint's pause, or at once (the lease ran short)
                _mine(claim, left).update(next_attempt_at=resume_at)
        untouched = [row.pk for row in claim.rows if row.endpoint_id not in outcomes]
        if untouched:
            _mine(claim, untouched).update(next_attempt_at=claim.clock())


def process(claim: Claim) -> Run:
    run = Run(claimed=len(claim.rows))
    record(claim, send(claim), run)
    return run


def deliver_due(*, now=None, organization_id: int | None = None, budget_seconds: float | None = None,
                batch_size: int | None = None) -> Run:
    """Claim, send and record due deliveries, batch after batch, until none is due or the budget
    is spent (then `more` is set: the caller queues another run). `now` fixes the clock (tests)."""
    budget = float(_setting("WEBHOOK_SEND_BUDGET_SECONDS", 50)) if budget_seconds is None else budget_seconds
    stop_at = time.monotonic() + budget
    total = Run()
    while True:
        batch = claim(now=now, organization_id=organization_id, limit=batch_size)
        if batch is None:
            break
        run = process(batch)
        for name in ("claimed", "succeeded", "retried", "failed"):
            setattr(total, name, getattr(total, name) + getattr(run, name))
        total.disabled += run.disabled
        if time.monotonic() >= stop_at:
            total.more = True
            break
    if total.claimed:
        log.info("Webhooks: claimed=%d succeeded=%d retried=%d failed=%d disabled=%d more=%s", total.claimed,
                 total.succeeded, total.retried, total.failed, len(total.disabled), total.more)
    return total


# --- The admins' operations: test, replay --------------------------------------------------------------

def send_test(endpoint: WebhookEndpoint) -> DeliveryAttempt:
    """Send a `webhook.test` message to the endpoint once, now (whether enabled or not), and log
    it (trigger "test"). It is never retried and changes nothing about the endpoint."""
    from .fanout import new_msg_id

    now = timezone.now()
    timestamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    with tenant_scope(endpoint.organization_id):
        message = WebhookMessage.objects.create(
            organization_id=endpoint.organization_id, msg_id=new_msg_id(), event_type=TEST_EVENT_TYPE,
            cause=f"test:{endpoint.public_id}:{now.isoformat()}:{random.random()}",  # noqa: S311 - unique, not secret
            payload={"type": TEST_EVENT_TYPE, "timestamp": timestamp,
                     "data": {"endpoint_id": str(endpoint.public_id), "message": "A test event: it works."}})
        # Leased far ahead while the request runs, so no sweep takes it; settled right after.
        delivery = WebhookDelivery.objects.create(
            organization_id=endpoint.organization_id, endpoint=endpoint, message=message,
            next_attempt_at=now + timedelta(days=1))
        outcome = attempt(endpoint, message, trigger="test")
        with transaction.atomic():
            delivery.status = DeliveryStatus.SUCCEEDED if outcome.succeeded else DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            delivery.attempts = 1
            delivery.last_attempt_at = outcome.attempted_at
            delivery.last_status_code = outcome.result.status
            delivery.save(update_fields=["status", "next_attempt_at", "attempts", "last_attempt_at",
                                         "last_status_code"])
            logged = outcome.attempt_row(delivery)
            logged.save()
            return logged


def _queue_after_commit(organization_id: int) -> None:
    """Ask a worker to send the organisation's due deliveries once this commits (by name: the
    tasks module imports this one). The beat's sweep sends them if the broker is down."""
    def publish():
        from celery import current_app

        try:
            current_app.send_task("integrations.tasks.deliver_due_for", args=[organization_id])
        except Exception:  # noqa: BLE001 - kombu/redis/OS errors alike: the sweep is the safety net
            log.warning("Could not queue webhook delivery for organisation %s (broker down?); the beat's sweep "
                        "sends it.", organization_id, exc_info=True)

    if _setting("WEBHOOK_SEND_ON_COMMIT", True):
        transaction.on_commit(publish)


def _replay_changes(now: datetime) -> dict:
    return {"status": DeliveryStatus.PENDING, "next_attempt_at": now, "next_trigger": "replay", "attempts": 0}


def replay(delivery: WebhookDelivery) -> WebhookDelivery:
    """Schedule the delivery again now (its retry schedule starts over); its next attempt is
    logged as a replay. An endpoint that is disabled gets it once it is enabled again."""
    now = timezone.now()
    with tenant_scope(delivery.organization_id), transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**_replay_changes(now))
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(paused_until=None)
        _queue_after_commit(delivery.organization_id)
    with tenant_scope(delivery.organization_id):
        delivery.refresh_from_db()
    return delivery


def replay_range(endpoint: WebhookEndpoint, since: datetime, until: datetime) -> int:
    """Replay every delivery of the endpoint whose message was created in [since, until); how many."""
    now = timezone.now()
    with tenant_scope(endpoint.organization_id), transaction.atomic():
        count = WebhookDelivery.objects.filter(endpoint=endpoint, message__created_at__gte=since,
                                               message__created_at__lt=until).update(**_replay_changes(now))
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(paused_until=None)
        if count:
            _queue_after_commit(endpoint.organization_id)
    return count


def prune_log(*, now=None, days: int = LOG_DAYS, chunk: int = 5000) -> int:
    """Delete attempts older than `days` (in chunks, so no transaction holds the table long)."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted = 0
    with scopes_disabled():
        while True:
            ids = list(DeliveryAttempt.objects.filter(attempted_at__lt=cutoff).values_list("pk", flat=True)[:chunk])
            if not ids:
                return deleted
            deleted += DeliveryAttempt.objects.filter(pk__in=ids).delete()[0]
