"""Short random codes for links: base62, never sequential, unguessable enough that
walking the code space finds nothing (62^8 ≈ 2·10^14 codes)."""

import re
import secrets

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LINK_CODE_LENGTH = 8
CODE_RE = re.compile(r"^[0-9A-Za-z]{7,16}$")


def new_code(length: int = LINK_CODE_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def is_valid_code(code: str) -> bool:
    return bool(CODE_RE.match(code))
