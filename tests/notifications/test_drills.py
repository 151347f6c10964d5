"""Drills with real parts: a real Celery worker (subprocess, tests/support/workers.py), a Redis of
the test's own as its broker (tests/support/drills.py), and a real SMTP server on loopback
(tests/support/smtp.py) that counts what arrived per recipient.

(a) A campaign published from the admin's page while the broker is unreachable: the request
    succeeds (the outbox event is in the database), then a worker started on a live broker and
    driven as the beat drives it sends every targeted ambassador exactly one e-mail.
(b) A worker SIGKILLed in the middle of the fan-out (PostgreSQL: held on a row lock) leaves no
    row and its event unhandled; the next worker fans out and sends once.
(c) A worker SIGKILLed in the middle of sending a campaign to hundreds of ambassadors: after a new
    worker takes over (once the dead one's lease has run out), every ambassador has exactly one
    e-mail. Killed inside an SMTP transaction (the server holds one recipient unanswered), that
    is strict: 0 duplicates, 0 missing. Killed at a random moment, a kill can land in the one
    window there is (after the server accepted a message, before its row was marked sent: see
    notifications/delivery.py): that one message is then sent again with the same Message-ID, so
    it is recognisable; no one gets two different e-mails and no one gets none.

Figures are printed as `DRILL notify-…` lines (pytest -s)."""

import contextlib
import time
from collections import Counter

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django_scopes import scopes_disabled

from ambassadors.models import Ambassador
from campaigns.models import Campaign
from common import tasks as outbox_tasks
from common.models import OutboxEvent
from config.celery import app
from notifications import tasks as notification_tasks
from notifications.fanout import email_key
from notifications.models import Delivery, DeliveryChannel, DeliveryStatus, Kind
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory
from tests.support.drills import wait_for
from tests.support.notify import publish
from tests.support.smtp import free_port
from tests.support.workers import stop_process_group

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CATCH_UP = 60  # seconds for a worker to send everything
# The worker's engine settings: a short lease so the new worker takes over the dead one's rows
# quickly, a short SMTP timeout (a message is never started with less than that left on the lease).
WORKER_ENGINE = {"NOTIFY_LEASE_SECONDS": "6", "EMAIL_TIMEOUT": "2", "NOTIFY_BATCH_SIZE": "50"}


def make_ambassadors(org, count: int, tag: str) -> set[str]:
    """`count` active ambassadors (no user account needed to receive e-mail); their addresses."""
    emails = [f"{tag}-{n}@drill.example.com" for n in range(count)]
    for email in emails:
        AmbassadorFactory(organization=org, user=None, email=email)
    return set(emails)


def beat(worker):
    """What celery beat sends every few seconds: the outbox sweep and the engine's send_due."""
    def tick():
        worker.send(outbox_tasks.sweep_outbox)
        worker.send(notification_tasks.send_due)
    return tick


def counts(smtp_server) -> tuple[Counter, dict[str, set[str]]]:
    """Arrivals per recipient, and the distinct Message-IDs each recipient got."""
    per_recipient, message_ids = Counter(), {}
    for arrival in smtp_server.arrivals:
        for recipient in arrival.rcpt_tos:
            per_recipient[recipient.lower()] += 1
            message_ids.setdefault(recipient.lower(), set()).add(str(arrival.message["Message-ID"]))
    return per_recipient, message_ids


def sent_rows() -> int:
    with scopes_disabled():
        return Delivery.objects.filter(status=DeliveryStatus.SENT).count()


def all_sent(expected: int):
    def check() -> bool:
        with scopes_disabled():
            return Delivery.objects.filter(status=DeliveryStatus.SENT).count() == expected
    return check


# --- (a) the broker down at publish time --------------------------------------------------------------


@pytest.fixture
def unreachable_broker():
    """This process's Celery app publishes to a Redis address where nothing listens (configured
    as config/settings.py configures a Redis broker, timeouts included); restored after the test."""
    before = app.conf.broker_url, app.conf.broker_transport_options

    def reset_pools():
        app._pool = None
        with contextlib.suppress(AttributeError):
            app.amqp._producer_pool = None

    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    app.conf.broker_transport_options = dict(django_settings.REDIS_BROKER_TRANSPORT_OPTIONS)
    reset_pools()
    yield app.conf.broker_url
    app.conf.broker_url, app.conf.broker_transport_options = before
    reset_pools()


def test_publishing_with_the_broker_down_loses_no_email(org, admin_user, client, smtp_server, redis_server,
                                                          start_worker, unreachable_broker, caplog):
    expected = make_ambassadors(org, 150, "broker-down")
    client.force_login(admin_user)
    started = time.monotonic()
    response = client.post(f"/o/{org.slug}/manage/campaigns/new/", {
        "name": "Published in the dark", "destination_url": "https://shop.example.com/dark", "status": "active",
        "utm_source": "{channel}", "utm_medium": "ambassador", "utm_campaign": "{campaign}",
        "utm_content": "{ambassador}", "minutes_per_share": "5",
    })
    request_seconds = time.monotonic() - started
    assert response.status_code == 302, response.content.decode()[:1000]
    assert "Could not queue the outbox event" in caplog.text  # the publish was tried and failed
    with scopes_disabled():
        campaign = Campaign.objects.get(name="Published in the dark")
        event = OutboxEvent.objects.get(key=f"campaign.live:{campaign.pk}")
        assert campaign.announced_at is not None and event.processed_at is None
        assert Delivery.objects.count() == 0
    assert smtp_server.arrivals == []

    worker = start_worker(redis_server.start().url, **smtp_server.worker_env(), **WORKER_ENGINE)
    took = wait_for(lambda: len(smtp_server.arrivals) >= len(expected), "every ambassador's e-mail", CATCH_UP,
                    worker, every=beat(worker))
    wait_for(all_sent(len(expected)), "every row marked sent", CATCH_UP, worker, every=beat(worker))
    smtp_server.settle(quiet=1.0)
    per_recipient, _ = counts(smtp_server)
    duplicates = sum(n - 1 for n in per_recipient.values())
    missing = len(expected - set(per_recipient))
    print(f"DRILL notify-broker-down: request_s={request_seconds:.2f} ambassadors={len(expected)} "
          f"send_s={took:.1f} arrivals={len(smtp_server.arrivals)} duplicates={duplicates} missing={missing}")
    assert set(per_recipient) == expected and duplicates == 0
    with scopes_disabled():
        assert OutboxEvent.objects.get(pk=event.pk).processed_at is not None


# --- (b) a worker killed mid-send -------------------------------------------------------------------------

AMBASSADORS_B = 400


@pytest.fixture
def published_quietly(settings, org):
    """A campaign published with no post-commit task: the beat's sweep (sent to the worker by the
    test) is what hands the announcement over, as after any lost message."""
    settings.OUTBOX_PUBLISH_ON_COMMIT = False

    def publish_to(count: int, tag: str) -> set[str]:
        expected = make_ambassadors(org, count, tag)
        publish(org, name=f"Killed mid-send ({tag})")
        return expected

    return publish_to


def restart_and_finish(start_worker, broker_url, smtp_server, expected: set[str]) -> float:
    second = start_worker(broker_url, **smtp_server.worker_env(), **WORKER_ENGINE)
    took = wait_for(lambda: set(counts(smtp_server)[0]) >= expected, "every ambassador's e-mail after the restart",
                    CATCH_UP, second, every=beat(second))
    wait_for(all_sent(len(expected)), "every row marked sent", CATCH_UP, second, every=beat(second))
    smtp_server.settle(quiet=1.0)
    return took


def fan_out_waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction the view is cached otherwise
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                       "AND query ILIKE 'INSERT INTO \"notifications_delivery\"%%'")
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_mid_fan_out_leaves_nothing_half_written(org, published_quietly, smtp_server, redis_server,
                                                                 start_worker):
    """The fan-out writes every row and marks its event handled in one transaction: killed in the
    middle, it leaves no row and an unhandled event, and the next worker does it all, once."""
    if connection.vendor != "postgresql":
        pytest.skip("stops the fan-out on a row lock: needs PostgreSQL's INSERT … ON CONFLICT waiting on it")
    expected = published_quietly(AMBASSADORS_B, "killed-in-fan-out")
    with scopes_disabled():
        campaign = Campaign.objects.get(name="Killed mid-send (killed-in-fan-out)")
        last = Ambassador.objects.filter(email__in=expected).order_by("pk").last()
    broker = redis_server.start()
    with transaction.atomic():
        # One of the fan-out's own rows, written here and not committed: the worker's INSERT … ON
        # CONFLICT DO NOTHING waits for this transaction, in the middle of the fan-out.
        with tenant_scope(org):
            Delivery.objects.create(organization=org, key=email_key(campaign.pk, last.pk), kind=Kind.CAMPAIGN_NEW,
                                    channel=DeliveryChannel.EMAIL, ambassador=last, campaign=campaign)
        first = start_worker(broker.url, **smtp_server.worker_env(), **WORKER_ENGINE)
        first.send(outbox_tasks.sweep_outbox)
        wait_for(fan_out_waiting_on_a_lock, "the fan-out to wait on the row lock", CATCH_UP, first)
        stop_process_group(first.process, warm=False)  # SIGKILL, mid-fan-out
        transaction.set_rollback(True)
    with scopes_disabled():
        rows_after_kill = Delivery.objects.count()
        handled = OutboxEvent.objects.get(key=f"campaign.live:{campaign.pk}").processed_at is not None
    assert (rows_after_kill, handled, smtp_server.arrivals) == (0, False, [])

    took = restart_and_finish(start_worker, broker.url, smtp_server, expected)
    per_recipient, _ = counts(smtp_server)
    duplicates = sum(n - 1 for n in per_recipient.values())
    missing = len(expected - set(per_recipient))
    print(f"DRILL notify-killed[fan-out]: ambassadors={len(expected)} rows_after_kill={rows_after_kill} "
          f"after_restart_s={took:.1f} arrivals={len(smtp_server.arrivals)} duplicates={duplicates} missing={missing}")
    assert missing == 0 and duplicates == 0


def test_a_worker_killed_inside_an_smtp_transaction_sends_none_twice_and_misses_none(
        published_quietly, smtp_server, redis_server, start_worker):
    expected = published_quietly(AMBASSADORS_B, "killed-in-smtp")
    broker = redis_server.start()
    kill_at = AMBASSADORS_B // 4
    smtp_server.stall_at_recipient(kill_at)  # the server leaves that recipient unanswered
    first = start_worker(broker.url, **smtp_server.worker_env(), **WORKER_ENGINE)
    first.send(outbox_tasks.sweep_outbox)  # fan-out, then its send_due_for runs on the worker
    smtp_server.wait_stalled()
    stop_process_group(first.process, warm=False)  # SIGKILL, mid-transaction
    smtp_server.release()
    arrived_at_kill, sent_at_kill = len(smtp_server.arrivals), sent_rows()
    assert arrived_at_kill == kill_at - 1
    assert sent_at_kill == arrived_at_kill, "every accepted e-mail is marked sent before the next one starts"

    took = restart_and_finish(start_worker, broker.url, smtp_server, expected)
    per_recipient, _ = counts(smtp_server)
    duplicates = sum(n - 1 for n in per_recipient.values())
    missing = len(expected - set(per_recipient))
    print(f"DRILL notify-killed[in-smtp]: ambassadors={len(expected)} arrived_at_kill={arrived_at_kill} "
          f"after_restart_s={took:.1f} arrivals={len(smtp_server.arrivals)} duplicates={duplicates} missing={missing}")
    assert missing == 0 and duplicates == 0
    assert set(per_recipient) == expected


def test_a_worker_killed_at_a_random_moment_sends_everyone_one_email(published_quietly, smtp_server, redis_server,
                                                                     start_worker):
    expected = published_quietly(AMBASSADORS_B, "killed-anywhere")
    broker = redis_server.start()
    first = start_worker(broker.url, **smtp_server.worker_env(), **WORKER_ENGINE)
    first.send(outbox_tasks.sweep_outbox)
    deadline = time.monotonic() + CATCH_UP
    while sent_rows() < AMBASSADORS_B // 4:
        first._check_alive()
        assert time.monotonic() < deadline, f"no progress:\n{first.log()}"
        time.sleep(0.003)
    stop_process_group(first.process, warm=False)  # SIGKILL wherever it is
    arrived_at_kill, sent_at_kill = len(smtp_server.arrivals), sent_rows()
    assert 0 < arrived_at_kill < len(expected)
    assert arrived_at_kill - sent_at_kill in (0, 1), "at most the message in flight is accepted but unmarked"

    took = restart_and_finish(start_worker, broker.url, smtp_server, expected)
    per_recipient, message_ids = counts(smtp_server)
    resends = sum(n - 1 for n in per_recipient.values())
    different = sum(len(ids) - 1 for ids in message_ids.values())
    missing = len(expected - set(per_recipient))
    print(f"DRILL notify-killed[random]: ambassadors={len(expected)} arrived_at_kill={arrived_at_kill} "
          f"sent_at_kill={sent_at_kill} after_restart_s={took:.1f} arrivals={len(smtp_server.arrivals)} "
          f"different_emails_to_one_person={different} same_message_id_resends={resends} missing={missing}")
    assert missing == 0 and set(per_recipient) == expected
    assert different == 0, "someone got two different e-mails for one campaign"
    assert resends <= arrived_at_kill - sent_at_kill, "a resend other than the one message in flight at the kill"
    with scopes_disabled():
        assert Ambassador.objects.filter(email__in=expected).count() == len(expected)
