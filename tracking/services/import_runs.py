"""Running a stored CSV import of leads or sales (tracking.services.imports checks the upload
and the mapping, stores the import and queues its run; tracking.tasks.run_conversion_import
runs it here).

`run_import` goes through the rows in order: each row is checked with the same rules as the
JSON tracking API (tracking.services.conversion_input) and stored through the ingestion
services (tracking.services.conversions), each in its own transaction, so a bad row never
half-writes and good rows are kept. The report counts rows created / updated / unchanged /
failed and lists the problems with their line numbers (the header is line 1).

Re-importing is idempotent: leads find their customer by external id, else e-mail (and
update it), sales are unique per invoice_id. So the same file twice creates nothing new,
and running one import again recomputes its report without duplicating anything.

CSV specifics (beyond the API's rules):
* delimiter: comma, semicolon, tab or pipe, taken from the header line;
* occurred_at: ISO 8601 with an offset as in the API, or a date (2026-03-01: midnight) or a
  date-time without offset, both in the organisation's time zone; DD.MM.YYYY too;
* amount: a decimal point or a decimal comma (49,90; 1.234,50; 1 234,50); refunds may be
  negative; thousands separators are dropped;
* a "refunded" row for an invoice not stored yet stores the sale and marks it refunded (a
  CRM export lists a refunded invoice once, with its current state).

This module queues nothing itself (tasks.py imports it): `run_import` calls back `rows_stored`
with the organisation's id once rows were created or updated, to queue their attribution."""

import csv
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from tenancy.scoping import tenant_scope
from tracking.models import ConversionImport, Customer, ImportKind, ImportStatus, Sale, SaleStatus
from tracking.services import conversion_input
from tracking.services.conversions import ConversionError, email_hash, record_lead, record_sale

logger = logging.getLogger(__name__)

MAX_ROWS = 50_000
MAX_ERROR_ROWS = 1000  # rows whose problems are stored; further failed rows are only counted
PROGRESS_EVERY = 250  # rows between two saves of the counts while running
STALE_RUN = timedelta(hours=1)  # a run that long "running" is taken to have died
PREVIEW_ROWS = 5
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

LEAD_IDENTITY = ("customer_external_id", "email", "click_id", "visitor_id")
STATUS_ALIASES = {"": SaleStatus.PAID, "paid": SaleStatus.PAID, "refunded": SaleStatus.REFUNDED,
                  "refund": SaleStatus.REFUNDED}



class ImportRefused(ValueError):
    """The file or the mapping as a whole can't be imported; nothing is stored.
    `field` is "kind", "file" or "mapping"; `too_large` asks for a 413 on the API."""

    def __init__(self, field: str, messages: str | list[str], *, too_large: bool = False):
        self.field = field
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        self.too_large = too_large
        super().__init__(" ".join(self.messages))


@dataclass
class ParsedFile:
    text: str
    encoding: str  # "UTF-8", "UTF-16" or "Windows-1252"
    delimiter: str
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (line of the row's first physical line, values)

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES[self.delimiter]

    def preview(self, count: int = PREVIEW_ROWS) -> list[list[str]]:
        width = len(self.headers)
        return [(values + [""] * width)[:width] for _, values in self.rows[:count]]


# --- reading the text -----------------------------------------------------------------------------

def _delimiter(first_line: str) -> str:
    counts = {d: 0 for d in DELIMITERS}
    quoted = False
    for char in first_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: the earlier one (comma first)
    return best if counts[best] else ","


LOOKS_LIKE_DATA = re.compile(r"^(?:[^@\s]+@[^@\s]+\.[^@\s]+"  # an e-mail address
                             r"|[-+]?[\d.,\s]+"  # a number
                             r"|\d{4}-\d{2}-\d{2}.*|\d{1,2}[./]\d{1,2}[./]\d{2,4}.*)$")  # a date


def parse_text(text: str, encoding: str = "UTF-8") -> ParsedFile:
    """Parse decoded text (a stored import's content is parsed again with this)."""
    if "\x00" in text:
        raise ImportRefused("file", "This doesn't look like a CSV file: it contains binary data. "
                                    "Export your CRM's data as CSV.")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first_line = next((line for line in text.split("\n") if line.strip()), "")
    delimiter = _delimiter(first_line)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=False)
    headers = None
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for values in reader:
            start, line = line, reader.line_num + 1
            if not any(value.strip() for value in values):
                continue  # blank line
            if headers is None:
                headers = [value.strip() for value in values]
                header_line = start
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportRefused("file", f"The file has more than {MAX_ROWS:,} rows; split it into several "
                                            "files (each with the header line).")
            rows.append((start, values))
    except csv.Error as error:
        raise ImportRefused("file", f"Line {line}: the file can't be read as CSV ({error}).") from None
    if headers is None:
        raise ImportRefused("file", "The file is empty.")
    named = [h for h in headers if h]
    data_like = [h for h in named if LOOKS_LIKE_DATA.match(h)]
    if not named or data_like:
        example = f" (“{data_like[0]}” looks like a value)" if data_like else ""
        raise ImportRefused("file", f"Line {header_line} must be a header line naming the columns{example}, "
                                    "e.g. Email;Customer ID;Date. Add one, or export with column names.")
    if not rows:
        raise ImportRefused("file", "The file has a header line but no rows.")
    return ParsedFile(text=text, encoding=encoding, delimiter=delimiter, headers=headers, rows=rows)


# --- value parsing (CSV specifics; the API's rules then apply) -------------------------------------

class RowProblem(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse_occurred_at(value: str, tzinfo) -> str | None:
    """An ISO 8601 string with an offset for conversion_input's occurred_at, or None when blank."""
    value = value.strip()
    if not value:
        return None
    moment = None
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            if day is not None:
                moment = datetime.combine(day, time.min)
        if moment is None and (match := DOTTED_DATE.match(value)):
            d, m, y, hh, mm, ss = match.groups()
            moment = datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError:
        raise RowProblem("occurred_at", f"“{value}” is not a real date.") from None
    if moment is None:
        hint = (" Day and month order can't be told apart with slashes." if "/" in value else "")
        raise RowProblem("occurred_at", f"“{value}” is not a date we can read.{hint} Use 2026-03-01, "
                                        "2026-03-01 14:30 (in the organisation's time zone) or ISO 8601 with an "
                                        "offset such as 2026-03-01T14:30:00+01:00.")
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=tzinfo)
    return moment.isoformat()


AMOUNT_CHARS = re.compile(r"^-?[\d.,]+$")


def parse_amount(value: str, *, refund: bool) -> str:
    """A decimal string for conversion_input's amount: a decimal comma becomes a point,
    thousands separators go; a refund's amount may be negative."""
    raw = value
    value = value.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("'", "")
    if refund and value.startswith("-"):
        value = value[1:]
    if not value or not AMOUNT_CHARS.match(value):
        return value  # conversion_input says what is wrong
    if "," in value and "." in value:
        # The last separator is the decimal one: 1.234,50 or 1,234.50.
        decimal, thousands = (",", ".") if value.rfind(",") > value.rfind(".") else (".", ",")
        value = value.replace(thousands, "").replace(decimal, ".")
    elif value.count(",") == 1:
        whole, _, fraction = value.partition(",")
        if len(fraction) == 3 and whole.lstrip("-") not in ("", "0"):
            raise RowProblem("amount", f"“{raw}” is ambiguous: 1,234 could be one thousand or one point two. "
                                       "Write decimals with at most 2 digits (1234 or 1234.50).")
        value = f"{whole}.{fraction}"
    elif value.count(",") > 1:
        value = value.replace(",", "")  # 1,234,567
    elif value.count(".") > 1:
        value = value.replace(".", "")  # 1.234.567
    return value


# --- running an import ------------------------------------------------------------------------------

@dataclass
class Report:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list = field(default_factory=list)
    error_rows: int = 0
    omitted_rows: int = 0

    def fail(self, line: int, problems: list[tuple[str, str, str]]) -> None:
        self.failed += 1
        if self.error_rows >= MAX_ERROR_ROWS:
            self.omitted_rows += 1
            return
        self.error_rows += 1
        for name, message, value in problems:
            self.errors.append({"line": line, "field": name, "message": message, "value": value[:200]})

    def stored_errors(self) -> list:
        if not self.omitted_rows:
            return self.errors
        return [*self.errors, {"line": None, "field": "", "value": "",
                               "message": f"… and {self.omitted_rows:,} more failed row(s), not listed: only "
                                          f"the problems of the first {MAX_ERROR_ROWS:,} failed rows are kept."}]


EMPTY_CODES = {"required", "blank", "null"}


def _input_problems(errors: dict, values: dict) -> list[tuple[str, str, str]]:
    """conversion_input's problems as (field, message, value); "row" for the whole line."""
    problems = []
    for name, found in errors.items():
        for problem in found:
            text = problem.message
            if problem.code in EMPTY_CODES:
                text = "Empty: this column needs a value on every line."
            problems.append(("row" if name == conversion_input.NON_FIELD else name, text, values.get(name) or ""))
    return problems


def _lead_snapshot(organization, data: dict):
    """The customer this lead will most likely update, as comparable values (None if new
    or not found cheaply)."""
    customers = Customer.objects.filter(organization=organization)
    customer = None
    if data.get("customer_external_id"):
        customer = customers.filter(external_id=data["customer_external_id"]).first()
    if customer is None and data.get("email"):
        match = customers.filter(email_hash=email_hash(data["email"])).order_by("id")
        if data.get("customer_external_id"):
            match = match.filter(external_id__isnull=True)
        customer = match.first()
    return _customer_values(customer) if customer is not None else None


def _customer_values(customer: Customer) -> tuple:
    return (customer.pk, customer.external_id, customer.email_hash, customer.name, customer.first_lead_at,
            customer.last_lead_at, customer.visitor_id, customer.first_click_id, customer.metadata)


class _Runner:
    def __init__(self, conversion_import: ConversionImport):
        self.conversion_import = conversion_import
        self.organization = conversion_import.organization
        self.kind = conversion_import.kind
        self.mapping = conversion_import.mapping
        self.report = Report()
        self.invoices_seen: dict[str, tuple[int, str, str]] = {}  # invoice → (line, amount, customer)

    def values_of(self, headers: list[str], values: list[str]) -> tuple[dict, list]:
        index = {header: position for position, header in reversed(list(enumerate(headers)))}
        row = {}
        for name, header in self.mapping.items():
            position = index.get(header)
            row[name] = values[position].strip() if position is not None and position < len(values) else ""
        problems = []
        extra = [v for v in values[len(headers):] if v.strip()]
        if extra:
            problems.append(("row", f"This line has {len(values)} values but the header names {len(headers)} "
                                    "columns (a delimiter inside a value that isn't quoted?).", ""))
        return row, problems

    def run_row(self, line: int, row: dict, problems: list) -> str:
        if problems:
            self.report.fail(line, problems)
            return "failed"
        try:
            if self.kind == ImportKind.LEADS:
                return self.lead(row)
            return self.sale(line, row)
        except RowProblem as problem:
            self.report.fail(line, [(problem.field, problem.message, row.get(problem.field, ""))])
        except ConversionError as error:
            self.report.fail(line, [(error.field, error.message, row.get(error.field, ""))])
        except conversion_input.InvalidInput as error:
            self.report.fail(line, _input_problems(error.errors, row))
        return "failed"

    def _occurred_at(self, row: dict):
        return parse_occurred_at(row.get("occurred_at", ""), self.organization.tzinfo)

    def lead(self, row: dict) -> str:
        if not any(row.get(name) for name in LEAD_IDENTITY):
            raise RowProblem("row", "No customer ID, e-mail, click ID or visitor ID on this line: at least one "
                                    "is needed to know who the lead is.")
        name = row.get("name") or " ".join(filter(None, (row.get("first_name"), row.get("last_name"))))
        payload = {key: row[key] for key in LEAD_IDENTITY if row.get(key)}
        payload["name"] = name
        occurred_at = self._occurred_at(row)
        if occurred_at:
            payload["occurred_at"] = occurred_at
        data = conversion_input.lead_input(payload)
        before = _lead_snapshot(self.organization, data)
        customer, created = record_lead(self.organization, **data)
        if created:
            return "created"
        return "unchanged" if before == _customer_values(customer) else "updated"

    def sale(self, line: int, row: dict) -> str:
        status = STATUS_ALIASES.get(row.get("status", "").lower())
        if status is None:
            raise RowProblem("status", f"Status “{row['status']}” is not paid or refunded.")
        payload = {
            "customer_external_id": row.get("customer_external_id", ""),
            "amount": parse_amount(row.get("amount", ""), refund=status == SaleStatus.REFUNDED),
            "currency": row.get("currency") or self.organization.currency,
            "invoice_id": row.get("invoice_id", ""),
            "status": status,
        }
        occurred_at = self._occurred_at(row)
        if occurred_at:
            payload["occurred_at"] = occurred_at
        data = conversion_input.sale_input(payload, self.organization.currency)
        invoice = data["invoice_id"]
        amount = f"{data['amount']:.2f} {data['currency']}"  # as imported: the original amount and currency

        seen = self.invoices_seen.get(invoice)
        if status == SaleStatus.PAID and seen is not None:
            seen_line, seen_amount, seen_customer = seen
            if seen_amount != amount:
                raise RowProblem("amount", f"Invoice {invoice} is also on line {seen_line} with amount "
                                           f"{seen_amount}; an invoice is imported once, so this line is skipped.")
            if seen_customer != data["customer_external_id"]:
                raise RowProblem("customer_external_id", f"Invoice {invoice} is also on line {seen_line} for "
                                                         f"customer {seen_customer}; this line is skipped.")
        if status == SaleStatus.PAID and seen is None:
            self.invoices_seen[invoice] = (line, amount, data["customer_external_id"])

        with tenant_scope(self.organization):
            existing = (Sale.objects.filter(organization=self.organization, invoice_id=invoice)
                        .values("amount", "currency", "original_amount", "original_currency", "customer_external_id",
                                "status").first())
        if existing is not None and status == SaleStatus.PAID and seen is None:
            stored = (f"{existing['original_amount'] or existing['amount']:.2f} "
                      f"{existing['original_currency'] or existing['currency']}")
            if stored != amount:
                raise RowProblem("amount", f"Invoice {invoice} is already stored with amount {stored}; a stored "
                                           "sale isn't changed by an import. If it was wrong, refund it and import "
                                           "the sale under a new invoice id.")
            if existing["customer_external_id"] != data["customer_external_id"]:
                raise RowProblem("customer_external_id", f"Invoice {invoice} is already stored for customer "
                                                         f"{existing['customer_external_id']}; not changed.")
        if existing is not None:
            if status == SaleStatus.PAID or existing["status"] == SaleStatus.REFUNDED:
                return "unchanged"
            record_sale(self.organization, **data)  # marks the stored sale refunded
            return "updated"
        if status == SaleStatus.REFUNDED:
            # A refunded invoice not stored yet: store it, then mark it refunded, as one change.
            with transaction.atomic():
                record_sale(self.organization, **{**data, "status": SaleStatus.PAID})
                record_sale(self.organization, **data)
            return "created"
        _, created = record_sale(self.organization, **data)
        return "created" if created else "unchanged"

    def run(self) -> None:
        parsed = parse_text(self.conversion_import.content)
        headers = parsed.headers
        report = self.report
        report.total = len(parsed.rows)
        self.save_progress()
        for done, (line, values) in enumerate(parsed.rows, start=1):
            row, problems = self.values_of(headers, values)
            outcome = self.run_row(line, row, problems)
            if outcome != "failed":
                setattr(report, outcome, getattr(report, outcome) + 1)
            if done % PROGRESS_EVERY == 0:
                self.save_progress()

    def save_progress(self, **extra) -> None:
        report = self.report
        ConversionImport.objects.filter(pk=self.conversion_import.pk).update(
            rows_total=report.total, rows_created=report.created, rows_updated=report.updated,
            rows_unchanged=report.unchanged, rows_failed=report.failed, errors=report.stored_errors(), **extra)


def run_import(import_id: int, organization_id: int | None = None, *,
               rows_stored: Callable[[int], None] | None = None) -> ConversionImport | None:
    """Process a stored import's rows and store its report; safe to run again (it recomputes
    the report and creates nothing new). Returns the import, or None when another run of it
    is in progress. `organization_id`, when given, must be the import's (a task's check).
    `rows_stored(organization_id)` is called when rows were created or updated, even if the
    run then failed (the caller queues their attribution: tracking.tasks.queue_attribution)."""
    imports = ConversionImport.objects.with_scopes_disabled().select_related("organization")
    if organization_id is not None:
        imports = imports.filter(organization_id=organization_id)
    conversion_import = imports.get(pk=import_id)
    organization = conversion_import.organization
    with tenant_scope(organization):
        now = timezone.now()
        # Claim it, unless a run (not a dead one) is under way: two runs at once would mix their counts.
        claimed = ConversionImport.objects.filter(pk=import_id).filter(
            ~Q(status=ImportStatus.RUNNING) | Q(started_at__lt=now - STALE_RUN) | Q(started_at__isnull=True),
        ).update(status=ImportStatus.RUNNING, started_at=now, finished_at=None, failure="", rows_total=0,
                 rows_created=0, rows_updated=0, rows_unchanged=0, rows_failed=0, errors=[])
        if not claimed:
            logger.info("Import %s is already running; not started again.", import_id)
            return None
        runner = _Runner(conversion_import)
        try:
            runner.run()
        except Exception as error:
            logger.exception("Import %s failed.", import_id)
            message = (error.messages[0] if isinstance(error, ImportRefused)
                       else "The import stopped on an unexpected error; the rows before it are stored. "
                            "Run it again, or contact support if it keeps failing.")
            try:
                runner.save_progress(status=ImportStatus.FAILED, failure=message, finished_at=timezone.now())
            except Exception:
                logger.exception("Could not record the failure of import %s.", import_id)
            if isinstance(error, (OperationalError, InterfaceError)):
                raise  # the task retries: the database was unreachable
        else:
            runner.save_progress(status=ImportStatus.DONE, finished_at=timezone.now())
        finally:
            if rows_stored is not None and (runner.report.created or runner.report.updated):
                rows_stored(organization.pk)
        conversion_import.refresh_from_db()
        return conversion_import
