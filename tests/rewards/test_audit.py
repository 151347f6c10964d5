"""The audit log: append-only in the database (an UPDATE is refused, by the ORM and by raw SQL, on
PostgreSQL and SQLite); owners and admins read it, filter it and export it as CSV whose cells a
spreadsheet can't run; managers and ambassadors get 403, another organisation 404."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from rewards.models import AuditEntry
from rewards.services import rules
from rewards.services.audit import record
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import AuditEntryFactory, OrganizationFactory, member

pytestmark = pytest.mark.django_db


def csv_of(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def api(org):
    return f"/api/v1/o/{org.slug}/audit-log/"


# --- append-only ----------------------------------------------------------------------------------------

def test_the_database_refuses_to_update_an_audit_entry_through_the_orm_and_raw_sql(org):
    entry = record(organization_id=org.pk, actor=None, action="reward_rule.update", object_type="reward_rule",
                   object_id="r1", before={"percent": "10.00"}, after={"percent": "12.00"})
    with tenant_scope(org):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEntry.objects.filter(pk=entry.pk).update(after={"percent": "99.00"})
        entry.action = "nothing.happened"
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            entry.save()
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE rewards_auditentry SET actor_label = %s WHERE id = %s", ["someone else", entry.pk])
        stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.action, stored.after, stored.actor_label) == ("reward_rule.update", {"percent": "12.00"}, "system")
    assert connection.vendor in ("postgresql", "sqlite")


# --- the page and the CSV ---------------------------------------------------------------------------------

@pytest.fixture
def logged(org, owner):
    """A rule created and changed by the owner; one entry whose fields start like spreadsheet formulas."""
    rule = rules.create_rule(organization=org, actor=owner, name="=HYPERLINK(\"http://evil.test\",\"x\")",
                             event="lead", unit="money", amount=rules.Decimal("5.00"))
    rules.update_rule(rule, actor=owner, amount=rules.Decimal("6.00"))
    AuditEntryFactory(organization=org, at=datetime(2026, 1, 15, 12, tzinfo=UTC), actor_label="@SUM(1+1)",
                      action="payout_run.mark_paid", object_type="payout_run", object_id="-2+3",
                      after={"note": "+cmd"})
    return rule


def test_owners_and_admins_read_filter_and_export_the_log(org, owner, login, logged):
    client = login(owner)
    page = client.get(reverse("audit_log", args=[org.slug]))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("<tr data-audit=") == 3 and "reward_rule.update" in html and "amount: 5.00" in html

    filtered = client.get(reverse("audit_log", args=[org.slug]), {"action": "reward_rule.update"}).content.decode()
    assert filtered.count("<tr data-audit=") == 1
    by_day = client.get(reverse("audit_log", args=[org.slug]), {"since": "2026-01-15", "until": "2026-01-15"})
    assert by_day.content.decode().count("<tr data-audit=") == 1
    wrong = client.get(reverse("audit_log", args=[org.slug]), {"since": "2026-01-16", "until": "2026-01-15"})
    assert wrong.status_code == 400 and "come before the first" in wrong.content.decode()

    rows = csv_of(client.get(reverse("audit_log_csv", args=[org.slug])))
    assert rows[0] == ["at_utc", "actor", "action", "object_type", "object_id", "before", "after", "entry_id"]
    by_action = {row[2]: row for row in rows[1:]}
    assert set(by_action) == {"reward_rule.create", "reward_rule.update", "payout_run.mark_paid"}
    update = by_action["reward_rule.update"]
    assert (update[1], update[4], update[5], update[6]) == \
        ("owner@acme.test", str(logged.public_id), '{"amount": "5.00"}', '{"amount": "6.00"}')
    paid = by_action["payout_run.mark_paid"]
    # Formula-looking cells are neutralised; a signed number stays a number; JSON starts with "{".
    assert (paid[0], paid[1], paid[4], paid[6]) == ("2026-01-15T12:00:00+00:00", "'@SUM(1+1)", "'-2+3",
                                                    '{"note": "+cmd"}')
    assert by_action["reward_rule.create"][6].startswith('{"active": true')

    only = csv_of(client.get(reverse("audit_log_csv", args=[org.slug]), {"object_type": "payout_run"}))
    assert [row[2] for row in only[1:]] == ["payout_run.mark_paid"]
    assert client.get(reverse("audit_log_csv", args=[org.slug]), {"action": "no.such"}).status_code == 400

    admin = member(org, Role.ADMIN, email="admin@acme.test")
    assert login(admin).get(reverse("audit_log_csv", args=[org.slug])).status_code == 200


def test_the_api_lists_and_filters_the_log_read_only(org, owner, login, logged):
    client = login(owner)
    body = client.get(api(org)).json()
    assert body["count"] == 3 and body["results"][0]["action"] == "reward_rule.update"
    first = body["results"][0]
    assert (first["actor"], first["before"], first["after"]) == ("owner@acme.test", {"amount": "5.00"},
                                                                 {"amount": "6.00"})
    assert client.get(api(org), {"object_type": "payout_run"}).json()["count"] == 1
    assert client.get(api(org), {"since": "2026-01-15T12:00:00Z", "until": "2026-01-15T12:00:01Z"}).json()[
        "count"] == 1
    bad = client.get(api(org), {"since": "last tuesday"})
    assert bad.status_code == 400 and "since" in bad.json()
    assert client.get(f"{api(org)}{first['id']}/").json()["id"] == first["id"]
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)(f"{api(org)}{first['id']}/", {}, content_type="application/json"
                                       ).status_code == 405
    assert client.post(api(org), {}, content_type="application/json").status_code == 405


def test_managers_and_ambassadors_get_403_and_another_organisation_404(org, login, logged):
    for role in (Role.MANAGER, Role.AMBASSADOR):
        client = login(member(org, role, ambassador=role == Role.AMBASSADOR))
        for url in (reverse("audit_log", args=[org.slug]), reverse("audit_log_csv", args=[org.slug]), api(org)):
            assert client.get(url).status_code == 403, (role, url)

    rival = OrganizationFactory(slug="rival")
    rival_owner = member(rival, Role.OWNER, email="boss@rival.test")
    client = login(rival_owner)
    for url in (reverse("audit_log", args=[org.slug]), reverse("audit_log_csv", args=[org.slug]), api(org)):
        assert client.get(url).status_code == 404
    with tenant_scope(org):
        entry = AuditEntry.objects.first()
    assert client.get(f"{api(rival)}{entry.public_id}/").status_code == 404
    assert client.get(api(rival)).json()["count"] == 0
    rows = csv_of(client.get(reverse("audit_log_csv", args=[rival.slug])))
    assert rows[1:] == []


def test_values_named_like_dict_methods_show_on_the_page(org, owner, login):
    """A payout run's audit entry says how many "items" it has: the page lists it (a template would
    have read the key instead of the dict's items and failed)."""
    AuditEntryFactory(organization=org, action="payout_run.confirm", object_type="payout_run",
                      before={"status": "draft"}, after={"items": 2, "status": "confirmed"})
    page = login(owner).get(reverse("audit_log", args=[org.slug]))
    assert page.status_code == 200
    assert "<li>items: 2</li>" in page.content.decode() and "<li>status: draft</li>" in page.content.decode()
