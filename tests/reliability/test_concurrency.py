"""Drill: the same write, many times at the same instant (webhook retries, double clicks,
impatient users). Real threads, each with its own database connection (closed at the end),
released together by a barrier, through the whole Django stack (test clients, one per thread).

It proves that PostgreSQL's constraints, not read-then-write checks, decide, and that the
losers get a normal answer (never a 500):

* 50 posts of one sale (same invoice_id) → one Sale, one 201 and 49 × 200;
* 50 requests for an ambassador's link to one campaign (API and portal button mixed) → one
  TrackedLink, every answer carrying its code;
* 50 submits of one invitation by its invitee → one active ambassador, one membership, all
  sent home; 50 different users racing for one invitation → one winner, 49 × 410 "used";
* 50 submits of the public join form by one user → one ambassador, one membership.

On SQLite, writers take turns (IMMEDIATE transactions), so the races are milder; the same
drills run there with 10 threads to keep the lock waits short.

The per-page and per-token rate limits are switched off here: they would answer most of the
50 with a 429 before the race this drill is about."""

import json
import threading
import time
from collections import Counter

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from ambassadors.models import Ambassador, Invitation, JoinPage, Status
from ambassadors.services import invitations
from campaigns.models import TrackedLink
from tenancy.models import Membership, Role
from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key
from tests.factories import CampaignFactory, UserFactory
from tracking.models import Sale

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """An empty rate switches a limit off (common/ratelimits.py)."""
    for name in ("RATELIMIT_JOIN", "RATELIMIT_INVITATION_TOKEN", "RATELIMIT_TRACK_API"):
        setattr(settings, name, "")


def thread_count() -> int:
    return 50 if connection.vendor == "postgresql" else 10


def race(clients, send):
    """Call send(client) for each client, each in its own thread, released together.
    Returns (responses in thread order, seconds). Exceptions fail the drill."""
    n = len(clients)
    barrier = threading.Barrier(n)
    responses, errors = [None] * n, []

    def worker(i):
        try:
            barrier.wait(timeout=60)
            responses[i] = send(clients[i])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    seconds = time.perf_counter() - started
    assert errors == [], errors
    assert all(response is not None for response in responses), "a thread did not finish"
    return responses, seconds


def logged_in(user, n):
    clients = []
    for _ in range(n):
        client = Client()
        client.force_login(user)
        clients.append(client)
    return clients


def statuses(responses) -> dict:
    return dict(sorted(Counter(response.status_code for response in responses).items()))


# --- sales ----------------------------------------------------------------------------------------

def test_parallel_posts_of_one_sale_store_exactly_one(org):
    _, key = create_api_key(organization=org, name="CRM")
    n = thread_count()
    body = json.dumps({"customer_external_id": "cus_1", "amount": "49.90", "currency": "EUR",
                       "invoice_id": "inv_race"})
    clients = [Client(HTTP_AUTHORIZATION=f"Bearer {key}") for _ in range(n)]
    responses, seconds = race(clients, lambda c: c.post("/api/v1/track/sale", body, content_type="application/json"))
    with tenant_scope(org):
        stored = Sale.objects.filter(invoice_id="inv_race").count()
    ids = {response.json()["id"] for response in responses if response.status_code in (200, 201)}
    print(f"DRILL concurrency sale: requests={n} statuses={statuses(responses)} sales={stored} "
          f"duplicates={stored - 1} distinct_ids_answered={len(ids)} seconds={seconds:.2f}")
    assert stored == 1, f"{stored} sales for one invoice"
    assert statuses(responses) == {200: n - 1, 201: 1}
    assert len(ids) == 1  # every answer is the one stored sale


# --- links ----------------------------------------------------------------------------------------

def test_parallel_requests_for_an_ambassadors_link_create_exactly_one(org, ambassador_user):
    campaign = CampaignFactory(organization=org)
    n = thread_count()
    clients = logged_in(ambassador_user, n)
    api_url = f"/api/v1/o/{org.slug}/my/campaigns/{campaign.public_id}/link/"
    page_url = reverse("my_campaign_link", args=[org.slug, campaign.public_id])

    def send(client):
        if clients.index(client) % 2:  # half press the portal's "Get my link" button
            return client.post(page_url)
        return client.post(api_url, content_type="application/json")

    responses, seconds = race(clients, send)
    with tenant_scope(org):
        links = list(TrackedLink.objects.filter(campaign=campaign))
    api = [r for i, r in enumerate(responses) if i % 2 == 0]
    page = [r for i, r in enumerate(responses) if i % 2]
    codes = {r.json()["code"] for r in api if r.status_code in (200, 201)}
    print(f"DRILL concurrency link: requests={n} api_statuses={statuses(api)} page_statuses={statuses(page)} "
          f"links={len(links)} duplicates={len(links) - 1} seconds={seconds:.2f}")
    assert len(links) == 1, f"{len(links)} links for one ambassador and campaign"
    assert set(statuses(api)) <= {200, 201} and statuses(api).get(201, 0) <= 1
    assert codes == {links[0].code}
    assert statuses(page) == {302: len(page)}


# --- invitations and the join page ----------------------------------------------------------------------

@pytest.fixture
def invitation(org, owner):
    with tenant_scope(org):
        return invitations.invite(organization=org, email="new.person@example.com", display_name="New Person",
                                  invited_by=owner, send=False)


def ambassadors_and_memberships(org, user_ids):
    with tenant_scope(org):
        ambassadors = list(Ambassador.objects.filter(user_id__in=user_ids).exclude(status=Status.REMOVED))
        memberships = list(Membership.objects.filter(user_id__in=user_ids))
    return ambassadors, memberships


def test_parallel_acceptance_of_one_invitation_by_its_invitee_makes_one_ambassador(org, invitation):
    user = UserFactory(email="new.person@example.com")
    n = thread_count()
    path = reverse("invitation", kwargs={"token": invitations.make_token(invitation)})
    responses, seconds = race(logged_in(user, n), lambda c: c.post(path))
    ambassadors, memberships = ambassadors_and_memberships(org, [user.pk])
    print(f"DRILL concurrency invitation-same-user: requests={n} statuses={statuses(responses)} "
          f"ambassadors={len(ambassadors)} memberships={len(memberships)} "
          f"duplicates={len(ambassadors) - 1 + len(memberships) - 1} seconds={seconds:.2f}")
    assert len(ambassadors) == 1 and ambassadors[0].status == Status.ACTIVE
    assert ambassadors[0].pk == invitation.ambassador_id
    assert [m.role for m in memberships] == [Role.AMBASSADOR]
    assert statuses(responses) == {302: n}
    assert {r["Location"] for r in responses} == {f"/o/{org.slug}/"}


def test_parallel_acceptance_of_one_invitation_by_different_users_has_one_winner(org, invitation):
    n = thread_count()
    users = [UserFactory() for _ in range(n)]
    clients = [logged_in(user, 1)[0] for user in users]
    path = reverse("invitation", kwargs={"token": invitations.make_token(invitation)})
    responses, seconds = race(clients, lambda c: c.post(path))
    ambassadors, memberships = ambassadors_and_memberships(org, [u.pk for u in users])
    with tenant_scope(org):
        accepted_by = Invitation.objects.get(pk=invitation.pk).accepted_by_id
    print(f"DRILL concurrency invitation-many-users: requests={n} statuses={statuses(responses)} "
          f"ambassadors={len(ambassadors)} memberships={len(memberships)} seconds={seconds:.2f}")
    assert statuses(responses) == {302: 1, 410: n - 1}
    winner = users[next(i for i, r in enumerate(responses) if r.status_code == 302)]
    assert accepted_by == winner.pk
    assert [(a.pk, a.user_id, a.status) for a in ambassadors] == [(invitation.ambassador_id, winner.pk,
                                                                     Status.ACTIVE)]
    assert [(m.user_id, m.role) for m in memberships] == [(winner.pk, Role.AMBASSADOR)]


def test_parallel_submits_of_the_join_form_make_one_ambassador(org):
    with tenant_scope(org):
        JoinPage.objects.create(organization=org, enabled=True, requires_approval=False)
    user = UserFactory(email="joiner@example.com")
    n = thread_count()
    path = reverse("join", args=[org.slug])
    responses, seconds = race(logged_in(user, n),
                              lambda c: c.post(path, {"display_name": "Joiner", "title": "", "kind": "external"}))
    ambassadors, memberships = ambassadors_and_memberships(org, [user.pk])
    print(f"DRILL concurrency join: requests={n} statuses={statuses(responses)} ambassadors={len(ambassadors)} "
          f"memberships={len(memberships)} duplicates={len(ambassadors) - 1 + len(memberships) - 1} "
          f"seconds={seconds:.2f}")
    assert len(ambassadors) == 1 and ambassadors[0].status == Status.ACTIVE
    assert [m.role for m in memberships] == [Role.AMBASSADOR]
    assert set(statuses(responses)) <= {200, 302}, statuses(responses)
