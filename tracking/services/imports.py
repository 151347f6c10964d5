"""CSV import of leads and sales exported from a CRM: the writes callers use.

`submit_import` reads the uploaded file (size, encoding, delimiter, header, row count), checks
the column mapping, stores a queued ConversionImport and queues its run once that commits — a
file-level problem raises ImportRefused and stores nothing (`create_import` is the same without
the queueing). `rerun_import` queues a finished import again. The run itself (each row checked
with the JSON tracking API's rules and stored; a report of what happened) is
tracking.services.import_runs, which tracking.tasks.run_conversion_import calls on a worker and
`run_import` here calls in process.

Re-importing is idempotent: the same file twice creates nothing new, and running one import
again recomputes its report without duplicating anything (see import_runs).

Reading the upload: UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's “Unicode text”),
else Windows-1252 (Western European Excel), whose use is reported to the user; spreadsheet
workbooks are refused with a hint. The rest of the CSV rules (delimiter, dates, amounts):
import_runs.

This module queues tasks, so tracking.tasks must not import it (it imports import_runs)."""

import hashlib
import re

from tenancy.scoping import tenant_scope
from tracking.models import ConversionImport, ImportKind, ImportStatus
from tracking.services import import_runs
from tracking.services.import_runs import LEAD_IDENTITY, ImportRefused, ParsedFile, parse_text
from tracking.tasks import queue_attribution, queue_conversion_import

MAX_FILE_BYTES = 5 * 1024 * 1024

# Our fields per kind, in display order, with a label and a help text.
FIELDS = {
    ImportKind.LEADS: [
        ("customer_external_id", "Customer ID", "The contact's id in your CRM; identifies the customer."),
        ("email", "E-mail", "Identifies the customer when there is no customer ID; stored hashed only."),
        ("click_id", "Click ID (amb_cid)", "The amb_cid your web form captured; credits the ambassador."),
        ("visitor_id", "Visitor ID (amb_vid)", "The amb_vid cookie, if your form captured it."),
        ("name", "Name", "Full name."),
        ("first_name", "First name", "Joined with the last name when there is no full name column."),
        ("last_name", "Last name", ""),
        ("occurred_at", "Lead date", "When the lead came in; default: the time of the import."),
    ],
    ImportKind.SALES: [
        ("invoice_id", "Invoice ID", "Unique per sale: importing the same invoice again changes nothing."),
        ("customer_external_id", "Customer ID", "The buyer's id in your CRM (the same as in the leads file)."),
        ("amount", "Amount", "More than 0, at most 2 decimal places."),
        ("currency", "Currency", "Optional: an ISO 4217 code, default the organisation's currency; "
                                 "another is converted at the rate of the sale's day."),
        ("occurred_at", "Sale date", "When the sale was made; default: the time of the import."),
        ("status", "Status", "paid or refunded; default paid."),
    ],
}
REQUIRED = {ImportKind.LEADS: (), ImportKind.SALES: ("invoice_id", "customer_external_id", "amount")}

# Header names CRMs use, compared after lower-casing and dropping everything but letters and
# digits ("E-mail Address" → "emailaddress"). Earlier entries win.
ALIASES = {
    "customer_external_id": ["customerexternalid", "customerid", "externalid", "contactid", "clientid",
                             "accountid", "recordid", "customer", "customernumber", "customerno", "clientnumber",
                             "contactrecordid", "crmid", "leadid", "personid", "userid", "idcustomer", "id"],
    "email": ["email", "emailaddress", "mail", "contactemail", "customeremail", "primaryemail", "workemail",
              "businessemail", "courriel", "emailadresse"],
    "click_id": ["clickid", "ambcid", "amb_cid", "cid", "ambassadorclickid"],
    "visitor_id": ["visitorid", "ambvid", "vid"],
    "name": ["name", "fullname", "contactname", "customername", "clientname", "displayname", "nom"],
    "first_name": ["firstname", "givenname", "forename", "prenom", "vorname"],
    "last_name": ["lastname", "surname", "familyname", "nachname"],
    "invoice_id": ["invoiceid", "invoice", "invoicenumber", "invoiceno", "invoicenum", "invoiceref", "orderid",
                   "ordernumber", "orderno", "order", "transactionid", "dealid", "receiptnumber", "reference",
                   "ref", "facture", "numerofacture", "rechnungsnummer"],
    "amount": ["amount", "total", "totalamount", "value", "dealamount", "dealvalue", "revenue", "price",
               "grandtotal", "amountpaid", "net", "netamount", "montant", "betrag"],
    "currency": ["currency", "currencycode", "curr", "devise", "wahrung"],
    "occurred_at": {
        ImportKind.LEADS: ["occurredat", "date", "createdate", "created", "createdat", "creationdate", "leaddate",
                           "signupdate", "registeredat", "datecreated", "firstseen", "timestamp", "time"],
        ImportKind.SALES: ["occurredat", "date", "closedate", "closedat", "saledate", "invoicedate", "orderdate",
                           "paidat", "paymentdate", "dateclosed", "created", "createdat", "createdate",
                           "timestamp", "time"],
    },
    "status": ["status", "paymentstatus", "invoicestatus", "state", "salestatus"],
}
def fields_for(kind: str) -> list[tuple[str, str, str]]:
    return FIELDS[ImportKind(kind)]


def check_kind(kind) -> str:
    if kind not in ImportKind.values:
        raise ImportRefused("kind", "Choose what the file holds: leads or sales.")
    return kind


# --- reading the file -----------------------------------------------------------------------------

def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise ImportRefused("file", "The file says it is UTF-16 text but isn't valid UTF-16.") from None
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Windows-1252"


def read_csv(data: bytes) -> ParsedFile:
    """Read and check a whole file; ImportRefused("file", …) for anything that stops it."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused("file", f"The file is {len(data) / 1024 / 1024:.1f} MB; at most "
                                    f"{MAX_FILE_BYTES // 1024 // 1024} MB can be imported at once. Split it into "
                                    "several files (each with the header line).", too_large=True)
    if not data.strip():
        raise ImportRefused("file", "The file is empty.")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportRefused("file", "This is a spreadsheet workbook (Excel or similar), not a CSV file. "
                                    "Open it and save or export it as “CSV UTF-8”.")
    text, encoding = _decode(data)
    return parse_text(text, encoding)


# --- the mapping -----------------------------------------------------------------------------------

def _key(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.lower())


def guess_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    """Our field → the file's header, for the headers that match a common CRM name
    (case, spaces and punctuation ignored). Each header is used at most once."""
    kind = ImportKind(kind)
    keyed: dict[str, str] = {}
    for header in headers:
        if header:
            keyed.setdefault(_key(header), header)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for name, _, _ in FIELDS[kind]:
        aliases = ALIASES[name]
        if isinstance(aliases, dict):
            aliases = aliases[kind]
        for alias in [name.replace("_", ""), *aliases]:
            header = keyed.get(_key(alias))
            if header is not None and header not in used:
                mapping[name] = header
                used.add(header)
                break
    if "name" in mapping:  # a full name column makes first/last name columns redundant
        mapping.pop("first_name", None)
        mapping.pop("last_name", None)
    return mapping


def clean_mapping(mapping) -> dict[str, str]:
    """Drop unmapped fields (empty values); refuse anything that isn't field → header text."""
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                                for k, v in mapping.items()):
        raise ImportRefused("mapping", 'The mapping must be a JSON object of our field → your column header, '
                                       'e.g. {"email": "E-mail", "occurred_at": "Created"}.')
    return {name: header.strip() for name, header in mapping.items() if header and header.strip()}


def validate_mapping(kind: str, mapping: dict[str, str], headers: list[str]) -> dict[str, str]:
    """The mapping, cleaned, or ImportRefused("mapping", [messages])."""
    kind = ImportKind(kind)
    mapping = clean_mapping(mapping)
    labels = {name: label for name, label, _ in FIELDS[kind]}
    problems = []
    unknown = sorted(set(mapping) - set(labels))
    if unknown:
        problems.append(f"Unknown field(s) for a {kind.label.lower()} import: {', '.join(unknown)}. "
                        f"Known: {', '.join(labels)}.")
    by_lower: dict[str, list[str]] = {}
    for header in headers:
        by_lower.setdefault(header.lower(), []).append(header)
    for name, header in list(mapping.items()):
        if header not in headers and len(set(by_lower.get(header.lower(), []))) == 1:
            mapping[name] = header = by_lower[header.lower()][0]  # "email" for "Email": fine
        if name in labels and header not in headers:
            problems.append(f"{labels[name]}: the file has no column “{header}”.")
        elif name in labels and headers.count(header) > 1:
            problems.append(f"{labels[name]}: the header line names “{header}” more than once; rename one.")
    by_header: dict[str, list[str]] = {}
    for name, header in mapping.items():
        by_header.setdefault(header, []).append(labels.get(name, name))
    for header, names in by_header.items():
        if len(names) > 1:
            problems.append(f"The column “{header}” is mapped to several fields ({', '.join(names)}); "
                            "map each column once.")
    missing = [labels[name] for name in REQUIRED[kind] if name not in mapping]
    if missing:
        problems.append(f"Choose the column of: {', '.join(missing)} (required for sales).")
    if kind == ImportKind.LEADS and not any(name in mapping for name in LEAD_IDENTITY):
        problems.append("Choose at least one column that identifies the lead: Customer ID, E-mail, "
                        "Click ID or Visitor ID.")
    if problems:
        raise ImportRefused("mapping", problems)
    return mapping


# --- creating an import ------------------------------------------------------------------------------

def create_import(organization, user, kind: str, file_name: str, data: bytes,
                  mapping: dict | None = None) -> ConversionImport:
    """Check the file and the mapping (guessed when None) and store a queued import, without
    queueing its run (submit_import does both). ImportRefused for a file-level problem:
    nothing is stored."""
    kind = check_kind(kind)
    parsed = read_csv(data)
    mapping = guess_mapping(kind, parsed.headers) if mapping is None else mapping
    mapping = validate_mapping(kind, mapping, parsed.headers)
    with tenant_scope(organization):
        return ConversionImport.objects.create(
            organization=organization, kind=kind, file_name=(file_name or "")[:255],
            file_sha256=hashlib.sha256(data).hexdigest(), content=parsed.text, mapping=mapping,
            status=ImportStatus.QUEUED, created_by=user if getattr(user, "is_authenticated", False) else None)


def previous_imports_of(organization, data: bytes):
    """Earlier imports of the very same file (to tell the user re-importing changes nothing)."""
    with tenant_scope(organization):
        return list(ConversionImport.objects.filter(file_sha256=hashlib.sha256(data).hexdigest())
                    .order_by("-created_at")[:3])


def submit_import(organization, user, kind: str, file_name: str, data: bytes,
                  mapping: dict | None = None) -> ConversionImport:
    """Check and store an import (create_import) and queue its run once this transaction
    commits. ImportRefused for a file-level problem: nothing is stored or queued."""
    conversion_import = create_import(organization, user, kind, file_name, data, mapping)
    queue_conversion_import(organization.pk, conversion_import.pk)
    return conversion_import


def rerun_import(organization, conversion_import: ConversionImport) -> bool:
    """Queue a finished import to run again (after the leads a sales file refers to were
    imported, say): it recomputes the report and creates nothing twice. False, and nothing
    done, when it is queued or running already."""
    if conversion_import.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return False
    with tenant_scope(organization):
        ConversionImport.objects.filter(pk=conversion_import.pk).update(status=ImportStatus.QUEUED)
    queue_conversion_import(organization.pk, conversion_import.pk)
    return True


def run_import(import_id: int, organization_id: int | None = None) -> ConversionImport | None:
    """Run a stored import now, in this process (import_runs.run_import, as the worker's task
    does), and queue the attribution of the rows it created or updated."""
    return import_runs.run_import(import_id, organization_id, rows_stored=queue_attribution)
