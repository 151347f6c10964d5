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
