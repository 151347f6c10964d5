"""Click and visitor ids: 22 URL-safe characters (base64url of 128 bits). A click id
starts with its time in milliseconds (48 bits, so ids sort roughly by time and a late
lead can tell a fresh click from an old one), then 80 random bits, so no id can be
guessed from another. A visitor id is 128 random bits."""

import base64
import os
import re
import time

ID_LENGTH = 22
ID_RE = re.compile(r"^[0-9A-Za-z_-]{22}$")


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw)[:ID_LENGTH].decode()


def new_click_id(now: float | None = None) -> str:
    millis = int((time.time() if now is None else now) * 1000) & ((1 << 48) - 1)
    return _encode(millis.to_bytes(6, "big") + os.urandom(10))


def new_visitor_id() -> str:
    return _encode(os.urandom(16))


def is_valid_id(value: str) -> bool:
    return bool(value) and ID_RE.match(value) is not None


def click_id_time(click_id: str) -> float:
    """The time (epoch seconds) a click id was made."""
    raw = base64.urlsafe_b64decode(click_id + "==")
    return int.from_bytes(raw[:6], "big") / 1000
