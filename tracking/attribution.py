"""The attribution engine: which ambassadors get how much of a conversion.

Pure functions over plain values (ambassador ids, aware datetimes, Decimals) so every rule
in DESIGN.md "Attribution" can be tested without a database; the Celery tasks load the
touches, call `credit()` / `weights_by_ambassador()` and store what comes back.

Layers, each usable on its own:

* `counted_touches()` - the touches that count: inside [converted_at - window, converted_at]
  (both ends included), oldest first, same-instant touches in the order given
  (the caller gives them by click id: tracking.services.attribution).
* `weights()` / `weights_by_ambassador()` - each model's share per touch / per ambassador,
  as exact `Fraction`s that sum to exactly 1.
* `split_units()` - largest-remainder allocation of an integer amount (cents, milli-leads...).
* `credit()` - the public entry point: a money value split to the cent.

Determinism: first_touch, last_touch, linear and position_based weights are exact rationals.
time_decay needs 2^(-age/half_life), which is irrational; it is computed with `decimal` at a
fixed 30-digit precision in a private context, using only correctly rounded operations (exp,
ln, multiply, divide), so the digits are the same on every machine and independent of the
caller's decimal context and the platform's libm (no float anywhere); each weight is then
converted *exactly* to a Fraction and normalised with exact rational arithmetic. Equal ages
therefore give exactly equal weights (true ties), and the split of a value is the same on
every run and every machine.

Ambassadors whose final share is zero units (e.g. 0.00 of a tiny value) are omitted from the
results of `split_units()` and `credit()`, so a credit row always carries a non-zero amount.
"""

from __future__ import annotations

import decimal
from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

__all__ = [
    "DEFAULT_HALF_LIFE",
    "DEFAULT_WINDOW",
    "MODELS",
    "counted_touches",
    "credit",
    "split_units",
    "weights",
    "weights_by_ambassador",
]

FIRST_TOUCH = "first_touch"
LAST_TOUCH = "last_touch"
LINEAR = "linear"
TIME_DECAY = "time_decay"
POSITION_BASED = "position_based"
MODELS: tuple[str, ...] = (FIRST_TOUCH, LAST_TOUCH, LINEAR, TIME_DECAY, POSITION_BASED)

DEFAULT_WINDOW = timedelta(days=30)
DEFAULT_HALF_LIFE = timedelta(days=7)

# position_based: the ends' shares; the middle touches share what is left (1/5).
POSITION_END_SHARE = Fraction(2, 5)

# Fixed, private context for time_decay, so the weights never depend on the caller's
# decimal.getcontext(). 30 significant digits is far below any cent that matters
# (values are < 10^13 cents), and traps make silent nonsense impossible.
_DECAY_CONTEXT = decimal.Context(
    prec=30,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
# Money conversions use their own wide context too: a caller's low precision must not round cents.
_MONEY_CONTEXT = decimal.Context(prec=60, traps=[decimal.InvalidOperation, decimal.Inexact, decimal.Overflow])
_LN2 = _DECAY_CONTEXT.ln(Decimal(2))
_MAX_HALF_LIVES = 2000
_ONE_MICROSECOND = timedelta(microseconds=1)
_CENT = Decimal("0.01")

AmbassadorId = int
Touch = tuple[AmbassadorId, datetime]
K = TypeVar("K", bound=Hashable)


def counted_touches(
    touches: Iterable[Touch],
    converted_at: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
) -> list[Touch]:
    """The touches that count for a conversion, oldest first.

    Both ends of the window are included (a click exactly `window` before counts, so does one
    at the conversion instant); clicks after the conversion never count. The sort is stable,
    so touches at the same instant keep the order in which they were given (the service gives
    them by click id, which does not depend on which web process stored a click first)."""
    _check_aware(converted_at, "converted_at")
    if window < timedelta(0):
        raise ValueError("window must not be negative")
    start = converted_at - window
    kept = []
    for ambassador_id, clicked_at in touches:
        _check_aware(clicked_at, "clicked_at")
        if start <= clicked_at <= converted_at:
            kept.append((ambassador_id, clicked_at))
    kept.sort(key=lambda touch: touch[1])
    return kept


def weights(
    model: str,
    touches: Iterable[Touch],
    converted_at: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> list[tuple[AmbassadorId, Fraction]]:
    """Each counted touch with its share of the conversion, oldest first.

    The shares are Fractions summing to exactly 1 (empty list when no touch counts), so a
    report can compare models, and the money split can find true ties."""
    if model not in MODELS:
        raise ValueError(f"unknown attribution model {model!r}; expected one of {', '.join(MODELS)}")
    if half_life <= timedelta(0):
        raise ValueError("half_life must be positive")
    kept = counted_touches(touches, converted_at, window=window)
    n = len(kept)
    if n == 0:
        return []
    ids = [ambassador_id for ambassador_id, _ in kept]
    if model == FIRST_TOUCH:
        shares = [Fraction(1)] + [Fraction(0)] * (n - 1)
    elif model == LAST_TOUCH:
        shares = [Fraction(0)] * (n - 1) + [Fraction(1)]
    elif model == LINEAR:
        shares = [Fraction(1, n)] * n
    elif model == POSITION_BASED:
        shares = _position_based(n)
    else:
        shares = _time_decay([clicked_at for _, clicked_at in kept], converted_at, half_life)
    return list(zip(ids, shares, strict=True))


def weights_by_ambassador(
    model: str,
    touches: Iterable[Touch],
    converted_at: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> dict[AmbassadorId, Fraction]:
    """Each ambassador's share (several touches of one ambassador add up); sums to exactly 1.

    Ambassadors whose touches all weigh 0 (the non-first touches under first_touch...) are
    left out, so the keys are exactly the ambassadors the model credits at all."""
    summed: dict[AmbassadorId, Fraction] = {}
    for ambassador_id, share in weights(model, touches, converted_at, window=window, half_life=half_life):
        if share:
            summed[ambassador_id] = summed.get(ambassador_id, Fraction(0)) + share
    return summed


def split_units(weights_by_ambassador: Mapping[K, Fraction | float | int], total_units: int) -> dict[K, int]:
    """Split an integer amount by weights so the parts add up exactly ("largest remainder").

    Every key first gets the floor of its exact share; the units left over (fewer than the
    number of keys) go one each to the largest fractional remainders, ties to the smallest
    key. Weights need not be normalised (they are divided by their sum, exactly); floats are
    converted exactly. A negative total is split as its absolute value and negated, so a
    refund mirrors its sale cent for cent. Keys with 0 units are omitted."""
    if isinstance(total_units, bool) or not isinstance(total_units, int):
        raise TypeError("total_units must be an int")
    if total_units < 0:
        return {key: -units for key, units in split_units(weights_by_ambassador, -total_units).items()}
    if len(weights_by_ambassador) == 1:  # the common case: one key takes everything
        ((key, weight),) = weights_by_ambassador.items()
        if weight < 0:
            raise ValueError("weights must not be negative")
        if total_units and not weight:
            raise ValueError("cannot split a non-zero amount by weights that are all zero")
        return {key: total_units} if total_units else {}
    exact = {key: Fraction(weight) for key, weight in weights_by_ambassador.items()}
    if any(weight < 0 for weight in exact.values()):
        raise ValueError("weights must not be negative")
    weight_sum = sum(exact.values(), Fraction(0))
    if total_units == 0 or not exact:
        return {}
    if weight_sum == 0:
        raise ValueError("cannot split a non-zero amount by weights that are all zero")
    units: dict[K, int] = {}
    remainders: list[tuple[Fraction, K]] = []
    for key, weight in exact.items():
        share = weight * total_units if weight_sum == 1 else weight * total_units / weight_sum
        floor = share.numerator // share.denominator
        units[key] = floor
        remainders.append((share - floor, key))
    left = total_units - sum(units.values())
    remainders.sort(key=lambda item: (-item[0], item[1]))
    for _, key in remainders[:left]:
        units[key] += 1
    return {key: n for key, n in units.items() if n}


def credit(
    model: str,
    value: Decimal,
    touches: Iterable[Touch],
    converted_at: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> dict[AmbassadorId, Decimal]:
    """Split a conversion's value between the ambassadors whose touches led to it.

    `value` is a Decimal with at most 2 decimal places (negative for a refund, which mirrors
    the sale exactly). The result maps each credited ambassador to its amount as a Decimal
    with 2 places; the amounts add up exactly to `value`. Empty when no touch counts
    ("direct"), and also for a zero value, as ambassadors with 0.00 are omitted."""
    cents = _to_cents(value)
    shares = weights_by_ambassador(model, touches, converted_at, window=window, half_life=half_life)
    return {
        ambassador_id: Decimal(units).scaleb(-2, context=_MONEY_CONTEXT)
        for ambassador_id, units in split_units(shares, cents).items()
    }


def _position_based(n: int) -> list[Fraction]:
    """40 % first, 40 % last, 20 % shared by the middle; 1 touch 100 %, 2 touches 50/50."""
    if n == 1:
        return [Fraction(1)]
    if n == 2:
        return [Fraction(1, 2), Fraction(1, 2)]
    middle = (1 - 2 * POSITION_END_SHARE) / (n - 2)
    return [POSITION_END_SHARE] + [middle] * (n - 2) + [POSITION_END_SHARE]


def _time_decay(clicked: list[datetime], converted_at: datetime, half_life: timedelta) -> list[Fraction]:
    """Weights 2^(-age/half_life), normalised; deterministic (see the module docstring).

    Ages are measured from the youngest counted touch rather than from the conversion: the
    normalised weights are mathematically the same, but the youngest touch weighs exactly 1,
    so a tiny half-life can never underflow every weight to zero. The exponent is split into
    whole half-lives k (an exact 2^-k: a touch one half-life older weighs exactly half) and a
    fraction f in [0, 1), computed as exp(-f * ln 2). Decimal's exp, ln, multiply and divide
    are correctly rounded, so the digits are defined by the arithmetic, not by the machine
    (Decimal.power with a non-integer exponent is only "almost always" correctly rounded, and
    ten times slower). Touches more than _MAX_HALF_LIVES half-lives older than the youngest
    weigh 0: their exact share would be below 2^-2000, far under any cent."""
    half_life_us = half_life // _ONE_MICROSECOND
    youngest = max(clicked)
    raw: list[Fraction] = []
    for clicked_at in clicked:
        age_us = (youngest - clicked_at) // _ONE_MICROSECOND
        whole, rest_us = divmod(age_us, half_life_us)
        if whole > _MAX_HALF_LIVES:
            raw.append(Fraction(0))
            continue
        weight = Fraction(1, 2**whole)
        if rest_us:
            exponent = _DECAY_CONTEXT.multiply(_DECAY_CONTEXT.divide(Decimal(-rest_us), Decimal(half_life_us)), _LN2)
            weight *= Fraction(_DECAY_CONTEXT.exp(exponent))
        raw.append(weight)
    total = sum(raw, Fraction(0))
    return [weight / total for weight in raw]


def _to_cents(value: Decimal) -> int:
    """A money amount as integer cents; refuses floats and sub-cent amounts instead of rounding."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError("value must be a Decimal (money is never a float)")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError("value must be finite")
    if value != value.quantize(_CENT, context=decimal.Context(prec=60)):
        raise ValueError(f"value {value} has more than 2 decimal places")
    return int(value.scaleb(2, context=_MONEY_CONTEXT))


def _check_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
