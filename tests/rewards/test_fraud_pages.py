"""Fraud case pages and API (admins): the cases with their reasons, a case with its entries, release
(entries back, approved when due) and confirm (entries canceled, a note required); a closed case
can't be decided again (409); managers and ambassadors are refused, another organisation gets 404."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from rewards.models import AuditEntry, CaseStatus, EntryStatus, FraudCase
from rewards.services.fraud import screen_entries
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import (
    AmbassadorFactory,
    EarningEntryFactory,
    OrganizationFactory,
    RewardRuleFactory,
    UserFactory,
    member,
)
from tracking.services.conversions import record_lead

pytestmark = pytest.mark.django_db


def held_case(org, name="Ada Lovelace", email="ada@lovelace-consulting.test", *, due=True):
    """An ambassador whose customer used a disposable address: one held lead entry in an open case."""
    ambassador = AmbassadorFactory(organization=org, display_name=name, email=email, user=UserFactory(email=email))
    customer, _ = record_lead(org, email=f"buyer-{name.split()[0].lower()}@mailinator.com",
                              customer_external_id=f"cus-{email}")
    rule = RewardRuleFactory(organization=org, name="Lead bonus", event="lead", amount_kind="flat", percent=None,
                             amount=Decimal("5.00"))
    now = timezone.now()
    entry = EarningEntryFactory(rule=rule, ambassador=ambassador, cause=f"lead:{customer.pk}", event="lead",
                                customer_id=customer.pk, amount=Decimal("5.00"), earned_at=now - timedelta(days=40),
                                approve_after=now - timedelta(days=10) if due else now + timedelta(days=10))
    screen_entries(org.pk, [entry], now=now)
    with tenant_scope(org):
        entry.refresh_from_db()
        assert entry.status == EntryStatus.HELD
        return FraudCase.objects.get(ambassador=ambassador), entry


def api(org):
    return f"/api/v1/o/{org.slug}/fraud-cases/"


def test_the_list_and_the_case_show_the_reasons_and_the_held_entries(org, owner, login):
    case, entry = held_case(org)
    client = login(owner)
    page = client.get(reverse("fraud_cases", args=[org.slug])).content.decode()
    assert f'data-case="{case.public_id}"' in page and "Ada Lovelace" in page
    assert "The customer used a disposable e-mail address" in page
    detail = client.get(reverse("fraud_case", args=[org.slug, case.public_id])).content.decode()
    assert "disposable e-mail domain (mailinator.com)" in detail
    assert f'data-entry="{entry.public_id}"' in detail and "Held now: 5.00 EUR (1 entry)" in detail
    assert "Release: not fraud" in detail and "Confirm fraud" in detail
    # Released ones are listed under their own tab.
    released = client.get(reverse("fraud_cases", args=[org.slug]), {"status": "released"}).content.decode()
    assert "No released case." in released


def test_release_on_the_page_approves_due_entries_and_is_audited(org, owner, login):
    case, entry = held_case(org)
    client = login(owner)
    response = client.post(reverse("fraud_case_release", args=[org.slug, case.public_id]),
                           {"note": "Known customer."})
    assert response.status_code == 302
    with tenant_scope(org):
        case.refresh_from_db()
        entry.refresh_from_db()
        audit = AuditEntry.objects.get(action="fraud_case.release")
    assert (case.status, case.close_note, case.closed_by) == (CaseStatus.RELEASED, "Known customer.", owner)
    assert entry.status == EntryStatus.APPROVED
    assert audit.actor_label == owner.email
    page = client.get(reverse("fraud_case", args=[org.slug, case.public_id])).content.decode()
    assert "Release: not fraud" not in page and "Known customer." in page
    # Deciding again: the case is closed.
    again = client.post(reverse("fraud_case_confirm", args=[org.slug, case.public_id]), {"note": "late"})
    assert again.status_code == 409 and "already closed" in again.content.decode()


def test_confirm_needs_a_note_and_cancels_the_entries(org, owner, login):
    case, entry = held_case(org, due=False)
    client = login(owner)
    refused = client.post(reverse("fraud_case_confirm", args=[org.slug, case.public_id]), {"note": " "})
    assert refused.status_code == 400 and "Say why this is fraud" in refused.content.decode()
    with tenant_scope(org):
        assert FraudCase.objects.get(pk=case.pk).status == CaseStatus.OPEN
    assert client.post(reverse("fraud_case_confirm", args=[org.slug, case.public_id]),
                       {"note": "Throwaway addresses, 12 of them."}).status_code == 302
    with tenant_scope(org):
        entry.refresh_from_db()
    assert (entry.status, entry.note) == (EntryStatus.CANCELED, "Fraud confirmed: Throwaway addresses, 12 of them.")


def test_the_api_lists_filters_and_decides(org, owner, login):
    case, entry = held_case(org)
    other, other_entry = held_case(org, "Bob Babbage", "bob@babbage.test", due=False)
    client = login(owner)
    body = client.get(api(org), {"status": "open"}).json()
    assert body["count"] == 2
    ours = next(c for c in body["results"] if c["id"] == str(case.public_id))
    assert (ours["ambassador"]["name"], ours["held_entries"], ours["signals"][0]["reason"]) == \
        ("Ada Lovelace", 1, "disposable")
    assert client.get(api(org), {"status": "nonsense"}).status_code == 400

    response = client.post(f"{api(org)}{other.public_id}/confirm/", {}, content_type="application/json")
    assert response.status_code == 400 and "note" in response.json()
    response = client.post(f"{api(org)}{case.public_id}/release/", {"note": "fine"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "released"
    assert response.json()["closed_by"] == owner.email and response.json()["held_entries"] == 0
    response = client.post(f"{api(org)}{case.public_id}/release/", {}, content_type="application/json")
    assert response.status_code == 409 and response.json()["code"] == "closed"
    response = client.post(f"{api(org)}{other.public_id}/confirm/", {"note": "fraud"},
                           content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "confirmed"
    with tenant_scope(org):
        entry.refresh_from_db()
        other_entry.refresh_from_db()
    assert (entry.status, other_entry.status) == (EntryStatus.APPROVED, EntryStatus.CANCELED)


def test_managers_and_ambassadors_are_refused_and_another_organisation_gets_404(org, login):
    case, entry = held_case(org)
    urls = [reverse("fraud_cases", args=[org.slug]), reverse("fraud_case", args=[org.slug, case.public_id]),
            api(org), f"{api(org)}{case.public_id}/"]
    for role in (Role.MANAGER, Role.AMBASSADOR):
        client = login(member(org, role, ambassador=role == Role.AMBASSADOR))
        for url in urls:
            assert client.get(url).status_code == 403, (role, url)
        assert client.post(reverse("fraud_case_release", args=[org.slug, case.public_id])).status_code == 403
        assert client.post(f"{api(org)}{case.public_id}/release/").status_code == 403

    rival = OrganizationFactory(slug="rival")
    client = login(member(rival, Role.OWNER, email="boss@rival.test"))
    assert client.get(f"/api/v1/o/{rival.slug}/fraud-cases/{case.public_id}/").status_code == 404
    assert client.post(f"/api/v1/o/{rival.slug}/fraud-cases/{case.public_id}/release/").status_code == 404
    assert client.get(reverse("fraud_case", args=[rival.slug, case.public_id])).status_code == 404
    assert client.post(reverse("fraud_case_release", args=[rival.slug, case.public_id])).status_code == 404
    assert client.get(reverse("fraud_case", args=[org.slug, case.public_id])).status_code == 404
    with tenant_scope(org):
        assert FraudCase.objects.get(pk=case.pk).status == CaseStatus.OPEN
