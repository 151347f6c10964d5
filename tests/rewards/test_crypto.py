"""Payout details at rest: encrypted with MultiFernet (rewards.crypto), rotated to a new key by
`manage.py rotate_payout_keys`, fingerprinted with a keyed hash."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from rewards import crypto
from rewards.models import PayoutDetails
from rewards.services.payout_details import read
from tenancy.scoping import scopes_disabled, tenant_scope
from tests.factories import AmbassadorFactory
from tests.support.payouts import IBAN_DE, give_iban, give_paypal

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_round_trip_and_a_fresh_token_each_time(settings):
    settings.PAYOUT_DETAILS_KEYS = [OLD]
    first, second = crypto.encrypt("jo@example.com"), crypto.encrypt("jo@example.com")
    assert first != second  # a random IV: equal details don't give equal ciphertexts
    assert crypto.decrypt(first) == crypto.decrypt(second) == "jo@example.com"
    assert "jo@example.com" not in first


def test_without_configured_keys_a_key_is_derived_from_the_secret_key(settings):
    settings.PAYOUT_DETAILS_KEYS = []
    settings.SECRET_KEY = "one secret"
    token = crypto.encrypt("hello")
    assert Fernet(crypto.derived_key("one secret")).decrypt(token.encode()) == b"hello"
    settings.SECRET_KEY = "another secret"
    with pytest.raises(crypto.DetailsUnreadable):
        crypto.decrypt(token)


def test_a_malformed_key_is_a_configuration_error_that_does_not_echo_it(settings):
    settings.PAYOUT_DETAILS_KEYS = [NEW, "not-a-key-but-a-secret"]
    with pytest.raises(ImproperlyConfigured) as error:
        crypto.encrypt("x")
    assert "key 2" in str(error.value) and "not-a-key-but-a-secret" not in str(error.value)


def test_the_newest_key_encrypts_and_every_listed_key_decrypts(settings):
    settings.PAYOUT_DETAILS_KEYS = [OLD]
    old_token = crypto.encrypt("details")
    settings.PAYOUT_DETAILS_KEYS = [NEW, OLD]
    assert crypto.decrypt(old_token) == "details"
    assert not crypto.is_current(old_token)
    rotated = crypto.rotate(old_token)
    assert crypto.is_current(rotated)
    settings.PAYOUT_DETAILS_KEYS = [NEW]
    assert crypto.decrypt(rotated) == "details"
    with pytest.raises(crypto.DetailsUnreadable):
        crypto.decrypt(old_token)


def test_fingerprints_are_keyed_and_equal_for_equal_details(settings):
    settings.SECRET_KEY = "first"
    a = crypto.fingerprint("paypal:jo@example.com")
    assert a == crypto.fingerprint("paypal:jo@example.com") != crypto.fingerprint("paypal:al@example.com")
    assert len(a) == 64
    import hashlib

    assert a != hashlib.sha256(b"paypal:jo@example.com").hexdigest()  # not a plain hash anyone can recompute
    settings.SECRET_KEY = "second"
    assert crypto.fingerprint("paypal:jo@example.com") != a


def raw_rows() -> list[tuple]:
    """The stored payout details as the database holds them (no ORM, no decryption)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {PayoutDetails._meta.db_table}")  # noqa: S608 - the model's table
        return cursor.fetchall()


@pytest.mark.django_db
def test_details_are_encrypted_at_rest(org, settings):
    settings.PAYOUT_DETAILS_KEYS = [OLD]
    paypal = AmbassadorFactory(organization=org)
    bank = AmbassadorFactory(organization=org)
    give_paypal(paypal, "Jo.Secret@Example.com")
    give_iban(bank, IBAN_DE, holder="Hidden Holder")
    stored = " ".join(str(value) for row in raw_rows() for value in row)
    for plaintext in ("Jo.Secret", "jo.secret", "Example.com", IBAN_DE, "370400440532013000", "Hidden Holder"):
        assert plaintext not in stored
    assert "DE89 •••• •••• 3000" in stored and "J•••@example.com" in stored  # only the masked forms


@pytest.mark.django_db
def test_rotate_payout_keys_reencrypts_every_row_under_the_newest_key(org, other_org, settings, capsys):
    settings.PAYOUT_DETAILS_KEYS = [OLD]
    ambassadors = [AmbassadorFactory(organization=org), AmbassadorFactory(organization=other_org)]
    give_paypal(ambassadors[0], "jo@example.com")
    give_iban(ambassadors[1])
    with scopes_disabled():
        before = dict(PayoutDetails.objects.values_list("pk", "encrypted"))
        fingerprints = dict(PayoutDetails.objects.values_list("pk", "fingerprint"))

    settings.PAYOUT_DETAILS_KEYS = [NEW, OLD]
    call_command("rotate_payout_keys", "--batch", "1")
    assert "rows=2 re-encrypted=2 fingerprints_updated=0 unreadable=0" in capsys.readouterr().out
    with scopes_disabled():
        after = dict(PayoutDetails.objects.values_list("pk", "encrypted"))
        assert dict(PayoutDetails.objects.values_list("pk", "fingerprint")) == fingerprints
    assert all(after[pk] != before[pk] and crypto.is_current(after[pk]) for pk in before)

    call_command("rotate_payout_keys")  # again: nothing left to do
    assert "re-encrypted=0" in capsys.readouterr().out
    settings.PAYOUT_DETAILS_KEYS = [NEW]  # the old key dropped: everything still reads
    with tenant_scope(org):
        assert read(PayoutDetails.objects.get(ambassador=ambassadors[0])).paypal_email == "jo@example.com"
    with tenant_scope(other_org):
        assert read(PayoutDetails.objects.get(ambassador=ambassadors[1])).iban == IBAN_DE


@pytest.mark.django_db
def test_rotation_after_a_secret_key_change_recomputes_fingerprints(org, settings, capsys):
    settings.PAYOUT_DETAILS_KEYS = [OLD]
    ambassador = AmbassadorFactory(organization=org)
    give_paypal(ambassador, "jo@example.com")
    settings.SECRET_KEY = "a new secret key"
    call_command("rotate_payout_keys")
    assert "re-encrypted=0 fingerprints_updated=1" in capsys.readouterr().out
    with tenant_scope(org):
        assert PayoutDetails.objects.get().fingerprint == crypto.fingerprint("paypal:jo@example.com")


@pytest.mark.django_db
def test_a_row_no_key_opens_fails_the_command(org, settings):
    settings.PAYOUT_DETAILS_KEYS = [OLD]
    give_paypal(AmbassadorFactory(organization=org), "jo@example.com")
    settings.PAYOUT_DETAILS_KEYS = [NEW]  # the old key dropped before rotating
    with pytest.raises(CommandError, match="could not be decrypted"):
        call_command("rotate_payout_keys")


@pytest.mark.django_db
def test_moving_from_the_derived_default_to_a_key_of_ones_own(org, settings, capsys):
    settings.PAYOUT_DETAILS_KEYS = []
    ambassador = AmbassadorFactory(organization=org)
    give_paypal(ambassador, "jo@example.com")
    call_command("rotate_payout_keys", "--show-derived-key")
    derived = capsys.readouterr().out.strip()
    settings.PAYOUT_DETAILS_KEYS = [NEW, derived]
    call_command("rotate_payout_keys")
    assert "re-encrypted=1" in capsys.readouterr().out
    settings.PAYOUT_DETAILS_KEYS = [NEW]
    settings.SECRET_KEY = "changed afterwards"
    with tenant_scope(org):
        assert read(PayoutDetails.objects.get()).paypal_email == "jo@example.com"
