"""The earnings rules as pure functions: splits to the cent or point, rule matching, recurrence, caps."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards.earnings import (
    RuleTerms,
    ambassador_eligible,
    apply_caps,
    cap_period_start,
    percent_of,
    rule_matches,
    sale_counts,
    split_amount,
    split_int,
    to_units,
)
from tracking.attribution import split_units

T0 = datetime(2026, 3, 15, 10, tzinfo=UTC)


def test_the_hand_worked_split_gives_the_extra_cent_to_the_lowest_ambassador_id():
    commission = percent_of(Decimal("1000.00"), Decimal("10"))
    assert commission == Decimal("100.00")
    assert split_amount(commission, {7: 1, 3: 1, 5: 1}) == {
        3: Decimal("33.34"), 5: Decimal("33.33"), 7: Decimal("33.33")}


def test_credit_cents_as_weights_split_like_the_credit():
    # The sale's linear credit was 333.34 / 333.33 / 333.33: the larger remainder wins the cent.
    assert split_amount(Decimal("100.00"), {9: 33334, 2: 33333, 4: 33333}) == {
        9: Decimal("33.34"), 2: Decimal("33.33"), 4: Decimal("33.33")}


def test_points_split_in_whole_points_and_refuse_fractions():
    assert split_amount(Decimal("10"), {1: 1, 2: 1, 3: 1}, "points") == {1: Decimal("4"), 2: Decimal("3"),
                                                                          3: Decimal("3")}
    with pytest.raises(ValueError, match="whole"):
        to_units(Decimal("1.5"), "points")
    with pytest.raises(ValueError, match="decimal places"):
        to_units(Decimal("1.005"), "money")
    with pytest.raises(TypeError):
        to_units(1.5, "money")


def test_a_negative_amount_mirrors_the_positive_split():
    assert split_amount(Decimal("-100.00"), {1: 1, 2: 1, 3: 1}) == {
        1: Decimal("-33.34"), 2: Decimal("-33.33"), 3: Decimal("-33.33")}


def test_percent_rounds_half_up_once():
    assert percent_of(Decimal("0.05"), Decimal("10")) == Decimal("0.01")  # 0.005 → 0.01
    assert percent_of(Decimal("19.99"), Decimal("12.50")) == Decimal("2.50")  # 2.49875


@given(st.dictionaries(st.integers(1, 10_000), st.integers(0, 10**6), min_size=1, max_size=12),
       st.integers(-10**9, 10**9))
def test_the_integer_split_equals_attributions_and_always_adds_up(weights, total):
    if not any(weights.values()) and total:
        with pytest.raises(ValueError):
            split_int(weights, total)
        return
    parts = split_int(weights, total)
    assert parts == split_units(weights, total)
    assert sum(parts.values()) == total
    assert all(part != 0 for part in parts.values())


@given(st.dictionaries(st.integers(1, 500), st.fractions(min_value=Fraction(1, 1000), max_value=5), min_size=1,
                       max_size=8),
       st.decimals(min_value=Decimal("-100000"), max_value=Decimal("100000"), places=2, allow_nan=False))
def test_money_splits_add_up_to_the_cent(weights, amount):
    parts = split_amount(amount, weights)
    assert sum(parts.values(), Decimal("0")) == amount
    assert all(part.as_tuple().exponent == -2 for part in parts.values())


def rule(**fields):
    return RuleTerms(**{"id": 1, "event": "sale", "unit": "money", "amount_kind": "percent",
                        "percent": Decimal("10"), **fields})


def test_rules_match_by_event_campaign_dates_and_active():
    assert rule_matches(rule(), event="sale", at=T0, campaign_id=4)
    assert not rule_matches(rule(), event="lead", at=T0)
    assert not rule_matches(rule(active=False), event="sale", at=T0)
    assert rule_matches(rule(campaign_id=4), event="sale", at=T0, campaign_id=4)
    assert not rule_matches(rule(campaign_id=4), event="sale", at=T0, campaign_id=5)
    assert rule_matches(rule(starts_at=T0), event="sale", at=T0)  # the start is included
    assert not rule_matches(rule(starts_at=T0), event="sale", at=T0 - timedelta(seconds=1))
    assert not rule_matches(rule(ends_at=T0), event="sale", at=T0)  # the end is not


def test_ambassadors_are_eligible_by_kind_and_group():
    assert ambassador_eligible(rule(), kind="internal", group_ids=[])
    assert not ambassador_eligible(rule(ambassador_kind="external"), kind="internal", group_ids=[])
    assert ambassador_eligible(rule(group_id=3), kind="external", group_ids=[1, 3])
    assert not ambassador_eligible(rule(group_id=3), kind="external", group_ids=[1])


def test_recurrence_first_sale_months_and_lifetime():
    first = (T0, 10)
    later = (T0 + timedelta(days=40), 11)
    assert sale_counts(rule(recurrence="first_sale"), sale_key=first, first_paid_key=first)
    assert not sale_counts(rule(recurrence="first_sale"), sale_key=later, first_paid_key=first)
    assert sale_counts(rule(recurrence="months", recurrence_months=2), sale_key=later, first_paid_key=first)
    assert not sale_counts(rule(recurrence="months", recurrence_months=1), sale_key=later, first_paid_key=first)
    assert sale_counts(rule(), sale_key=later, first_paid_key=first)
    # Month ends: 31 January + 1 month is the last day of February.
    jan31 = (datetime(2026, 1, 31, 12, tzinfo=UTC), 1)
    assert sale_counts(rule(recurrence="months", recurrence_months=1),
                       sale_key=(datetime(2026, 2, 28, 11, tzinfo=UTC), 2), first_paid_key=jan31)
    assert not sale_counts(rule(recurrence="months", recurrence_months=1),
                           sale_key=(datetime(2026, 2, 28, 12, tzinfo=UTC), 2), first_paid_key=jan31)


def test_cap_periods_are_local_days_weeks_and_months():
    paris = ZoneInfo("Europe/Paris")
    late = datetime(2026, 3, 15, 23, 30, tzinfo=UTC)  # already the 16th in Paris, a Monday
    assert str(cap_period_start("day", late, paris)) == "2026-03-16"
    assert str(cap_period_start("week", late, paris)) == "2026-03-16"
    assert str(cap_period_start("week", late, UTC)) == "2026-03-09"
    assert str(cap_period_start("month", late, paris)) == "2026-03-01"


def test_caps_apply_in_earned_order_whatever_the_input_order():
    capped = rule(id=1, cap_amount=Decimal("50.00"), cap_period="day")
    free = rule(id=2)
    amounts = {(1, "sale:3", 7): Decimal("30.00"), (1, "sale:1", 7): Decimal("30.00"),
               (1, "sale:2", 7): Decimal("30.00"), (1, "sale:4", 8): Decimal("30.00"),
               (2, "sale:1", 7): Decimal("30.00")}
    earned = {"sale:1": T0, "sale:2": T0 + timedelta(hours=1), "sale:3": T0 + timedelta(hours=2),
              "sale:4": T0, }
    result = apply_caps(amounts, earned_at=earned, rules={1: capped, 2: free}, tz=UTC)
    assert result == {(1, "sale:1", 7): Decimal("30.00"), (1, "sale:2", 7): Decimal("20.00"),
                      (1, "sale:3", 7): Decimal("0.00"), (1, "sale:4", 8): Decimal("30.00"),
                      (2, "sale:1", 7): Decimal("30.00")}
    assert apply_caps(dict(reversed(list(amounts.items()))), earned_at=earned, rules={1: capped, 2: free},
                      tz=UTC) == result
    # The next day has its own cap.
    earned["sale:3"] = T0 + timedelta(days=1)
    assert apply_caps(amounts, earned_at=earned, rules={1: capped, 2: free}, tz=UTC)[(1, "sale:3", 7)] == Decimal(
        "30.00")
