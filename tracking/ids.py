"""Click and visitor ids: 22 base62 characters of 128 bits. A click id starts with its
time in milliseconds (48 bits, so ids sort by time and a late lead can tell a fresh
click from an old one) followed by 80 random bits (so no id can be guessed from another)."""

import re
import secrets
import time

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 22
ID_RE = re.compile(r"^[0-9A-Za-z]{22}$")
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}


def _encode(number: int) -> str:
    chars = []
    for _ in range(ID_LENGTH):
        number, rem = divmod(number, 62)
        chars.append(ALPHABET[rem])
    return "".join(reversed(chars))


def new_click_id(now: float | None = None) -> str:
    millis = int((time.time() if now is None else now) * 1000) & ((1 << 48) - 1)
    return _encode((millis << 80) | secrets.randbits(80))


def new_visitor_id() -> str:
    return _encode(secrets.randbits(128))


def is_valid_id(value: str) -> bool:
    return bool(value) and ID_RE.match(value) is not None


def click_id_time(click_id: str) -> float:
    """The time (epoch seconds) a click id was made."""
    number = 0
    for ch in click_id:
        number = number * 62 + _INDEX[ch]
    return (number >> 80) / 1000
