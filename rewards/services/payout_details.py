"""Where an ambassador is paid: a PayPal e-mail or a bank account (IBAN and holder), set by the
ambassador, encrypted at rest (rewards.crypto), shown masked everywhere ("j•••@example.com",
"DE89 •••• •••• 3000"). Only the payout files (rewards.services.payouts exports) decrypt them.

Changing details that exist needs the account password again; every change is audited (method and
masked form only), e-mails the ambassador (outbox "payout_details.changed", handled by
notifications.payout_emails) and, when another ambassador of the organisation has the same
details (equal fingerprints), opens a fraud case for both (rewards.services.fraud)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from schwifty import IBAN
from schwifty.exceptions import (
    InvalidBBANChecksum,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    SchwiftyException,
)

from ambassadors.models import Ambassador
from common import outbox
from tenancy.scoping import scopes_disabled, tenant_scope

from .. import crypto
from ..models import PayoutDetails, PayoutMethod
from . import RewardError, audit, fraud

CHANGED_TOPIC = "payout_details.changed"
DOT = "•"
MAX_HOLDER_LENGTH = 140
# A first character a spreadsheet would run as a formula: such an address could not go into a
# payout file unaltered (common.csv_cells would prefix it), so it is refused here.
FORMULA_FIRST = ("=", "+", "-", "@")


@dataclass(frozen=True)
class Details:
    """Decrypted details. Never logged, never rendered outside the payout files."""

    method: str
    paypal_email: str = ""
    iban: str = ""  # compact, upper case
    account_holder: str = ""

    def __repr__(self) -> str:  # a stray log line or traceback shows the masked form only
        return f"Details({self.method}, {self.masked})"

    __str__ = __repr__

    @property
    def normalised(self) -> str:
        if self.method == PayoutMethod.PAYPAL:
            return f"paypal:{self.paypal_email.lower()}"
        return f"bank:{self.iban}"

    @property
    def masked(self) -> str:
        return mask_email(self.paypal_email) if self.method == PayoutMethod.PAYPAL else mask_iban(self.iban)

    def to_json(self) -> str:
        return json.dumps({"v": 1, "method": self.method, "paypal_email": self.paypal_email, "iban": self.iban,
                           "account_holder": self.account_holder}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Details:
        data = json.loads(text)
        return cls(method=data["method"], paypal_email=data.get("paypal_email", ""), iban=data.get("iban", ""),
                   account_holder=data.get("account_holder", ""))


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}{DOT * 3}@{domain}"


def mask_iban(iban: str) -> str:
    return f"{iban[:4]} {DOT * 4} {DOT * 4} {iban[-4:]}"


# --- Validation ----------------------------------------------------------------------------------------

def _clean_text(value) -> str:
    return " ".join(str(value or "").replace("\x00", "").split())


def clean_paypal_email(value) -> str:
    email = str(value or "").strip()
    if not email:
        raise RewardError("paypal_email", "Enter the e-mail address of your PayPal account.")
    try:
        validate_email(email)
    except ValidationError:
        raise RewardError("paypal_email", "Enter a valid e-mail address, like name@example.com.") from None
    if email.startswith(FORMULA_FIRST):
        raise RewardError("paypal_email", "A PayPal address can't start with = + - or @.")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def clean_iban(value) -> str:
    text = str(value or "").strip()
    if not text:
        raise RewardError("iban", "Enter your IBAN (it starts with two letters, e.g. DE89 3704 …).")
    try:
        return IBAN(text).compact
    except InvalidChecksumDigits:
        message = "This IBAN's check digits don't match (mod-97): a character is probably mistyped."
    except InvalidLength:
        message = "This IBAN is too short or too long for its country."
    except InvalidCountryCode:
        message = "This IBAN doesn't start with a known country code (e.g. DE, FR, GB)."
    except InvalidBBANChecksum:
        message = "The bank account number inside this IBAN fails its national check: check it."
    except SchwiftyException:
        message = "This is not a valid IBAN: use letters and digits only, starting with the country code."
    raise RewardError("iban", message)


def clean_details(method, *, paypal_email="", iban="", account_holder="") -> Details:
    if method == PayoutMethod.PAYPAL:
        return Details(method=PayoutMethod.PAYPAL, paypal_email=clean_paypal_email(paypal_email))
    if method == PayoutMethod.BANK:
        compact = clean_iban(iban)
        holder = _clean_text(account_holder)
        if not holder:
            raise RewardError("account_holder", "Enter the account holder's name, as the bank knows it.")
        if len(holder) > MAX_HOLDER_LENGTH:
            raise RewardError("account_holder", f"At most {MAX_HOLDER_LENGTH} characters.")
        return Details(method=PayoutMethod.BANK, iban=compact, account_holder=holder)
    raise RewardError("method", "Choose PayPal or a bank transfer (IBAN).")


# --- Reads -------------------------------------------------------------------------------------------------

def details_of(ambassador) -> PayoutDetails | None:
    with tenant_scope(ambassador.organization_id):
        return PayoutDetails.objects.filter(ambassador_id=ambassador.pk).first()


def read(row: PayoutDetails) -> Details:
    """The decrypted details of a stored row: for the payout files only."""
    return Details.from_json(crypto.decrypt(row.encrypted))


# --- The write ---------------------------------------------------------------------------------------------

def set_details(ambassador, *, user, method, paypal_email="", iban="", account_holder="", password="",
                now=None) -> PayoutDetails:
    """Store the ambassador's details (their own user only). Replacing existing details needs
    `password`, the user's current password. Returns the stored row."""
    now = now or timezone.now()
    if user is None or ambassador.user_id != user.pk:
        raise RewardError(None, "Only the ambassador can set their own payout details.")
    details = clean_details(method, paypal_email=paypal_email, iban=iban, account_holder=account_holder)
    organization_id = ambassador.organization_id
    with tenant_scope(organization_id), transaction.atomic():
        # One change at a time per ambassador: the row lock orders concurrent saves.
        Ambassador.objects.select_for_update().filter(pk=ambassador.pk).first()
        row = PayoutDetails.objects.filter(ambassador_id=ambassador.pk).first()
        if row is not None:
            if not user.has_usable_password():
                raise RewardError("password", "Your account has no password yet: set one (Forgot password) "
                                              "to change your payout details.")
            if not password or not user.check_password(password):
                raise RewardError("password", "Enter your current password to change your payout details.")
        before = {"method": row.method, "masked": row.masked} if row is not None else None
        fingerprint = crypto.fingerprint(details.normalised)
        if row is None:
            row = PayoutDetails(organization_id=organization_id, ambassador_id=ambassador.pk)
        row.method, row.encrypted, row.fingerprint, row.masked = (
            details.method, crypto.encrypt(details.to_json()), fingerprint, details.masked)
        row.save()
        after = {"method": row.method, "masked": row.masked}
        audit.record(organization_id=organization_id, actor=user, action="payout_details.changed",
                     object_type="ambassador", object_id=ambassador.public_id, before=before, after=after, at=now)
        outbox.emit(CHANGED_TOPIC, key=f"{CHANGED_TOPIC}:{row.pk}:{uuid.uuid4().hex}", organization_id=organization_id,
                    payload={"ambassador": ambassador.pk, "method": row.method, "masked": row.masked,
                             "previous_masked": before["masked"] if before else "", "changed_at": now.isoformat()})
        sharing = list(PayoutDetails.objects.filter(fingerprint=fingerprint).exclude(ambassador_id=ambassador.pk)
                       .values_list("ambassador_id", flat=True))
        if sharing:
            fraud.flag_shared_details(organization_id, sorted({ambassador.pk, *sharing}), now=now)
    return row


# --- Key rotation (manage.py rotate_payout_keys) ---------------------------------------------------------

@dataclass
class Rotation:
    rows: int = 0
    reencrypted: int = 0
    fingerprints: int = 0
    unreadable: int = 0


def rotate_keys(*, batch: int = 500) -> Rotation:
    """Re-encrypt every organisation's payout details under the newest key and recompute their
    fingerprints (platform-wide on purpose). Rows already current are left as they are; a row an
    ambassador changes meanwhile is not overwritten (conditional UPDATE on the old token) — its
    new token is under the newest key anyway. Safe to run again at any time."""
    result = Rotation()
    last = 0
    with scopes_disabled():
        while True:
            rows = list(PayoutDetails.objects.filter(pk__gt=last).order_by("pk")
                        .values_list("pk", "encrypted", "fingerprint")[:batch])
            if not rows:
                return result
            for pk, token, fingerprint in rows:
                last = pk
                result.rows += 1
                try:
                    details = Details.from_json(crypto.decrypt(token))
                except crypto.DetailsUnreadable:
                    result.unreadable += 1
                    continue
                new_token = token if crypto.is_current(token) else crypto.rotate(token)
                new_fingerprint = crypto.fingerprint(details.normalised)
                if (new_token, new_fingerprint) == (token, fingerprint):
                    continue
                if PayoutDetails.objects.filter(pk=pk, encrypted=token).update(encrypted=new_token,
                                                                              fingerprint=new_fingerprint):
                    result.reencrypted += new_token != token
                    result.fingerprints += new_fingerprint != fingerprint
