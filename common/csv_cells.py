"""CSV cells that a spreadsheet won't run: text starting with = + - @ (or a tab or carriage
return, which some spreadsheets skip before reading a formula) gets a leading apostrophe, the
OWASP advice against CSV formula injection. Numbers stay numbers: int and Decimal values, and
text that is just a signed number ("-12.50"). Lives here, the
lowest layer, because every app's exports use it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
# A signed number as text ("-49.00", "+1 234,50") is data, not a formula: left as it is, so a
# file of refunds exported and imported again keeps its amounts.
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d.,  ]*")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(DANGEROUS_FIRST) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]
