"""The ambassador's payout details: validated (e-mail; IBAN checksum and length per country), stored
encrypted, shown masked only (page, logs), changed only with the password again, audited without
the details, the ambassador e-mailed (real SMTP on loopback), shared details flagged as fraud."""

import logging

import pytest

from common import outbox
from common.models import OutboxEvent
from rewards.models import AuditEntry, CaseStatus, FraudCase, FraudReason, PayoutDetails
from rewards.services import RewardError
from rewards.services.payout_details import clean_iban, mask_email, mask_iban, read, set_details
from tenancy.models import Role
from tenancy.scoping import scopes_disabled, tenant_scope
from tests.factories import PASSWORD, AmbassadorFactory, member
from tests.support.payouts import IBAN_DE, IBAN_GB, give_iban, give_paypal

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(org):
    user = member(org, Role.AMBASSADOR, ambassador=True, email="jo@acme.test")
    with tenant_scope(org):
        return user.ambassador_profiles.get()


def test_masks():
    assert mask_email("jane.doe@example.com") == "j•••@example.com"
    assert mask_iban(IBAN_DE) == "DE89 •••• •••• 3000"


@pytest.mark.parametrize(("value", "message"), [
    ("DE89370400440532013001", "check digits"),  # one digit changed: mod-97 fails
    ("DE8937040044053201300", "too short or too long"),  # a German IBAN has 22 characters
    ("GB82WEST1234569876543", "too short or too long"),
    ("ZZ89370400440532013000", "country code"),
    ("DE89-3704!0044", "not a valid IBAN"),
    ("", "Enter your IBAN"),
])
def test_iban_refusals_say_what_is_wrong(value, message):
    with pytest.raises(RewardError) as error:
        clean_iban(value)
    assert error.value.field == "iban" and message in error.value.message


def test_ibans_are_stored_compact_whatever_the_spacing():
    assert clean_iban("de89 3704 0044 0532 0130 00") == IBAN_DE
    assert clean_iban(IBAN_GB) == IBAN_GB


def test_first_details_need_no_password_and_are_encrypted(me):
    row = give_paypal(me, "Jo.Pay@Example.COM", password="")
    assert (row.method, row.masked) == ("paypal", "J•••@example.com")
    assert "Pay" not in row.encrypted
    assert read(row).paypal_email == "Jo.Pay@example.com"


@pytest.mark.parametrize(("fields", "field"), [
    ({"method": "paypal", "paypal_email": "not-an-address"}, "paypal_email"),
    ({"method": "paypal", "paypal_email": "=cmd@example.com"}, "paypal_email"),
    ({"method": "bank", "iban": IBAN_DE, "account_holder": "  "}, "account_holder"),
    ({"method": "cash"}, "method"),
])
def test_bad_details_are_refused_and_nothing_is_stored(me, fields, field):
    with pytest.raises(RewardError) as error, tenant_scope(me.organization):
        set_details(me, user=me.user, **fields)
    assert error.value.field == field
    with tenant_scope(me.organization):
        assert not PayoutDetails.objects.exists() and not AuditEntry.objects.exists()


def test_changing_details_needs_the_password(me):
    give_paypal(me, "jo@example.com")
    for wrong in ("", "not my password"):
        with pytest.raises(RewardError) as error:
            give_iban(me, password=wrong)
        assert error.value.field == "password"
    with tenant_scope(me.organization):
        assert PayoutDetails.objects.get().method == "paypal"
    give_iban(me, password=PASSWORD)
    with tenant_scope(me.organization):
        assert PayoutDetails.objects.get().masked == "DE89 •••• •••• 3000"


def test_only_the_ambassador_sets_their_details(me, org):
    someone = member(org, Role.ADMIN)
    with pytest.raises(RewardError), tenant_scope(org):
        set_details(me, user=someone, method="paypal", paypal_email="admin@example.com")


def test_a_change_is_audited_without_the_details_and_emits_one_event(me):
    give_paypal(me, "jo.secret@example.com")
    give_iban(me, IBAN_DE, holder="Jo Secret")
    with tenant_scope(me.organization):
        entries = list(AuditEntry.objects.filter(action="payout_details.changed").order_by("pk"))
    assert [(e.before, e.after) for e in entries] == [
        (None, {"method": "paypal", "masked": "j•••@example.com"}),
        ({"method": "paypal", "masked": "j•••@example.com"}, {"method": "bank", "masked": "DE89 •••• •••• 3000"}),
    ]
    assert all(e.actor_id == me.user_id for e in entries)
    dumped = repr([(e.before, e.after) for e in entries])
    assert "secret" not in dumped.lower() and "0532" not in dumped
    with scopes_disabled():
        events = list(OutboxEvent.objects.filter(topic="payout_details.changed"))
    assert len(events) == 2 and all("secret" not in repr(e.payload).lower() for e in events)


def test_the_same_details_on_two_ambassadors_open_a_fraud_case_for_each(me, org):
    other = AmbassadorFactory(organization=org)
    give_iban(me, IBAN_DE)
    give_iban(other, "de89 3704 0044 0532 0130 00", holder="Someone Else")  # same account, other spelling
    with tenant_scope(org):
        cases = {case.ambassador_id: case for case in FraudCase.objects.filter(status=CaseStatus.OPEN)}
        assert set(cases) == {me.pk, other.pk}
        assert {s.reason for case in cases.values() for s in case.signals.all()} == {FraudReason.SHARED_DETAILS}


def test_the_page_shows_masked_details_only_and_needs_the_password_to_change(me, client, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(me.user)
    url = f"/o/{me.organization.slug}/me/payout-details/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"method": "bank", "iban": "DE89 3704 0044 0532 0130 00",
                                 "account_holder": "Jo Hidden"})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "DE89 •••• •••• 3000" in page
    assert "0532" not in page and "Jo Hidden" not in page
    assert 'name="password"' in page

    response = client.post(url, {"method": "paypal", "paypal_email": "jo@example.com", "password": "wrong"})
    assert response.status_code == 400 and "current password" in response.content.decode()
    response = client.post(url, {"method": "paypal", "paypal_email": "jo@example.com", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "j•••@example.com" in page and "jo@example.com" not in page
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert "0532" not in logged and "jo@example.com" not in logged and "Jo Hidden" not in logged


def test_a_bad_iban_on_the_page_is_a_field_error(me, client):
    client.force_login(me.user)
    response = client.post(f"/o/{me.organization.slug}/me/payout-details/",
                           {"method": "bank", "iban": "DE89370400440532013001", "account_holder": "Jo"})
    assert response.status_code == 400 and "check digits" in response.content.decode()


def test_someone_without_an_ambassador_profile_gets_404(org, client):
    client.force_login(member(org, Role.ADMIN))
    assert client.get(f"/o/{org.slug}/me/payout-details/").status_code == 404


def test_a_change_emails_the_ambassador_at_their_account_address(me, smtp_server):
    give_paypal(me, "jo.paypal@example.com")
    give_iban(me, IBAN_DE)
    outbox.sweep()
    arrivals = smtp_server.wait_for(2)
    assert [a.rcpt_tos for a in arrivals] == [["jo@acme.test"], ["jo@acme.test"]]
    subjects = [str(a.message["Subject"]) for a in arrivals]
    assert subjects == ["Your payout details at Acme were set", "Your payout details at Acme were changed"]
    second = arrivals[1].body()
    assert "DE89 •••• •••• 3000" in second and "j•••@example.com" in second
    assert "0532" not in second and "jo.paypal" not in second
    assert "/o/acme/me/payout-details/" in arrivals[1].body("html")
    assert outbox.sweep() == 0
    assert len(smtp_server.settle(quiet=0.3)) == 2  # each change told once
