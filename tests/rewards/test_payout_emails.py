"""Ambassadors are e-mailed when a run is marked paid (outbox "payout.paid" → one e-mail event per
ambassador → one e-mail each, through a real SMTP server on loopback): amounts per currency, once,
and a temporary refusal retries only that ambassador's e-mail."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ambassadors.models import Kind
from common import outbox
from common.models import OutboxEvent
from rewards.services import payouts
from tenancy.models import Role
from tenancy.scoping import scopes_disabled
from tests.factories import AmbassadorFactory, member
from tests.support.payouts import approved, give_paypal

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_run(org):
    admin = member(org, Role.ADMIN)
    ana = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL, display_name="Ana", email="ana@acme.test")
    dan = AmbassadorFactory(organization=org, kind=Kind.INTERNAL, display_name="Dan", email="dan@acme.test")
    give_paypal(ana, "ana.secret@paypal.example")
    approved(ana, "40.00")
    approved(ana, "7.50", "USD")
    approved(dan, "100.00")
    run = payouts.create_run(org.pk, admin)
    payouts.confirm(run, admin)
    with scopes_disabled():
        OutboxEvent.objects.filter(topic="payout_details.changed").delete()  # their e-mails are tested elsewhere
    return payouts.mark_paid(run, admin)


def drain(now=None) -> None:
    """What the beat's sweeps do: handle events until none is due (the fan-out writes more)."""
    while outbox.sweep(now=now):
        pass


def test_each_paid_ambassador_gets_one_email_with_their_amounts(paid_run, smtp_server):
    drain()
    arrivals = smtp_server.wait_for(2)
    by_recipient = {a.rcpt_tos[0]: a for a in arrivals}
    assert set(by_recipient) == {"ana@acme.test", "dan@acme.test"}
    ana = by_recipient["ana@acme.test"]
    assert str(ana.message["Subject"]) == "Acme paid you 40.00 EUR, 7.50 USD"
    assert "40.00 EUR" in ana.body() and "7.50 USD" in ana.body() and "40.00 EUR" in ana.body("html")
    assert "ana.secret" not in ana.body() + ana.body("html")
    assert str(by_recipient["dan@acme.test"].message["Subject"]) == "Acme paid you 100.00 EUR"
    drain()
    assert len(smtp_server.settle(quiet=0.3)) == 2  # handled events send nothing again
    with scopes_disabled():
        keys = set(OutboxEvent.objects.filter(topic="payout.paid_email").values_list("key", flat=True))
    assert len(keys) == 2 and all(key.startswith(f"payout.paid_email:{paid_run.pk}:") for key in keys)


def test_a_temporary_refusal_retries_only_that_email(paid_run, smtp_server):
    outbox.sweep(limit=1)  # the fan-out: one event per ambassador
    smtp_server.refuse_next(1)  # the first e-mail is refused with a 451
    drain()
    assert len(smtp_server.arrivals) == 1
    with scopes_disabled():
        failed = OutboxEvent.objects.get(topic="payout.paid_email", processed_at__isnull=True)
    assert failed.attempts == 1 and "451" in failed.last_error
    drain(now=timezone.now() + timedelta(minutes=1))
    recipients = smtp_server.recipients()
    assert sorted(recipients) == ["ana@acme.test", "dan@acme.test"]  # each exactly once
