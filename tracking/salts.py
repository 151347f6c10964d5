"""The daily random salt for hashing client IP addresses (never stored raw).

A random salt per UTC day, kept in the database so every web process hashes alike, and
deleted once its day has been over for 24 hours, so at most 48 hours after it was made
(tracking.tasks.delete_old_salts); after that nobody, us included, can tell whether a
hash belongs to an address. Each process keeps today's salt in memory: one query per
process per day."""

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


def delete_old_salts(now: datetime | None = None) -> int:
    cutoff = ((now or datetime.now(UTC)) - timedelta(hours=24)).date()
    deleted, _ = DailySalt.objects.filter(day__lt=cutoff).delete()
    return deleted


def forget_cached_salt() -> None:
    global _current
    _current = (None, b"")
