"""Two requests for the same ambassador's link at the same moment make one link.

Each thread has its own database connection. On SQLite writes serialize (the second
INSERT waits for the first's commit); on PostgreSQL both transactions really run at once
and the unique (ambassador, campaign) constraint decides: the loser's INSERT blocks until
the winner commits, fails, and the loser reads the winner's row."""

import threading

import pytest
from django.db import connection
from django.test import Client

from campaigns.models import TrackedLink
from campaigns.services import links as services
from tenancy.scoping import tenant_scope

N = 6


def run_in_threads(target, n):
    results, errors = [None] * n, []

    def worker(i):
        try:
            results[i] = target(i)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_api_requests_create_one_link(org, ambassador_user, campaign):
    clients = []
    for _ in range(N):
        client = Client()
        client.force_login(ambassador_user)
        clients.append(client)
    barrier = threading.Barrier(N)
    url = f"/api/v1/o/{org.slug}/my/campaigns/{campaign.public_id}/link/"

    def request(i):
        barrier.wait(timeout=30)
        response = clients[i].post(url, content_type="application/json")
        return response.status_code, response.json()["code"]

    results = run_in_threads(request, N)
    assert {code for _, code in results} and len({code for _, code in results}) == 1
    assert sorted(status for status, _ in results).count(201) <= 1
    assert all(status in (200, 201) for status, _ in results)
    with tenant_scope(org):
        assert TrackedLink.objects.filter(campaign=campaign).count() == 1


@pytest.mark.django_db(transaction=True)
def test_racing_inserts_are_decided_by_the_unique_constraint(org, ambassador, campaign, monkeypatch):
    """Force the race: every thread has looked and found no link before any of them inserts."""
    real_existing = services._existing_link
    barrier = threading.Barrier(N)
    seen = threading.local()
    rereads = []  # lookups after a lost INSERT (IntegrityError): one per loser

    def existing_after_everyone_looked(ambassador, campaign):
        if not getattr(seen, "looked", False):
            seen.looked = True
            result = real_existing(ambassador, campaign)
            barrier.wait(timeout=30)
            return result
        rereads.append(1)
        return real_existing(ambassador, campaign)

    monkeypatch.setattr(services, "_existing_link", existing_after_everyone_looked)

    def get_link(i):
        with tenant_scope(org):
            link, created = services.get_or_create_link(ambassador=ambassador, campaign=campaign)
            return link.pk, link.code, created

    results = run_in_threads(get_link, N)
    assert len({pk for pk, _, _ in results}) == 1
    assert [created for _, _, created in results].count(True) == 1
    assert len(rereads) == N - 1  # every other thread really tried to insert, and lost to the constraint
    with tenant_scope(org):
        assert TrackedLink.objects.filter(campaign=campaign, ambassador=ambassador).count() == 1
