"""The daily random salt for hashing client IP addresses (never stored raw).

A random salt per UTC day, kept in the database so every web process hashes alike, and
deleted once its day has been over for 24 hours, so at most 48 hours after it was made
(tracking.tasks.delete_old_salts); after that nobody, us included, can tell whether a
hash belongs to an address. Each process keeps today's salt in memory: one query per
process per day."""

import base64
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction

from .models import DailySalt

_current: tuple = (None, b"")


def salt_for(day) -> bytes:
    global _current
    if _current[0] == day:
        return _current[1]
    row = DailySalt.objects.filter(day=day).first()
    if row is None:
        try:
            with transaction.atomic():
                row = DailySalt.objects.create(day=day, salt=secrets.token_hex(32))
        except IntegrityError:  # another process made it first
            row = DailySalt.objects.get(day=day)
    _current = (day, row.salt.encode())
    return _current[1]


def hash_ip(ip: str, now: float) -> str:
    day = datetime.fromtimestamp(now, UTC).date()
    return hashlib.sha256(salt_for(day) + ip.encode()).hexdigest()[:32]


def hash_visitor(organization_id: int, ip: str, user_agent: str, now: float) -> str:
    """A visitor id for a redirect without the visitor cookie (TrackingSettings.visitor_cookie
    off), shaped like a cookie's (22 URL-safe characters): the day's random salt, the organisation,
    the address and the user agent, hashed, as privacy-first analytics count visitors. The same
    browser on the same address is one visitor for the UTC day, and another one the next day; the
    organisation is in the hash so no two tenants can match their visitors; once the salt is
    deleted nobody can tell which address a visitor id was."""
    day = datetime.fromtimestamp(now, UTC).date()
    material = b"%s\0visitor\0%d\0%s\0%s" % (salt_for(day), organization_id, ip.encode(), user_agent.encode())
    return base64.urlsafe_b64encode(hashlib.sha256(material).digest()[:16])[:22].decode()


def delete_old_salts(now: datetime | None = None) -> int:
    cutoff = ((now or datetime.now(UTC)) - timedelta(hours=24)).date()
    deleted, _ = DailySalt.objects.filter(day__lt=cutoff).delete()
    return deleted


def forget_cached_salt() -> None:
    global _current
    _current = (None, b"")
