"""A confirmed (or paid) run's payout files: the ONLY place payout details are decrypted.

Each file is made from the run's stored items and the stored details, in a fixed order (ambassador
name, id, currency), with no time stamp of its own: downloading it twice gives the same bytes, and
a download changes nothing but the audit log, which records who took the details and when.

* PayPal Payouts (Payouts Web bulk file, "Use Web UI" in PayPal's developer documentation
  (developer.paypal.com/payouts/use-payouts/send-money/use-web-ui): no header row; per row the
  recipient's PayPal e-mail, the amount ("100.50"), the currency, a unique id of ours (the item's
  id, shown back in PayPal's reports), a note and the wallet PAYPAL; one currency per file, so a
  run paying in several currencies has one PayPal file per currency.
* Wise batch payments, the "Send to bank accounts" template (Wise help: "How do I fill in my batch
  template?", wise.com/help/articles/2663302): a header row of Wise's column names — name (the
  account holder, as the bank knows them), recipientEmail, paymentReference, receiverType,
  amountCurrency ("target": the ambassador receives the exact amount), amount, sourceCurrency,
  targetCurrency, IBAN.
* Generic: every item, its channel and decrypted details, for any other tool.
* Payroll: internal ambassadors (paid with the salary): employee e-mail, name, amount, currency,
  period (the month the run was confirmed, in the organisation's time zone).

PayPal and Wise files carry external ambassadors whose details are of that method; internal
ambassadors are only in the payroll file (and the generic one), so nobody is in two payment files."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.utils import timezone

from common.csv_cells import safe_row
from tenancy.scoping import tenant_scope

from .. import crypto
from ..models import PayoutDetails, PayoutStatus
from . import RewardError, audit
from .payout_details import read
from .payouts import Channel, channel_of, payment_order

PAYPAL, WISE, GENERIC, PAYROLL = "paypal", "wise", "generic", "payroll"
FILES = {PAYPAL: "PayPal Payouts", WISE: "Wise batch payments", GENERIC: "All items (generic CSV)",
         PAYROLL: "Payroll (internal ambassadors)"}
WISE_HEADER = ["name", "recipientEmail", "paymentReference", "receiverType", "amountCurrency", "amount",
               "sourceCurrency", "targetCurrency", "IBAN"]
GENERIC_HEADER = ["reference", "ambassador_id", "name", "email", "kind", "channel", "paypal_email", "iban",
                  "account_holder", "amount", "currency", "entries"]
PAYROLL_HEADER = ["employee_email", "name", "amount", "currency", "period", "reference"]
EXPORTABLE = (PayoutStatus.CONFIRMED, PayoutStatus.PAID)


@dataclass(frozen=True)
class PayoutFile:
    filename: str
    content: bytes
    rows: int
    content_type: str = "text/csv; charset=utf-8"


def _csv(rows, *, header=None, bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(header)
    for row in rows:
        writer.writerow(safe_row(row))
    return (("\ufeff" if bom else "") + out.getvalue()).encode()


def _amount(value) -> str:
    return f"{value:.2f}"


def short_reference(run) -> str:
    return f"Rewards {run.public_id.hex[:8]}"


def _rows(run):
    """(item, channel, details or None) in the files' order; details decrypted for external ones."""
    items = sorted(run.items.select_related("ambassador"), key=payment_order)
    stored = {d.ambassador_id: d for d in PayoutDetails.objects.filter(
        organization_id=run.organization_id, ambassador_id__in={item.ambassador_id for item in items})}
    rows, unreadable = [], 0
    for item in items:
        channel = channel_of(item.ambassador, stored.get(item.ambassador_id))
        details = None
        if channel in (Channel.PAYPAL, Channel.BANK):
            try:
                details = read(stored[item.ambassador_id])
            except crypto.DetailsUnreadable:
                unreadable += 1
        rows.append((item, channel, details))
    if unreadable:
        raise RewardError(None, f"The payout details of {unreadable} ambassador(s) can't be decrypted: a key was "
                                "removed from PAYOUT_DETAILS_KEYS before `manage.py rotate_payout_keys` ran. Put "
                                "the old key back (after the new one).", code="details_unreadable")
    return rows


def _paypal(run, rows, currency: str | None):
    mine = [(item, details) for item, channel, details in rows if channel == Channel.PAYPAL]
    currencies = sorted({item.currency for item, _ in mine})
    if not mine:
        raise RewardError("file", "No ambassador in this run is paid by PayPal.")
    currency = str(currency).strip().upper() if currency else None
    if currency is None and len(currencies) == 1:
        currency = currencies[0]
    if currency not in currencies:
        raise RewardError("currency", f"PayPal takes one currency per file: choose one of {', '.join(currencies)}.")
    note = f"{run.organization.name}: ambassador rewards ({short_reference(run)})"
    lines = [[details.paypal_email, _amount(item.amount), item.currency, str(item.public_id), note, "PAYPAL"]
             for item, details in mine if item.currency == currency]
    return _csv(lines), len(lines), currency


def _wise(run, rows):
    lines = [[details.account_holder, item.ambassador.email, short_reference(run), "PRIVATE", "target",
              _amount(item.amount), item.currency, item.currency, details.iban]
             for item, channel, details in rows if channel == Channel.BANK]
    if not lines:
        raise RewardError("file", "No ambassador in this run is paid by bank transfer (IBAN).")
    return _csv(lines, header=WISE_HEADER), len(lines)


def _generic(rows):
    lines = [[str(item.public_id), str(item.ambassador.public_id), item.ambassador.display_name, item.ambassador.email,
              item.ambassador.kind, channel, details.paypal_email if details else "", details.iban if details else "",
              details.account_holder if details else "", _amount(item.amount), item.currency, item.entry_count]
             for item, channel, details in rows]
    return _csv(lines, header=GENERIC_HEADER, bom=True), len(lines)


def _payroll(run, rows):
    period = timezone.localtime(run.confirmed_at, run.organization.tzinfo).strftime("%Y-%m")
    lines = [[item.ambassador.email, item.ambassador.display_name, _amount(item.amount), item.currency, period,
              str(item.public_id)] for item, channel, _ in rows if channel == Channel.PAYROLL]
    if not lines:
        raise RewardError("file", "No internal ambassador (paid through payroll) is in this run.")
    return _csv(lines, header=PAYROLL_HEADER, bom=True), len(lines)


def export(run, file: str, *, actor, currency: str | None = None, now=None) -> PayoutFile:
    """One of FILES for a confirmed or paid run; recorded in the audit log (who took the details)."""
    if file not in FILES:
        raise RewardError("file", f"Choose one of: {', '.join(FILES)}.")
    with tenant_scope(run.organization_id):
        run.refresh_from_db()
        if run.status not in EXPORTABLE:
            raise RewardError(None, "Confirm the run first: its files are made from what you confirmed.",
                              code="wrong_status")
        rows = _rows(run)
        stem = f"payout-{timezone.localtime(run.created_at, run.organization.tzinfo):%Y-%m-%d}-{run.public_id.hex[:8]}"
        if file == PAYPAL:
            content, count, currency = _paypal(run, rows, currency)
            filename = f"{stem}-paypal-{currency}.csv"
        elif file == WISE:
            (content, count), filename = _wise(run, rows), f"{stem}-wise.csv"
        elif file == GENERIC:
            (content, count), filename = _generic(rows), f"{stem}.csv"
        else:
            (content, count), filename = _payroll(run, rows), f"{stem}-payroll.csv"
        audit.record(organization_id=run.organization_id, actor=actor, action="payout_run.exported",
                     object_type="payout_run", object_id=run.public_id, at=now,
                     after={"file": file, "currency": currency if file == PAYPAL else "", "rows": count})
    return PayoutFile(filename=filename, content=content, rows=count)
