"""Payout details at rest: encrypted with `cryptography`'s MultiFernet, fingerprinted with a keyed hash.

Keys (settings.PAYOUT_DETAILS_KEYS, from the environment, comma-separated, NEWEST FIRST): the newest
encrypts, every listed key decrypts, so a new key is added in front and `manage.py
rotate_payout_keys` re-encrypts every row under it; then the old key can be dropped (README
"Payouts", key rotation). With no key configured, one is derived from SECRET_KEY (HKDF)
so that `make run` works out of the box: that default is for the embedded mode and development,
not for production (it changes with SECRET_KEY and lives wherever SECRET_KEY does).

The fingerprint is HMAC-SHA256 of the normalised details ("paypal:j@example.com", "bank:DE89…")
under a key derived from SECRET_KEY: equal details give equal fingerprints (to find two ambassadors
sharing them) without storing the details in the clear, and without the secret it can't be
recomputed from a guess. The rotation command recomputes fingerprints too (after a SECRET_KEY change)."""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# HKDF "info" labels: the same secret gives unrelated keys for unrelated uses.
ENCRYPTION_INFO = b"ambassador-hq payout-details fernet v1"
FINGERPRINT_INFO = b"ambassador-hq payout-details fingerprint v1"


class DetailsUnreadable(Exception):
    """A stored token none of the configured keys opens (a key was dropped too early)."""


def _hkdf(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def derived_key(secret: str) -> bytes:
    """The embedded default: a Fernet key derived from `secret` (SECRET_KEY)."""
    return base64.urlsafe_b64encode(_hkdf(secret, ENCRYPTION_INFO))


def configured_keys() -> tuple[bytes, ...]:
    keys = tuple(key.strip().encode() for key in settings.PAYOUT_DETAILS_KEYS if key.strip())
    return keys or (derived_key(settings.SECRET_KEY),)


@lru_cache(maxsize=8)
def _fernets(keys: tuple[bytes, ...]) -> tuple[MultiFernet, Fernet]:
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:
            # The key itself is never echoed: only its position in the list.
            raise ImproperlyConfigured(
                f"PAYOUT_DETAILS_KEYS: key {position} is not a Fernet key (32 url-safe base64-encoded bytes; "
                "make one with `python -c \"from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())\"`).") from None
    return MultiFernet(fernets), fernets[0]


def _multi() -> MultiFernet:
    return _fernets(configured_keys())[0]


def encrypt(plaintext: str) -> str:
    """A token under the newest key (it carries its own time stamp and random IV)."""
    return _multi().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _multi().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DetailsUnreadable("No configured payout-details key opens this token.") from None


def is_current(token: str) -> bool:
    """Whether the newest key opens `token` (already rotated)."""
    try:
        _fernets(configured_keys())[1].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """The same plaintext under the newest key (raises DetailsUnreadable if no key opens it)."""
    try:
        return _multi().rotate(token.encode()).decode()
    except InvalidToken:
        raise DetailsUnreadable("No configured payout-details key opens this token.") from None


@lru_cache(maxsize=8)
def _fingerprint_key(secret: str) -> bytes:
    return _hkdf(secret, FINGERPRINT_INFO)


def fingerprint(normalised: str) -> str:
    """64 hex characters: HMAC-SHA256 of the normalised details."""
    return hmac.new(_fingerprint_key(settings.SECRET_KEY), normalised.encode(), hashlib.sha256).hexdigest()
