"""A real Celery worker, started as a subprocess, runs our tasks against the test database.

Two brokers: Redis (production; needs REDIS_URL) and kombu's `filesystem://` (the embedded
mode; needs nothing, so it always runs). The database is whatever the tests use: PostgreSQL
when DATABASE_URL points at it, else the SQLite file settings.py names for tests. The tests are
transactional so that what they write is committed and the worker, a separate process, sees it.

The worker is tests/support/workers.py's (`start_worker`): each consumes only a queue of its
own (`it-<random>`), so a stray worker of someone else on the same Redis never steals our task
and ours never steals theirs; the producer here publishes on an explicit connection to that
broker, whatever broker the settings chose when this process loaded them.
"""

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from ambassadors.models import Invitation
from ambassadors.services.invitations import invite
from ambassadors.tasks import send_invitation_email
from tenancy.scoping import tenant_scope
from tests.support.workers import Worker

pytestmark = pytest.mark.django_db(transaction=True)


def sent_at(invitation):
    with scopes_disabled():
        return Invitation.objects.filter(pk=invitation.pk).values_list("sent_at", flat=True).get()


def invitation_for(organization, email: str) -> Invitation:
    with tenant_scope(organization):
        invitation = invite(organization=organization, email=email, send=False)  # committed on return
    assert sent_at(invitation) is None
    return invitation


def assert_worker_sends_invitation(worker: Worker, org) -> None:
    invitation = invitation_for(org, "new.ambassador@example.com")

    task_id = worker.send(send_invitation_email, org.pk, invitation.pk)

    worker.wait_until(lambda: sent_at(invitation) is not None,
                      f"the worker to set Invitation.sent_at in the {connection.vendor} database")
    assert worker.wait_for_result(task_id) == "True"
    log = worker.log()
    assert f"Task {send_invitation_email.name}[{task_id}] received" in log
    assert "Acme invites you to its ambassador programme" in log  # the mail, from the console backend
    assert "new.ambassador@example.com" in log


@pytest.mark.services
def test_worker_on_redis_runs_a_task_against_the_database(start_worker, org):
    worker = start_worker("redis")
    assert_worker_sends_invitation(worker, org)


def test_worker_on_the_filesystem_broker_runs_a_task_against_the_database(start_worker, org):
    worker = start_worker("filesystem")
    assert_worker_sends_invitation(worker, org)


@pytest.mark.parametrize("broker", ["filesystem", pytest.param("redis", marks=pytest.mark.services)])
def test_a_tenant_task_in_the_worker_cannot_reach_another_organisation(start_worker, org, other_org, broker):
    ours = invitation_for(org, "ours@example.com")
    theirs = invitation_for(other_org, "theirs@example.com")
    worker = start_worker(broker)

    # Acme's id with Rival's invitation: inside Acme's scope that invitation doesn't exist.
    cross_id = worker.send(send_invitation_email, org.pk, theirs.pk)
    own_id = worker.send(send_invitation_email, org.pk, ours.pk)

    assert worker.wait_for_result(cross_id) == "False"
    assert worker.wait_for_result(own_id) == "True"
    assert sent_at(theirs) is None
    assert sent_at(ours) is not None
    assert "theirs@example.com" not in worker.log()


def test_filesystem_broker_survives_a_stream_of_messages_while_it_consumes(start_worker, org):
    """A stream of messages is consumed with no worker death (kombu's own file-system
    transport let `make run`'s worker die reading a half-written message)."""
    from tracking.tasks import delete_old_salts

    worker = start_worker("filesystem")
    task_ids = []
    for _ in range(150):
        task_ids.append(worker.send(delete_old_salts))
    for task_id in task_ids:
        assert worker.wait_for_result(task_id) == "0"
    assert "Unrecoverable error" not in worker.log()


@pytest.mark.parametrize("broker", ["filesystem", pytest.param("redis", marks=pytest.mark.services)])
def test_the_worker_attributes_leads_then_recomputes_a_new_window_in_a_chain_of_chunks(start_worker, org, broker,
                                                                                       monkeypatch):
    """Real worker: attribute_pending writes the credits; a window change's recompute runs as a
    chain of chunk tasks the worker queues to itself, and ends with the new version active."""
    from datetime import timedelta
    from decimal import Decimal

    from django.db import models
    from django.utils import timezone

    from campaigns.models import Campaign, CampaignStatus, TrackedLink
    from tests.factories import AmbassadorFactory
    from tracking.ids import new_click_id, new_visitor_id
    from tracking.models import Click, Credit, Customer
    from tracking.selectors import reporting_credits
    from tracking.services.attribution_settings import change_settings, settings_for
    from tracking.services.conversions import record_lead
    from tracking.tasks import attribute_pending, recompute_attribution

    monkeypatch.setenv("ATTRIBUTION_RECOMPUTE_CHUNK", "2")  # the worker's environment, read at its start
    now = timezone.now()
    with tenant_scope(org):
        campaign = Campaign.objects.create(organization=org, name="Launch", slug="launch",
                                           status=CampaignStatus.ACTIVE, destination_url="https://shop.example.com/")
        old, recent = (TrackedLink.objects.create(organization=org, campaign=campaign, code=f"Wk{n}000000",
                                                  ambassador=AmbassadorFactory(organization=org)) for n in (1, 2))
        for n in range(5):
            visitor = new_visitor_id()
            for link, days in ((old, 20), (recent, 1)):
                at = now - timedelta(days=days, hours=n)
                Click.objects.create(organization=org, click_id=new_click_id(), link=link, campaign_id=campaign.pk,
                                     ambassador_id=link.ambassador_id, clicked_at=at, day=at.date(),
                                     visitor_id=visitor, ip_hash="x" * 32, channel="direct")
            record_lead(org, visitor_id=visitor, customer_external_id=f"cus_{n}", occurred_at=now - timedelta(hours=n))
    worker = start_worker(broker)

    def linear_shares():
        with tenant_scope(org):
            return dict(reporting_credits(org.pk, "linear").filter(ambassador_id=old.ambassador_id)
                        .values_list("model").annotate(total=models.Sum("lead_share")))

    worker.send(attribute_pending, org.pk)
    with tenant_scope(org):
        worker.wait_until(lambda: not Customer.objects.filter(attributed_at__isnull=True).exists(),
                          "every lead attributed")
    assert linear_shares() == {"linear": Decimal("2.5000")}

    version = change_settings(org.pk, window_days=7).settings.pending_version
    worker.send(recompute_attribution, org.pk, version)
    worker.wait_until(lambda: settings_for(org.pk).version == version, "the recompute to finish")
    assert linear_shares() == {}  # the 20-day-old clicks are outside the new 7-day window
    with tenant_scope(org):
        assert reporting_credits(org.pk, "linear").filter(ambassador_id=recent.ambassador_id).count() == 5
        assert Credit.objects.filter(version=version).exists()
    assert worker.log().count(f"Task {recompute_attribution.name}[") >= 3 * 2  # 3 chunks: received + succeeded
