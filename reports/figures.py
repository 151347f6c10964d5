"""The reports' vocabulary: what the selectors sum, as value objects (pure, no database).

* ClickTotals: the click rollups' counts (creditable and unique clicks, and what was left out);
* CreditTotals: what the credit rollups credit (leads and customers to 1/10,000, revenue to the cent);
* Activity: what ambassadors did and brought in, shares and the two above side by side: one
  ambassador's, one day's, one campaign's or the programme's. Leaderboard rows, the funnel, the
  dashboard's figures and the portal's "my figures" are an Activity with more fields.

All are frozen, exact (ints and Decimals, never floats), add with `+` and start from `zero()`,
so sums over any grouping are `sum(values, Kind.zero())`; `Kind.sum_of(values)` is the same sum,
field by field, for long lists (a leaderboard's thousand rows)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter

FOUR_PLACES = Decimal("0.0000")  # leads and customers: fractional under the split models
TWO_PLACES = Decimal("0.00")  # money


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(field.name for field in fields(cls))
    return names


def _add(left, right):
    """A new value of left's class, each of its fields the sum of both; `right` may be of a
    subclass (a leaderboard row adds to its figures as figures)."""
    cls = type(left)
    if not isinstance(right, cls):
        return NotImplemented
    return cls(**{name: getattr(left, name) + getattr(right, name) for name in _names(cls)})


def _sum_of(cls, values):
    """sum(values, cls.zero()), one field at a time (no value in between)."""
    names, zero = _names(cls), cls.zero()
    columns = list(zip(*map(attrgetter(*names), values), strict=True))
    if not columns:
        return zero
    return cls(**{name: sum(column, getattr(zero, name)) for name, column in zip(names, columns, strict=True)})


@dataclass(frozen=True, slots=True)
class ClickTotals:
    """Counts of the click rollups: `clicks` are the creditable ones (neither bot nor the
    ambassador's own), `unique_clicks` the creditable ones unique per link and 24 hours, `total`
    everything recorded."""

    clicks: int = 0
    unique_clicks: int = 0
    total: int = 0
    bot_clicks: int = 0
    self_clicks: int = 0

    __add__ = _add
    sum_of = classmethod(_sum_of)

    @classmethod
    def zero(cls) -> ClickTotals:
        return _ZERO_CLICKS


@dataclass(frozen=True, slots=True)
class CreditTotals:
    """Credited under one model: leads and customers (fractions under split models, 4 places)
    and revenue (2 places)."""

    leads: Decimal = FOUR_PLACES
    customers: Decimal = FOUR_PLACES
    revenue: Decimal = TWO_PLACES

    __add__ = _add
    sum_of = classmethod(_sum_of)

    @classmethod
    def zero(cls) -> CreditTotals:
        return _ZERO_CREDITS


_ZERO_CLICKS = ClickTotals()
_ZERO_CREDITS = CreditTotals()


@dataclass(frozen=True, slots=True)
class Activity:
    """Shares, creditable and unique clicks, and the leads, customers and revenue credited."""

    shares: int = 0
    clicks: int = 0
    unique_clicks: int = 0
    leads: Decimal = FOUR_PLACES
    customers: Decimal = FOUR_PLACES
    revenue: Decimal = TWO_PLACES

    __add__ = _add
    sum_of = classmethod(_sum_of)

    @classmethod
    def zero(cls):
        return cls()

    @classmethod
    def of(cls, shares: int, clicks: ClickTotals, credits: CreditTotals, **more):
        """An Activity (or a subclass, with its `more` fields) from a share count and the sums."""
        return cls(shares=shares, clicks=clicks.clicks, unique_clicks=clicks.unique_clicks, leads=credits.leads,
                   customers=credits.customers, revenue=credits.revenue, **more)

    @classmethod
    def like(cls, source: Activity, **more):
        """A value of this class with source's fields of the same names, and `more` (a row's
        figures as totals, say)."""
        return cls(**{name: getattr(source, name) for name in _names(cls) if name not in more}, **more)

    @property
    def unique(self) -> int:
        """The funnel's name for unique clicks (unique visitors per link and 24 hours)."""
        return self.unique_clicks

    @property
    def has_activity(self) -> bool:
        """Shared, was clicked (creditably) or was credited something."""
        return bool(self.shares or self.clicks or self.leads or self.customers or self.revenue)

    @property
    def is_active(self) -> bool:
        """Shared or was (creditably) clicked: the fair view's "active"."""
        return bool(self.shares or self.clicks)


# --- Display: one unit per figure ----------------------------------------------------------------
#
# Every page, the digest and the PDF show a figure through these functions (templates through the
# `figures` template filters, reports/templatetags/figures.py), so a figure reads the same
# everywhere: ROI and rates as percentages ("718.6 %"), money with its currency in the
# organisation's locale ("€1,234.50"), credited leads and customers to one decimal ("14.2").
# CSV files and the API keep the exact values (ROI there as roi_percent, to 2 places).

MINUS = "\u2212"  # a real minus sign: "−35.2 %" (a hyphen reads as a dash)
NONE = "—"  # nothing to show: a ratio with nothing to divide by
PERCENT_PLACES = Decimal("0.1")  # ROI and rates on pages and in the digest
EXACT_PERCENT = Decimal("0.01")  # ROI in CSV and the API (the ratio's 4 places, × 100)
CREDIT_PLACES = Decimal("0.1")  # credited leads and customers on pages
CREDIT_EXPLANATION = ("Leads and customers are credited: when a visitor clicked several ambassadors' links, "
                      "multi-touch attribution divides one lead between them, so an ambassador's figures can be "
                      "fractions (shown to one decimal; the CSV and the API have the exact values).")


def locale_of(organization=None):
    """The Babel locale figures are formatted for: the organisation's `locale` when it has one,
    else the site's language (settings.LANGUAGE_CODE)."""
    from django.conf import settings

    return _locale(getattr(organization, "locale", "") or settings.LANGUAGE_CODE)


@lru_cache(maxsize=64)
def _locale(code: str):
    from babel import Locale
    from django.utils.translation import to_locale

    try:
        return Locale.parse(to_locale(code))
    except (ValueError, LookupError):
        return Locale.parse("en")


@lru_cache(maxsize=16)
def _pattern(pattern: str):
    from babel.numbers import parse_pattern
    return parse_pattern(pattern)


def _signed(text: str) -> str:
    return text.replace("-", MINUS)  # a formatted number has no other hyphen


def _quantize(value, places: Decimal) -> Decimal:
    from decimal import ROUND_HALF_UP
    return Decimal(value).quantize(places, rounding=ROUND_HALF_UP)


def roi_percent(ratio) -> Decimal | None:
    """ROI as an exact percentage (ratio 9.1239 → 912.39); None stays None."""
    if ratio is None or ratio == "":
        return None
    return _quantize(Decimal(ratio) * 100, EXACT_PERCENT)


def format_number(value, places: Decimal | None = None, *, locale=None) -> str:
    """A plain number in the locale: 1234 → "1,234"; with `places` rounded half up to them."""
    if value is None or value == "":
        return NONE
    value = Decimal(value)
    if places is None:
        pattern = "#,##0"
    else:
        value = _quantize(value, places)
        digits = -places.as_tuple().exponent
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return _signed(_pattern(pattern).apply(value, locale or locale_of()))


def format_percent(ratio, *, locale=None) -> str:
    """A ratio as a percentage to one decimal: 9.1239 → "912.4 %", −0.35 → "−35.0 %", None → "—"."""
    if ratio is None or ratio == "":
        return NONE
    return format_number(Decimal(ratio) * 100, PERCENT_PLACES, locale=locale) + " %"


format_roi = format_percent  # ROI = (revenue − cost) / cost, shown as a percentage


def format_money(amount, currency: str = "", *, locale=None) -> str:
    """Money with its currency in the locale: 1234.5 EUR → "€1,234.50" (en), "1.234,50 €" (de);
    JPY without cents; a negative amount with a real minus sign. None → "—"."""
    if amount is None or amount == "":
        return NONE
    if not currency:
        return format_number(amount, TWO_PLACES, locale=locale)
    locale = locale or locale_of()
    text = locale.currency_formats["standard"].apply(Decimal(amount), locale, currency=currency)
    # CLDR writes "SEK1,234.50" in English: a letter code stuck to the number reads badly.
    for index, char in enumerate(text):
        if char.isdigit():
            if index and text[index - 1].isalpha():
                text = text[:index] + "\u00a0" + text[index:]
            break
    return _signed(text)


def format_credited(value, *, locale=None) -> str:
    """Credited leads or customers for reading: one decimal, whole numbers without it
    (14.1666 → "14.2", 3.0000 → "3", 0.0300 → "< 0.1": something was credited)."""
    if value is None or value == "":
        return NONE
    value = Decimal(value)
    if value and abs(value) < Decimal("0.05"):
        return "< " + format_number(CREDIT_PLACES, CREDIT_PLACES, locale=locale)
    rounded = _quantize(value, CREDIT_PLACES)
    if rounded == rounded.to_integral_value():
        return format_number(rounded, locale=locale)
    return format_number(rounded, CREDIT_PLACES, locale=locale)


def format_per(value, unit: str, *, locale=None) -> str:
    """A multiplier, not a percentage: 9.3333 clicks per share → "9.3 per share"."""
    if value is None or value == "":
        return NONE
    return f"{format_number(value, PERCENT_PLACES, locale=locale)} {unit}"


# --- CSV headers: every column names its unit ----------------------------------------------------

MONEY_COLUMNS = frozenset({
    "revenue", "spend", "rewards", "time_cost", "cost", "profit", "cost_per_lead", "cost_per_customer",
    "revenue_per_share", "hourly_rate", "own_cost", "revenue_spread", "rate_revenue",
})
CREDITED_COLUMNS = frozenset({"leads", "customers", "leads_spread"})
PERCENT_COLUMNS = frozenset({"roi", "rate_unique", "rate_leads", "rate_customers", "share_of_clicks"})
PER_SHARE_COLUMNS = frozenset({"rate_clicks", "clicks_per_share"})


def column(name: str, currency: str) -> str:
    """A CSV column's header with its unit: revenue → "revenue (EUR)", roi → "roi (%)",
    leads → "leads (credited)", a model's columns too (linear_revenue → "linear_revenue (EUR)");
    counts and text keep their name."""
    last = name.rsplit("_", 1)[-1]
    if name in PERCENT_COLUMNS:
        return f"{name} (%)"
    if name in PER_SHARE_COLUMNS:
        return f"{name} (per share)"
    if name in MONEY_COLUMNS or last == "revenue":
        return f"{name} ({currency})"
    if name in CREDITED_COLUMNS or last == "leads" or last == "customers":
        return f"{name} (credited)"
    return name


def csv_header(names, currency: str) -> list[str]:
    return [column(name, currency) for name in names]


def percent_of(ratio) -> Decimal | None:
    """A ratio as an exact percentage for CSV and the API (0.9193 → 91.93); None stays None."""
    return roi_percent(ratio)
