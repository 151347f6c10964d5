"""The input rules of a lead and of a sale, in plain Python: the tracking API
(tracking.api.serializers) and the CSV import (tracking.services.import_runs) both check their
input here, so a value one refuses the other refuses too, with the same message.

`lead_input(values)` and `sale_input(values, currency)` take the raw values of one lead or sale
({field: value}; a field left out is absent, which is not the same as null or "") and return
the keyword arguments of record_lead / record_sale (tracking.services.conversions), or raise
InvalidInput with every problem found: {field: [Problem(message, code)]}, the key NON_FIELD for
the input as a whole. The fields are checked in order, each with all of its problems; the rule
on the whole input only once every field has passed.

The messages and codes are those the JSON API has always given, and so is the reading of a
value: Django REST framework's for its field types (text is trimmed and must be a JSON string,
"" or spaces are blank, null is not absent, a field with a default takes it when absent), with
our own rules on top (amounts, times, click and visitor ids, metadata, currency)."""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, DecimalException, getcontext
from enum import Enum

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tracking.ids import is_valid_id
from tracking.models import LeadTrackingMode, SaleStatus
from tracking.services import rates

NON_FIELD = NON_FIELD_ERRORS  # the key of a problem of the whole input
MAX_METADATA_BYTES = 8 * 1024
CLOCK_SKEW = timedelta(minutes=5)
EXTERNAL_ID_MAX = 255
INVOICE_ID_MAX = 255
EMAIL_MAX = 254
NAME_MAX = 200
AMOUNT_MAX_DIGITS = 14
AMOUNT_DECIMAL_PLACES = 2
AMOUNT_MIN = Decimal("0.01")
AMOUNT_MAX_TEXT = 1000  # characters read as a number at most (a guard against huge strings)
ISO_8601 = "iso-8601"
DATETIME_FORMATS = "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]"

AMOUNT_TOO_LARGE = "The amount is too large: at most 12 digits before the decimal point."


@dataclass(frozen=True)
class Problem:
    message: str
    code: str  # "required", "null" and "blank" mean the value is missing or empty


class InvalidInput(ValueError):
    """The input can't be stored: `errors` is {field or NON_FIELD: [Problem, …]}."""

    def __init__(self, errors: dict[str, list[Problem]]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {problem.message}" for name, problems in errors.items()
                                   for problem in problems))


class _Missing:
    def __repr__(self):
        return "<missing>"


MISSING = _Missing()  # a field left out of the input


class _Refused(Exception):
    def __init__(self, *problems: Problem):
        self.problems = list(problems)


class _Skip(Exception):
    """The field is absent and has no default: left out of the result."""


def _refuse(message: str, code: str = "invalid"):
    raise _Refused(Problem(message, code))


# --- field kinds ------------------------------------------------------------------------------------

class _Field:
    def __init__(self, *, required: bool | None = None, allow_null: bool = False, default=MISSING):
        self.required = default is MISSING if required is None else required
        self.allow_null = allow_null
        self.default = default

    def clean(self, value):
        if value is MISSING:
            if self.required:
                _refuse("This field is required.", "required")
            if self.default is MISSING:
                raise _Skip
            return self.default
        if value is None:
            if not self.allow_null:
                _refuse("This field may not be null.", "null")
            return None
        value = self.to_internal(value)
        problems = self.problems(value)
        if problems:
            raise _Refused(*problems)
        return value

    def to_internal(self, value):
        return value

    def problems(self, value) -> list[Problem]:
        return []


class _Text(_Field):
    """Text: a string, trimmed; "" or spaces is blank. A JSON number or boolean is refused (the schema
    says string: an id sent as 12345 would otherwise be stored as "12345" without a word)."""
    invalid = "Not a valid string."

    def __init__(self, *, max_length: int, allow_blank: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.allow_blank = allow_blank

    def clean(self, value):
        if value is not MISSING and (value == "" or str(value).strip() == ""):
            if not self.allow_blank:
                _refuse("This field may not be blank.", "blank")
            return ""
        return super().clean(value)

    def to_internal(self, value):
        if not isinstance(value, str):
            _refuse(self.invalid)
        return value.strip()

    def problems(self, value) -> list[Problem]:
        found = []
        if len(value) > self.max_length:
            found.append(Problem(f"Ensure this field has no more than {self.max_length} characters.", "max_length"))
        if "\x00" in value:
            found.append(Problem("Null characters are not allowed.", "null_characters_not_allowed"))
        surrogate = next((char for char in value if 0xD800 <= ord(char) <= 0xDFFF), None)
        if surrogate is not None:
            found.append(Problem(f"Surrogate characters are not allowed: U+{ord(surrogate):X}.",
                                 "surrogate_characters_not_allowed"))
        return found


class _Email(_Text):
    invalid = "Enter a valid email address."
    validator = EmailValidator()

    def problems(self, value) -> list[Problem]:
        found = super().problems(value)
        try:
            self.validator(value)
        except DjangoValidationError:
            found.append(Problem(self.invalid, "invalid"))
        return found


class _TrackId(_Text):
    """A click or visitor id (tracking.ids); blank or null is no id."""

    def __init__(self, kind: str):
        super().__init__(max_length=22, required=False, allow_null=True, allow_blank=True)
        self.kind = kind

    def to_internal(self, value):
        value = super().to_internal(value)
        if value and not is_valid_id(value):
            _refuse(f"Not a valid {self.kind}: 22 characters of A–Z, a–z, 0–9, - and _.")
        return value or None


class _Amount(_Field):
    """A decimal string such as "49.90": more than 0, at most 2 decimal places. JSON numbers
    are refused, since a float can't hold most amounts exactly."""
    invalid = 'A valid decimal amount is required, as a string such as "49.90".'

    def to_internal(self, value):
        if not isinstance(value, str):
            _refuse('Send the amount as a decimal string, e.g. "49.90", not a JSON number (which loses precision).')
        text = value.strip()
        if len(text) > AMOUNT_MAX_TEXT:
            _refuse("String value too large.", "max_string_length")
        try:
            amount = Decimal(text)
        except DecimalException:
            _refuse(self.invalid)
        if amount.is_nan() or amount in (Decimal("Inf"), Decimal("-Inf")):
            _refuse(self.invalid)
        _, digits, exponent = amount.as_tuple()
        if exponent >= 0:
            total, whole, places = len(digits) + exponent, len(digits) + exponent, 0
        elif len(digits) > abs(exponent):
            total, whole, places = len(digits), len(digits) - abs(exponent), abs(exponent)
        else:
            total, whole, places = abs(exponent), 0, abs(exponent)
        if total > AMOUNT_MAX_DIGITS:
            _refuse(AMOUNT_TOO_LARGE, "max_digits")
        if places > AMOUNT_DECIMAL_PLACES:
            _refuse("The amount can have at most 2 decimal places.", "max_decimal_places")
        if whole > AMOUNT_MAX_DIGITS - AMOUNT_DECIMAL_PLACES:
            _refuse(AMOUNT_TOO_LARGE, "max_whole_digits")
        context = getcontext().copy()
        context.prec = AMOUNT_MAX_DIGITS
        return amount.quantize(Decimal(".1") ** AMOUNT_DECIMAL_PLACES, context=context)

    def problems(self, value) -> list[Problem]:
        return [Problem("The amount must be greater than 0.", "min_value")] if value < AMOUNT_MIN else []


class _OccurredAt(_Field):
    """ISO 8601 with a time zone offset; not in the future (5 minutes of clock skew allowed)."""

    def __init__(self):
        super().__init__(required=False)

    def to_internal(self, value):
        if isinstance(value, date) and not isinstance(value, datetime):
            _refuse("Expected a datetime but got a date.", "date")
        moment = self.aware(value) if isinstance(value, datetime) else self.parse(value)
        if moment > timezone.now() + CLOCK_SKEW:
            _refuse("occurred_at cannot be in the future.")
        return moment

    def parse(self, value):
        # As REST framework reads an ISO 8601 input format: parse_datetime, then the format
        # itself taken as a strptime pattern; a ValueError or TypeError on the way is a miss.
        try:
            parsed = parse_datetime(value)
            if parsed is not None:
                return self.aware(parsed)
            return self.aware(datetime.strptime(value, ISO_8601))
        except (ValueError, TypeError):
            pass
        _refuse(f"Datetime has wrong format. Use one of these formats instead: {DATETIME_FORMATS}.")

    def aware(self, moment: datetime) -> datetime:
        if timezone.is_naive(moment):
            _refuse("Include a time zone offset, e.g. 2026-03-01T12:00:00Z or 2026-03-01T13:00:00+01:00.")
        try:
            return moment.astimezone(timezone.get_current_timezone())
        except OverflowError:
            _refuse("Datetime value out of range.", "overflow")


class _Choice(_Field):
    def __init__(self, values, **kwargs):
        super().__init__(**kwargs)
        self.by_text = {str(value): value for value in values}

    def to_internal(self, value):
        if isinstance(value, Enum) and str(value) != str(value.value):
            value = value.value
        try:
            return self.by_text[str(value)]
        except KeyError:
            _refuse(f'"{value}" is not a valid choice.', "invalid_choice")


class _OptionalChoice(_Choice):
    """A choice that may be left out, null or blank (a CSV's empty cell): None."""

    def clean(self, value):
        if value is None or (value is not MISSING and str(value).strip() == ""):
            return None
        return super().clean(value)


class _Json(_Field):
    def to_internal(self, value):
        try:
            json.dumps(value, allow_nan=False)  # as REST framework does: NaN is not JSON
        except (TypeError, ValueError):
            _refuse("Value must be valid JSON.")
        return value


def _metadata(value):
    if value is None:
        return None
    if not isinstance(value, dict):
        _refuse("metadata must be a JSON object.")
    if len(json.dumps(value, separators=(",", ":"))) > MAX_METADATA_BYTES:
        _refuse(f"metadata is too large: at most {MAX_METADATA_BYTES // 1024} kB serialised.")
    return value


def _check(fields, values: dict, after: dict) -> dict:
    """Each field's value, cleaned; `after` holds a further rule per field (run on its cleaned
    value, null included). InvalidInput with every field's problems."""
    cleaned, errors = {}, {}
    for name, field in fields:
        try:
            value = field.clean(values.get(name, MISSING))
            if name in after:
                value = after[name](value)
        except _Refused as refused:
            errors[name] = refused.problems
        except _Skip:
            pass
        else:
            cleaned[name] = value
    if errors:
        raise InvalidInput(errors)
    return cleaned


# --- leads and sales --------------------------------------------------------------------------------

_IDENTITY = ("click_id", "visitor_id", "email", "customer_external_id")
LEAD_FIELDS = (
    ("click_id", _TrackId("click id")),
    ("visitor_id", _TrackId("visitor id")),
    ("email", _Email(required=False, allow_null=True, allow_blank=True, max_length=EMAIL_MAX)),
    ("customer_external_id", _Text(required=False, allow_null=True, allow_blank=True, max_length=EXTERNAL_ID_MAX)),
    ("name", _Text(required=False, allow_blank=True, max_length=NAME_MAX, default="")),
    ("occurred_at", _OccurredAt()),
    ("metadata", _Json(required=False, allow_null=True)),
    ("tracking_mode", _OptionalChoice(LeadTrackingMode.values, required=False)),
)
SALE_FIELDS = (
    ("customer_external_id", _Text(max_length=EXTERNAL_ID_MAX)),
    ("amount", _Amount()),
    ("currency", _Text(max_length=3)),
    ("invoice_id", _Text(max_length=INVOICE_ID_MAX)),
    ("occurred_at", _OccurredAt()),
    ("status", _Choice(SaleStatus.values, default=SaleStatus.PAID)),
)


def lead_input(values: dict) -> dict:
    """record_lead's keyword arguments from a lead's raw values; InvalidInput if refused. An
    empty e-mail or customer id is None; one of the identities must be given."""
    data = _check(LEAD_FIELDS, values, {"metadata": _metadata})
    for name in ("email", "customer_external_id"):
        data[name] = data.get(name) or None
    if not any(data.get(name) for name in _IDENTITY):
        raise InvalidInput({NON_FIELD: [Problem("Send at least one of click_id, visitor_id, email or "
                                                "customer_external_id.", "invalid")]})
    return data


def sale_input(values: dict, currency: str) -> dict:
    """record_sale's keyword arguments from a sale's raw values; InvalidInput if refused.
    The sale's currency is any ISO 4217 code (any case, spaces ignored); empty or absent means
    `currency`, the organisation's."""

    def iso_currency(value: str) -> str:
        code = value.strip().upper() or currency
        if not rates.is_currency(code):
            _refuse(f"Currency must be an ISO 4217 code such as {currency} or USD; {value.strip()[:10]!r} is not one.")
        return code

    return _check(SALE_FIELDS, values, {"currency": iso_currency})
