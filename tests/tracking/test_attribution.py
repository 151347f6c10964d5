"""The pure attribution engine: hand-worked cases for every model, then properties (hypothesis).

No database: plain ids, datetimes and Decimals in, credits out."""

import decimal
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracking.attribution import (
    MODELS,
    counted_touches,
    credit,
    split_units,
    weights,
    weights_by_ambassador,
)

A, B, C, D = 1, 2, 3, 4
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
HUNDRED = Decimal("100.00")


@pytest.fixture(scope="module", autouse=True)
def click_capture():
    """Overrides tests/tracking/conftest.py's parametrised capture mode: nothing here captures
    clicks, so each test runs once (and hypothesis sees no function-scoped fixture from it)."""
    return None


@pytest.fixture(scope="module", autouse=True)
def _fresh_process_caches():
    """Overrides tests/tracking/conftest.py: no link or salt cache is involved here."""
    return None


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def d(text: str) -> Decimal:
    return Decimal(text)


# --- hand-worked cases ---------------------------------------------------------------------


def test_linear_sums_several_touches_of_one_ambassador():
    touches = [(A, days_ago(3)), (B, days_ago(2)), (A, days_ago(1))]
    assert credit("linear", HUNDRED, touches, NOW) == {A: d("66.67"), B: d("33.33")}


def test_position_based_four_touches_40_10_10_40():
    touches = [(A, days_ago(4)), (B, days_ago(3)), (C, days_ago(2)), (D, days_ago(1))]
    assert credit("position_based", HUNDRED, touches, NOW) == {
        A: d("40.00"), B: d("10.00"), C: d("10.00"), D: d("40.00"),
    }
    assert [w for _, w in weights("position_based", touches, NOW)] == [
        Fraction(2, 5), Fraction(1, 10), Fraction(1, 10), Fraction(2, 5),
    ]


def test_position_based_two_touches_50_50_and_one_touch_100():
    assert credit("position_based", HUNDRED, [(A, days_ago(2)), (B, days_ago(1))], NOW) == {
        A: d("50.00"), B: d("50.00"),
    }
    assert credit("position_based", HUNDRED, [(C, days_ago(2))], NOW) == {C: d("100.00")}


def test_position_based_middle_shares_add_up_for_one_ambassador():
    touches = [(A, days_ago(5)), (B, days_ago(4)), (B, days_ago(3)), (C, days_ago(2)), (D, days_ago(1))]
    # 40 / (20 / 3 each for B, B, C) / 40
    assert weights_by_ambassador("position_based", touches, NOW) == {
        A: Fraction(2, 5), B: Fraction(2, 15), C: Fraction(1, 15), D: Fraction(2, 5),
    }
    assert credit("position_based", HUNDRED, touches, NOW) == {
        A: d("40.00"), B: d("13.33"), C: d("6.67"), D: d("40.00"),
    }


def test_first_and_last_touch_ignore_the_given_order():
    touches = [(B, days_ago(2)), (C, days_ago(1)), (A, days_ago(3))]
    assert credit("first_touch", HUNDRED, touches, NOW) == {A: HUNDRED}
    assert credit("last_touch", HUNDRED, touches, NOW) == {C: HUNDRED}


def test_time_decay_halves_per_half_life():
    touches = [(A, NOW), (B, days_ago(7))]
    assert weights("time_decay", touches, NOW) == [(B, Fraction(1, 3)), (A, Fraction(2, 3))]
    assert credit("time_decay", HUNDRED, touches, NOW) == {A: d("66.67"), B: d("33.33")}


def test_time_decay_uses_the_half_life_given():
    touches = [(A, days_ago(1)), (B, days_ago(3))]  # 2 days apart = two half-lives of 1 day
    assert weights_by_ambassador("time_decay", touches, NOW, half_life=timedelta(days=1)) == {
        A: Fraction(4, 5), B: Fraction(1, 5),
    }


def test_time_decay_between_whole_half_lives():
    touches = [(A, NOW), (B, days_ago(3.5))]  # half a half-life: 1 and 2^-0.5 = 0.70710678...
    shares = weights_by_ambassador("time_decay", touches, NOW)
    assert abs(float(shares[B]) - 2**-0.5 / (1 + 2**-0.5)) < 1e-15
    assert credit("time_decay", HUNDRED, touches, NOW) == {A: d("58.58"), B: d("41.42")}


def test_time_decay_ignores_the_callers_decimal_context():
    touches = [(A, days_ago(0.3)), (B, days_ago(2.9)), (C, days_ago(11.7)), (A, days_ago(20.1))]
    expected = weights("time_decay", touches, NOW)
    expected_credit = credit("time_decay", d("123456789.99"), touches, NOW)
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = decimal.ROUND_DOWN
        got = weights("time_decay", touches, NOW)
        got_credit = credit("time_decay", d("123456789.99"), touches, NOW)
    assert got == expected
    assert got_credit == expected_credit
    assert sum(got_credit.values()) == d("123456789.99")


def test_time_decay_same_age_is_an_exact_tie():
    touches = [(B, days_ago(1.5)), (A, days_ago(1.5)), (C, days_ago(10))]
    shares = weights_by_ambassador("time_decay", touches, NOW)
    assert shares[A] == shares[B]
    assert sum(shares.values()) == 1


def test_three_way_tie_gives_the_extra_cent_to_the_lowest_id():
    touches = [(C, days_ago(3)), (A, days_ago(2)), (B, days_ago(1))]
    assert credit("linear", HUNDRED, touches, NOW) == {A: d("33.34"), B: d("33.33"), C: d("33.33")}


def test_window_includes_both_ends():
    exactly_30_days = NOW - timedelta(days=30)
    assert credit("linear", HUNDRED, [(A, exactly_30_days)], NOW) == {A: HUNDRED}
    assert credit("linear", HUNDRED, [(A, exactly_30_days - timedelta(microseconds=1))], NOW) == {}
    assert credit("linear", HUNDRED, [(A, NOW)], NOW) == {A: HUNDRED}
    assert credit("linear", HUNDRED, [(A, NOW + timedelta(microseconds=1))], NOW) == {}


def test_window_is_configurable():
    touches = [(A, days_ago(10)), (B, days_ago(5))]
    assert credit("first_touch", HUNDRED, touches, NOW, window=timedelta(days=7)) == {B: HUNDRED}


def test_touches_outside_the_window_or_after_the_conversion_are_ignored():
    touches = [(A, days_ago(31)), (B, days_ago(2)), (C, NOW + timedelta(hours=1))]
    for model in MODELS:
        assert credit(model, HUNDRED, touches, NOW) == {B: HUNDRED}


def test_no_touch_is_unattributed():
    for model in MODELS:
        assert credit(model, HUNDRED, [], NOW) == {}
        assert weights(model, [], NOW) == []
        assert weights_by_ambassador(model, [], NOW) == {}


def test_refund_mirrors_the_sale():
    touches = [(C, days_ago(3)), (A, days_ago(2)), (B, days_ago(1)), (A, days_ago(0.5))]
    for model in MODELS:
        sale = credit(model, d("99.99"), touches, NOW)
        assert credit(model, d("-99.99"), touches, NOW) == {k: -v for k, v in sale.items()}


def test_same_instant_touches_keep_their_arrival_order():
    moment = days_ago(1)
    assert counted_touches([(B, moment), (A, moment)], NOW) == [(B, moment), (A, moment)]
    assert credit("first_touch", HUNDRED, [(B, moment), (A, moment)], NOW) == {B: HUNDRED}
    assert credit("last_touch", HUNDRED, [(B, moment), (A, moment)], NOW) == {A: HUNDRED}


def test_results_are_two_place_decimals_and_zero_shares_are_omitted():
    result = credit("linear", d("0.01"), [(A, days_ago(2)), (B, days_ago(1))], NOW)
    assert result == {A: d("0.01")}  # B's 0.00 is left out; A wins the tie by id
    assert all(v.as_tuple().exponent == -2 for v in result.values())
    assert credit("linear", HUNDRED, [(A, days_ago(1))], NOW)[A].as_tuple().exponent == -2
    assert credit("linear", Decimal("0"), [(A, days_ago(1))], NOW) == {}


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unknown attribution model"):
        credit("u_shaped", HUNDRED, [(A, days_ago(1))], NOW)
    with pytest.raises(ValueError, match="2 decimal places"):
        credit("linear", d("1.005"), [(A, days_ago(1))], NOW)
    with pytest.raises(TypeError):
        credit("linear", 1.5, [(A, days_ago(1))], NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="aware"):
        credit("linear", HUNDRED, [(A, days_ago(1))], datetime(2026, 3, 15))
    with pytest.raises(ValueError, match="half_life"):
        credit("time_decay", HUNDRED, [(A, days_ago(1))], NOW, half_life=timedelta(0))


def test_split_units_is_generic():
    # a lead's 1.0 credit in milli-leads, by linear weights of three touches
    assert split_units({A: Fraction(1, 3), B: Fraction(1, 3), C: Fraction(1, 3)}, 1000) == {A: 334, B: 333, C: 333}
    assert split_units({"x": 1, "y": 3}, 10) == {"x": 3, "y": 7}  # unnormalised: 2.5 / 7.5, tie to "x"
    assert split_units({A: 0.5, B: 0.5}, -3) == {A: -2, B: -1}
    assert split_units({}, 10) == {}
    with pytest.raises(ValueError):
        split_units({A: 0}, 10)


def test_time_decay_with_a_tiny_half_life_does_not_underflow():
    touches = [(A, days_ago(29)), (B, days_ago(1))]
    assert credit("time_decay", HUNDRED, touches, NOW, half_life=timedelta(microseconds=1)) == {B: HUNDRED}


# --- properties ------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    # The project-wide autouse fixtures (settings overrides) are irrelevant to pure functions.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

MICROS_PER_DAY = 86_400 * 10**6
offsets = st.one_of(
    st.integers(-40 * MICROS_PER_DAY, 40 * MICROS_PER_DAY),
    st.sampled_from([0, 1, -30 * MICROS_PER_DAY, -30 * MICROS_PER_DAY - 1, -7 * MICROS_PER_DAY]),
)
touch_st = st.tuples(st.integers(1, 8), offsets.map(lambda us: NOW + timedelta(microseconds=us)))
touches_st = st.lists(touch_st, min_size=1, max_size=30)
distinct_time_touches_st = st.lists(touch_st, min_size=1, max_size=30, unique_by=lambda t: t[1])
values_st = st.integers(1, 100_000_000).map(lambda cents: Decimal(cents).scaleb(-2))
models_st = st.sampled_from(MODELS)
WINDOW = timedelta(days=30)


def in_window(touches):
    return [(a, t) for a, t in touches if NOW - WINDOW <= t <= NOW]


@PROPERTY_SETTINGS
@given(model=models_st, value=values_st, touches=touches_st)
def test_cents_add_up_and_only_touching_ambassadors_are_credited(model, value, touches):
    result = credit(model, value, touches, NOW)
    kept = in_window(touches)
    if not kept:
        assert result == {}
        return
    assert sum(result.values()) == value
    assert set(result) <= {a for a, _ in kept}
    assert all(v.as_tuple().exponent == -2 and v != 0 for v in result.values())


@PROPERTY_SETTINGS
@given(model=models_st, value=values_st, touches=touches_st)
def test_each_share_is_within_a_cent_of_its_exact_proportion(model, value, touches):
    shares = weights_by_ambassador(model, touches, NOW)
    result = credit(model, value, touches, NOW)
    cents = int(value * 100)
    for ambassador_id, share in shares.items():
        got = int(result.get(ambassador_id, Decimal(0)) * 100)
        assert abs(got - share * cents) < 1


@PROPERTY_SETTINGS
@given(value=values_st, touches=touches_st)
def test_linear_is_proportional_to_touch_counts(value, touches):
    kept = in_window(touches)
    result = credit("linear", value, touches, NOW)
    cents = int(value * 100)
    for ambassador_id in {a for a, _ in kept}:
        exact = Fraction(cents * sum(1 for a, _ in kept if a == ambassador_id), len(kept))
        assert abs(int(result.get(ambassador_id, Decimal(0)) * 100) - exact) < 1


@PROPERTY_SETTINGS
@given(value=values_st, touches=touches_st)
def test_first_and_last_touch_credit_one_ambassador_with_everything(value, touches):
    kept = in_window(touches)
    if not kept:
        return
    # earliest / latest by time; at the same instant, the first / last given
    first = min(range(len(kept)), key=lambda i: (kept[i][1], i))
    last = max(range(len(kept)), key=lambda i: (kept[i][1], i))
    assert credit("first_touch", value, touches, NOW) == {kept[first][0]: value}
    assert credit("last_touch", value, touches, NOW) == {kept[last][0]: value}


@PROPERTY_SETTINGS
@given(touches=touches_st)
def test_exact_models_have_fraction_weights_summing_to_one(touches):
    for model in ("first_touch", "last_touch", "linear", "position_based", "time_decay"):
        per_touch = weights(model, touches, NOW)
        assert all(type(w) is Fraction and w >= 0 for _, w in per_touch)
        assert len(per_touch) == len(in_window(touches))
        if per_touch:
            assert sum(w for _, w in per_touch) == 1
            assert sum(weights_by_ambassador(model, touches, NOW).values()) == 1


@PROPERTY_SETTINGS
@given(touches=touches_st, half_life_hours=st.integers(1, 24 * 60))
def test_time_decay_never_favours_an_older_touch(touches, half_life_hours):
    per_touch = weights("time_decay", touches, NOW, half_life=timedelta(hours=half_life_hours))
    shares = [w for _, w in per_touch]
    assert shares == sorted(shares)  # oldest first, so non-decreasing


@PROPERTY_SETTINGS
@given(model=models_st, value=values_st, touches=distinct_time_touches_st, seed=st.randoms(use_true_random=False))
def test_order_of_distinct_time_touches_does_not_matter(model, value, touches, seed: random.Random):
    shuffled = list(touches)
    seed.shuffle(shuffled)
    assert credit(model, value, shuffled, NOW) == credit(model, value, touches, NOW)


@PROPERTY_SETTINGS
@given(model=models_st, value=values_st, touches=touches_st)
def test_deterministic_and_refunds_mirror(model, value, touches):
    first = credit(model, value, touches, NOW)
    assert credit(model, value, iter(touches), NOW) == first  # any iterable, same answer
    assert credit(model, value, touches, NOW) == first
    assert credit(model, -value, touches, NOW) == {k: -v for k, v in first.items()}


@PROPERTY_SETTINGS
@given(
    shares=st.dictionaries(st.integers(1, 50), st.integers(0, 1000), min_size=1).filter(lambda s: any(s.values())),
    total=st.integers(-10**9, 10**9),
)
def test_split_units_adds_up_and_stays_within_one_unit(shares, total):
    result = split_units(shares, total)
    assert sum(result.values()) == total
    weight_sum = sum(shares.values())
    for key, weight in shares.items():
        assert abs(result.get(key, 0) - Fraction(weight * total, weight_sum)) < 1
