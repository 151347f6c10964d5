"""The organisation's reward settings (admins): what a point is worth (for the ROI), the minimum
payout, the holding periods for money and points, the click velocity of the fraud rule, and
per-group holding periods. Each change is in the audit log with the values before and after
(only the fields that changed); saving the same values records nothing.

A new holding period applies to entries written from then on (an entry's approve_after is fixed
when it is written); a new point value changes the ROI of every period at once, as the ROI
counts points × the value in force."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction

from ambassadors.models import AmbassadorGroup

from ..models import HOLDING_DAYS, MINIMUM_PAYOUTS, GroupHolding, RewardSettings
from . import RewardError
from .audit import record

FIELDS = ("point_value", "minimum_payout", "money_holding_days", "points_holding_days", "max_clicks_per_minute")
HOLDING_CHOICES = [days for days, _ in HOLDING_DAYS]
MINIMUM_CHOICES = [amount for amount, _ in MINIMUM_PAYOUTS]
POINT_VALUE_MAX = Decimal("999999.9999")
CLICKS_MAX = 100_000


def settings_of(organization_id: int) -> RewardSettings:
    """The organisation's settings row (stored with the defaults on first use)."""
    settings, _ = RewardSettings.objects.get_or_create(organization_id=organization_id)
    return settings


def _json(value):
    return str(value) if isinstance(value, Decimal) else value


def _holding(field: str, value) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = None
    if days not in HOLDING_CHOICES:
        raise RewardError(field, "Choose one of " + ", ".join(str(d) for d in HOLDING_CHOICES) + " days.")
    return days


def _clean(values: dict) -> dict:
    cleaned = {}
    for field, value in values.items():
        if field == "point_value":
            try:
                amount = Decimal(str(value))
            except (InvalidOperation, ValueError):
                raise RewardError(field, "Enter an amount, such as 0.01.") from None
            if not amount.is_finite() or amount < 0 or amount > POINT_VALUE_MAX:
                raise RewardError(field, f"Enter an amount from 0 to {POINT_VALUE_MAX}.")
            if amount != amount.quantize(Decimal("0.0001")):
                raise RewardError(field, "At most 4 decimal places (0.0001).")
            cleaned[field] = amount.quantize(Decimal("0.0001"))
        elif field == "minimum_payout":
            try:
                amount = Decimal(str(value))
            except (InvalidOperation, ValueError):
                amount = None
            if amount not in MINIMUM_CHOICES:
                raise RewardError(field, "Choose one of " + ", ".join(str(a) for a in MINIMUM_CHOICES) + ".")
            cleaned[field] = amount.quantize(Decimal("0.01"))
        elif field in ("money_holding_days", "points_holding_days"):
            cleaned[field] = _holding(field, value)
        elif field == "max_clicks_per_minute":
            try:
                clicks = int(value)
            except (TypeError, ValueError):
                clicks = 0
            if not 1 <= clicks <= CLICKS_MAX:
                raise RewardError(field, f"Enter a whole number from 1 to {CLICKS_MAX:,}.")
            cleaned[field] = clicks
        else:
            raise ValueError(f"not a reward setting: {field}")
    return cleaned


def update_settings(organization_id: int, *, actor, **values) -> RewardSettings:
    """Change any of FIELDS; RewardError names the first field at fault (nothing is saved then)."""
    cleaned = _clean(values)
    with transaction.atomic():
        settings_of(organization_id)
        settings = RewardSettings.objects.select_for_update().get(organization_id=organization_id)
        before = {field: getattr(settings, field) for field in cleaned}
        changed = [field for field, value in cleaned.items() if before[field] != value]
        if changed:
            for field in changed:
                setattr(settings, field, cleaned[field])
            settings.save()
            record(organization_id=organization_id, actor=actor, action="reward_settings.changed",
                   object_type="reward_settings", object_id=settings.pk,
                   before={field: _json(before[field]) for field in changed},
                   after={field: _json(cleaned[field]) for field in changed})
    return settings


def _holding_state(holding: GroupHolding | None) -> dict | None:
    if holding is None:
        return None
    return {"group": holding.group.name, "money_holding_days": holding.money_holding_days,
            "points_holding_days": holding.points_holding_days}


def set_group_holding(group: AmbassadorGroup, *, actor, money_holding_days, points_holding_days) -> GroupHolding:
    """The group's own holding periods (an ambassador in several groups waits the longest)."""
    money_days = _holding("money_holding_days", money_holding_days)
    points_days = _holding("points_holding_days", points_holding_days)
    with transaction.atomic():
        holding = GroupHolding.objects.select_for_update().select_related("group").filter(group=group).first()
        before = _holding_state(holding)
        if holding is None:
            holding = GroupHolding.objects.create(organization_id=group.organization_id, group=group,
                                                  money_holding_days=money_days, points_holding_days=points_days)
        elif (holding.money_holding_days, holding.points_holding_days) == (money_days, points_days):
            return holding
        else:
            holding.money_holding_days, holding.points_holding_days = money_days, points_days
            holding.save()
        record(organization_id=group.organization_id, actor=actor, action="group_holding.set",
               object_type="group_holding", object_id=group.pk, before=before, after=_holding_state(holding))
    return holding


def remove_group_holding(group: AmbassadorGroup, *, actor) -> bool:
    """The group follows the organisation's holding periods again. False if it had none of its own."""
    with transaction.atomic():
        holding = GroupHolding.objects.select_for_update().select_related("group").filter(group=group).first()
        if holding is None:
            return False
        before = _holding_state(holding)
        holding.delete()
        record(organization_id=group.organization_id, actor=actor, action="group_holding.removed",
               object_type="group_holding", object_id=group.pk, before=before)
    return True
