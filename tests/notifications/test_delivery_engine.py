"""The delivery engine (notifications/delivery.py) against a real SMTP server on loopback:
temporary refusals and an unreachable server are retried with backoff, permanent refusals fail,
a claimed row is nobody else's until its lease runs out, and a sender never starts a message
after that."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import delivery, fanout
from notifications.emails import EMAIL_RENDERERS, message_id
from notifications.models import Delivery, DeliveryStatus, Kind
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, CampaignFactory
from tests.support.smtp import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced(org):
    """Three ambassadors with a due new-campaign e-mail each."""
    ambassadors = [AmbassadorFactory(organization=org) for _ in range(3)]
    campaign = CampaignFactory(organization=org, name="Engine test")
    fanout.fan_out_campaign(org.pk, campaign.pk)
    return ambassadors, campaign


def rows(org) -> list[Delivery]:
    with tenant_scope(org):
        return list(Delivery.objects.order_by("ambassador_id"))


def test_a_temporary_refusal_is_retried_with_backoff_and_sent_once(org, announced, smtp_server):
    ambassadors, _ = announced
    smtp_server.refuse_next(1)  # the first message: 451
    now = timezone.now()
    run = delivery.send_due(now=now)
    assert (run.sent, run.retried) == (2, 1)
    [refused] = [row for row in rows(org) if row.status == DeliveryStatus.PENDING]
    assert refused.attempts == 1 and "451" in refused.last_error
    assert refused.due_at >= now + timedelta(seconds=29)
    assert delivery.send_due(now=now + timedelta(seconds=5)).claimed == 0  # backing off

    run = delivery.send_due(now=refused.due_at)
    assert run.sent == 1
    assert sorted(smtp_server.recipients()) == sorted(a.email.lower() for a in ambassadors)
    assert {row.status for row in rows(org)} == {DeliveryStatus.SENT}


def test_a_permanent_refusal_fails_the_row(org, announced, smtp_server):
    smtp_server.refuse_next(1, "550 5.1.1 No such mailbox")
    run = delivery.send_due()
    assert (run.sent, run.failed) == (2, 1)
    [failed] = [row for row in rows(org) if row.status == DeliveryStatus.FAILED]
    assert "550" in failed.last_error and "No such mailbox" in failed.last_error


def test_an_unreachable_smtp_server_loses_nothing(org, announced, smtp_server, settings):
    ambassadors, _ = announced
    settings.EMAIL_PORT = free_port()  # nobody listens there
    run = delivery.send_due()
    assert (run.sent, run.retried) == (0, 3)
    assert all(row.status == DeliveryStatus.PENDING and row.last_error for row in rows(org))
    settings.EMAIL_PORT = smtp_server.port
    delivery.send_due(now=timezone.now() + timedelta(minutes=1))
    assert sorted(smtp_server.recipients()) == sorted(a.email.lower() for a in ambassadors)


def test_gives_up_after_the_last_attempt(org, announced, smtp_server, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    smtp_server.refuse_next(10)
    now = timezone.now()
    delivery.send_due(now=now)
    run = delivery.send_due(now=now + timedelta(hours=1))
    assert run.failed == 3
    assert all(row.status == DeliveryStatus.FAILED and "Gave up after 2 attempts" in row.last_error
               for row in rows(org))


def test_claimed_rows_are_nobody_elses_until_the_lease_runs_out(org, announced, smtp_server, settings):
    """A worker that claimed rows and died (nothing recorded) leaves them to the next claim after
    the lease: sent then, once."""
    ambassadors, _ = announced
    now = timezone.now()
    first = delivery.claim(now=now)  # ... and its worker dies here
    assert len(first.rows) == 3
    assert delivery.claim(now=now + timedelta(seconds=1)) is None  # an overlapping beat: nothing for it
    assert smtp_server.arrivals == []

    after_lease = now + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS + 1)
    run = delivery.send_due(now=after_lease)
    assert run.sent == 3
    assert sorted(smtp_server.recipients()) == sorted(a.email.lower() for a in ambassadors)
    assert {row.attempts for row in rows(org)} == {2}
    assert delivery.send_due(now=after_lease + timedelta(hours=1)).claimed == 0


def test_rows_whose_sender_kept_dying_are_given_up(org, announced, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    now = timezone.now()
    lease = timedelta(seconds=settings.NOTIFY_LEASE_SECONDS + 1)
    delivery.claim(now=now)
    delivery.claim(now=now + lease)  # died twice
    run = delivery.send_due(now=now + 2 * lease)
    assert (run.failed, run.claimed) == (3, 0)
    assert all(row.status == DeliveryStatus.FAILED and "never finished" in row.last_error for row in rows(org))


def test_no_message_is_started_once_the_lease_is_nearly_over(org, announced, smtp_server, settings):
    settings.NOTIFY_LEASE_SECONDS = 5  # shorter than one message may take (EMAIL_TIMEOUT 10 s)
    run = delivery.send_due(budget_seconds=0)
    assert (run.sent, run.retried) == (0, 3)
    assert smtp_server.settle(quiet=0.2) == []
    assert all(row.status == DeliveryStatus.PENDING for row in rows(org))


def test_a_renderer_that_fails_leaves_its_row_to_a_retry_and_the_others_go(org, announced, smtp_server,
                                                                           monkeypatch):
    ambassadors, _ = announced
    render = EMAIL_RENDERERS[Kind.CAMPAIGN_NEW]

    def render_or_fail(ambassador, deliveries):
        if ambassador.pk == ambassadors[1].pk:
            raise ValueError("a template bug")
        return render(ambassador, deliveries)

    monkeypatch.setitem(EMAIL_RENDERERS, Kind.CAMPAIGN_NEW, render_or_fail)
    run = delivery.send_due()
    assert (run.sent, run.retried) == (2, 1)
    broken = [row for row in rows(org) if row.ambassador_id == ambassadors[1].pk][0]
    assert broken.status == DeliveryStatus.PENDING and "a template bug" in broken.last_error


def test_the_message_id_is_the_same_for_the_same_rows(org, announced, smtp_server):
    delivery.send_due()
    ids = {str(arrival.message["Message-ID"]) for arrival in smtp_server.arrivals}
    assert len(ids) == 3
    with tenant_scope(org):
        expected = {message_id(org.pk, Kind.CAMPAIGN_NEW, [row]) for row in Delivery.objects.all()}
    assert ids == expected
