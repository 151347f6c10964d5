"""Inviting many people at once from a CSV file (columns: email, name, kind, group;
several groups separated by ';' or '|').

Every row is checked first; then the good rows are invited and the bad rows reported
with their line numbers (the header is line 1). Good rows are kept even when others are
bad, so an admin fixes and re-uploads only the rejected lines; a row whose address is
already an ambassador is reported too, so uploading the same file twice invites nobody twice."""

import csv
import io
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from ..models import Ambassador, AmbassadorGroup, Kind
from .invitations import invite, normalise_email

REQUIRED_COLUMNS = {"email"}
KNOWN_COLUMNS = {"email", "name", "kind", "group"}
KIND_ALIASES = {"internal": Kind.INTERNAL, "employee": Kind.INTERNAL, "external": Kind.EXTERNAL,
                "customer": Kind.EXTERNAL, "partner": Kind.EXTERNAL, "": Kind.EXTERNAL}
MAX_FILE_BYTES = 2 * 1024 * 1024


class CsvFileError(ValueError):
    """The file as a whole can't be read (encoding, header, size): nothing is invited."""


@dataclass
class RowError:
    line: int
    email: str
    message: str


@dataclass
class CsvInviteReport:
    invited: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Row:
    line: int
    email: str
    name: str
    kind: str
    groups: list


def _read(data: bytes) -> csv.DictReader:
    if len(data) > MAX_FILE_BYTES:
        raise CsvFileError(f"The file is larger than {MAX_FILE_BYTES // 1024 // 1024} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFileError("The file is not UTF-8 text. Export it from your spreadsheet as “CSV UTF-8”.") from exc
    if "\x00" in text:  # not text (or UTF-16 without its mark); PostgreSQL could not store it either
        raise CsvFileError("The file holds NUL characters, so it is not CSV text. Export it from your "
                           "spreadsheet as “CSV UTF-8”.")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not set(header) >= REQUIRED_COLUMNS:
        raise CsvFileError("The first line must name the columns, with at least “email” "
                           "(and optionally “name”, “kind”, “group”).")
    unknown = set(header) - KNOWN_COLUMNS
    if unknown:
        raise CsvFileError(f"Unknown column(s): {', '.join(sorted(unknown))}. "
                           "Allowed: email, name, kind, group.")
    reader.fieldnames = header
    return reader


def parse(organization, data: bytes) -> tuple[list[_Row], list[RowError]]:
    reader = _read(data)
    groups_by_name = {g.name.lower(): g for g in AmbassadorGroup.objects.filter(organization=organization)}
    existing = {e.lower() for e in Ambassador.objects.filter(organization=organization).values_list("email", flat=True)}
    seen: dict[str, int] = {}
    rows, errors = [], []
    for record in reader:
        line = reader.line_num
        if line - 1 > settings.CSV_INVITE_MAX_ROWS:
            raise CsvFileError(f"The file has more than {settings.CSV_INVITE_MAX_ROWS} rows; split it.")
        values = {k: (v or "").strip() for k, v in record.items() if k}
        if not any(values.values()):
            continue  # blank line
        email = normalise_email(values.get("email", ""))
        problems = []
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"“{values.get('email', '')}” is not a valid e-mail address")
        kind = KIND_ALIASES.get(values.get("kind", "").lower())
        if kind is None:
            problems.append(f"kind “{values['kind']}” is not internal or external")
        groups = []
        for name in filter(None, (g.strip() for g in re.split(r"[;|]", values.get("group", "")))):
            group = groups_by_name.get(name.lower())
            if group is None:
                problems.append(f"group “{name}” does not exist (create it first)")
            else:
                groups.append(group)
        if email in seen:
            problems.append(f"duplicate of line {seen[email]}")
        elif email in existing:
            problems.append("already an ambassador or invited")
        if not problems:
            seen[email] = line
            rows.append(_Row(line, email, values.get("name", ""), kind, groups))
        else:
            seen.setdefault(email, line)
            errors.append(RowError(line, values.get("email", ""), "; ".join(problems)))
    return rows, errors


def invite_from_csv(*, organization, data: bytes, invited_by=None) -> CsvInviteReport:
    rows, errors = parse(organization, data)
    report = CsvInviteReport(errors=errors)
    with transaction.atomic():
        for row in rows:
            invite(organization=organization, email=row.email, display_name=row.name, kind=row.kind,
                   groups=row.groups, invited_by=invited_by)
            report.invited.append(row.email)
    return report
