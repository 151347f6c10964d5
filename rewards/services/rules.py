"""Reward rules: create, update, deactivate (admins), each in the audit log with the values before
and after. `problems()` states every rule a rule's values must keep — the model's check
constraints, in words an admin can act on — so the form, the API and the services refuse the
same things with the same messages."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from ambassadors.models import AmbassadorGroup
from campaigns.models import Campaign
from tenancy.scoping import tenant_scope

from ..models import AmountKind, Recurrence, RewardEvent, RewardRule, RewardUnit, Split
from . import RewardError
from .audit import record

# What an admin sets; `active` is changed by deactivate/reactivate (and the API's PATCH).
FIELDS = ("name", "campaign", "group", "ambassador_kind", "event", "unit", "amount_kind", "amount", "percent",
          "split", "recurrence", "recurrence_months", "cap_amount", "cap_period", "starts_at", "ends_at", "active")
DEFAULTS: dict[str, Any] = {"campaign": None, "group": None, "ambassador_kind": "", "amount_kind": AmountKind.FLAT,
                            "amount": None, "percent": None, "split": Split.MODEL, "recurrence": Recurrence.LIFETIME,
                            "recurrence_months": None, "cap_amount": None, "cap_period": "", "starts_at": None,
                            "ends_at": None, "active": True}

PERCENT_ONLY_FOR_MONEY_SALES = ("A percentage of the sale is for money rewards on sales; use a flat amount for clicks, "
                                "leads and points.")
AMOUNT_NEEDED = "Enter the amount each event earns."
NO_AMOUNT_WITH_PERCENT = "A percentage rule has no flat amount: leave it empty."
PERCENT_NEEDED = "Enter the percentage of the sale (0.01 to 100)."
NO_PERCENT_WITH_FLAT = "A flat rule has no percentage: leave it empty."
WHOLE_POINTS = "Points are whole numbers."
CAP_NEEDS_PERIOD = "Choose the cap's period (per day, week or month), or leave the cap empty."
PERIOD_NEEDS_CAP = "Enter the cap's amount, or leave the period empty."
MONTHS_NEEDED = "Enter the number of months (1 to 120) a customer's sales earn."
MONTHS_ONLY_WITH_MONTHS = "Months are for the “sales in the first N months” recurrence: leave them empty."
RECURRENCE_ONLY_FOR_SALES = "Which of a customer's sales earn is for sale rules; clicks and leads earn once."
DATES_ORDERED = "The end must come after the start."
NOT_IN_ORGANISATION = "There is no such {what} in this organisation."
NAME_NEEDED = "Give the rule a name."
AMOUNT_POSITIVE = "The amount must be more than 0."
PERCENT_RANGE = "The percentage must be between 0.01 and 100."
MONTHS_RANGE = "Months must be between 1 and 120."
CAP_POSITIVE = "The cap must be more than 0."
MONTHS_MAX = 120


def problems(organization_id: int, values: dict[str, Any]) -> list[RewardError]:
    """Every reason `values` (all of a rule's FIELDS) can't be a rule of the organisation, each on
    its field; [] if it can. Choices, lengths and number ranges are the form's and serializer's."""
    found = []

    def refuse(field: str | None, message: str) -> None:
        found.append(RewardError(field, message))

    if not (values.get("name") or "").strip():
        refuse("name", NAME_NEEDED)
    event, unit, kind = values.get("event"), values.get("unit"), values.get("amount_kind")
    amount, percent = values.get("amount"), values.get("percent")
    if kind == AmountKind.PERCENT:
        if event != RewardEvent.SALE or unit != RewardUnit.MONEY:
            refuse("amount_kind", PERCENT_ONLY_FOR_MONEY_SALES)
        if percent is None:
            refuse("percent", PERCENT_NEEDED)
        elif not Decimal("0.01") <= percent <= 100:
            refuse("percent", PERCENT_RANGE)
        if amount is not None:
            refuse("amount", NO_AMOUNT_WITH_PERCENT)
    else:
        if amount is None:
            refuse("amount", AMOUNT_NEEDED)
        elif amount <= 0:
            refuse("amount", AMOUNT_POSITIVE)
        elif unit == RewardUnit.POINTS and amount != amount.to_integral_value():
            refuse("amount", WHOLE_POINTS)
        if percent is not None:
            refuse("percent", NO_PERCENT_WITH_FLAT)
    cap_amount, cap_period = values.get("cap_amount"), values.get("cap_period") or ""
    if cap_amount is not None and not cap_period:
        refuse("cap_period", CAP_NEEDS_PERIOD)
    if cap_amount is None and cap_period:
        refuse("cap_amount", PERIOD_NEEDS_CAP)
    if cap_amount is not None and cap_amount <= 0:
        refuse("cap_amount", CAP_POSITIVE)
    elif cap_amount is not None and unit == RewardUnit.POINTS and cap_amount != cap_amount.to_integral_value():
        refuse("cap_amount", WHOLE_POINTS)
    recurrence, months = values.get("recurrence"), values.get("recurrence_months")
    if recurrence == Recurrence.MONTHS and months is None:
        refuse("recurrence_months", MONTHS_NEEDED)
    elif recurrence == Recurrence.MONTHS and not 1 <= months <= MONTHS_MAX:
        refuse("recurrence_months", MONTHS_RANGE)
    if recurrence != Recurrence.MONTHS and months is not None:
        refuse("recurrence_months", MONTHS_ONLY_WITH_MONTHS)
    if event != RewardEvent.SALE and recurrence not in (None, Recurrence.LIFETIME):
        refuse("recurrence", RECURRENCE_ONLY_FOR_SALES)
    starts_at, ends_at = values.get("starts_at"), values.get("ends_at")
    if starts_at and ends_at and ends_at <= starts_at:
        refuse("ends_at", DATES_ORDERED)
    for field, model, what in (("campaign", Campaign, "campaign"), ("group", AmbassadorGroup, "group")):
        related = values.get(field)
        if related is not None and (not isinstance(related, model) or related.organization_id != organization_id):
            refuse(field, NOT_IN_ORGANISATION.format(what=what))
    return found


def _check(organization_id: int, values: dict[str, Any]) -> None:
    found = problems(organization_id, values)
    if found:
        raise found[0]


def snapshot(rule: RewardRule) -> dict[str, Any]:
    """The rule's settings as plain JSON for the audit log (decimals and times as strings, the
    campaign and group by public id / name)."""
    def plain(name):
        value = getattr(rule, name)
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()  # one spelling whatever zone the form parsed it in
        if isinstance(value, Campaign):
            return {"id": str(value.public_id), "name": value.name}
        if isinstance(value, AmbassadorGroup):
            return {"id": value.pk, "name": value.name}
        return value
    return {"id": str(rule.public_id), **{name: plain(name) for name in FIELDS}}


def create_rule(*, organization, actor, **values) -> RewardRule:
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise TypeError(f"Unknown rule fields: {sorted(unknown)}")
    values = {**DEFAULTS, **values}
    values["name"] = (values.get("name") or "").strip()
    _check(organization.pk, values)
    with tenant_scope(organization), transaction.atomic():
        rule = RewardRule.objects.create(organization=organization, **values)
        record(organization_id=organization.pk, actor=actor, action="reward_rule.create", object_type="reward_rule",
               object_id=rule.public_id, after=snapshot(rule))
    return rule


def update_rule(rule: RewardRule, *, actor, **changes) -> RewardRule:
    """Change some of a rule's settings (the others kept); audited with the changed values only."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise TypeError(f"Unknown rule fields: {sorted(unknown)}")
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
    with tenant_scope(rule.organization_id), transaction.atomic():
        locked = RewardRule.objects.select_for_update().get(pk=rule.pk)
        before = snapshot(locked)
        values = {name: getattr(locked, name) for name in FIELDS} | changes
        _check(locked.organization_id, values)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save()
        after = snapshot(locked)
        changed = sorted(name for name in FIELDS if before[name] != after[name])
        if changed:
            action = "reward_rule.update"
            if changed == ["active"]:
                action = "reward_rule.deactivate" if not locked.active else "reward_rule.reactivate"
            record(organization_id=locked.organization_id, actor=actor, action=action, object_type="reward_rule",
                   object_id=locked.public_id, before={name: before[name] for name in changed},
                   after={name: after[name] for name in changed})
    return locked


def deactivate_rule(rule: RewardRule, *, actor) -> RewardRule:
    """The rule earns nothing from now on; what it earned stays (entries refer to it)."""
    return update_rule(rule, actor=actor, active=False)


def reactivate_rule(rule: RewardRule, *, actor) -> RewardRule:
    return update_rule(rule, actor=actor, active=True)


def delete_rule(rule: RewardRule, *, actor) -> None:
    """Delete a rule that never earned anything; one with entries can only be deactivated."""
    with tenant_scope(rule.organization_id), transaction.atomic():
        locked = RewardRule.objects.select_for_update().get(pk=rule.pk)
        if locked.entries.exists():
            raise RewardError(None, "This rule has earnings in the ledger: deactivate it instead of deleting it.",
                              code="has_entries")
        before = snapshot(locked)
        locked.delete()
        record(organization_id=rule.organization_id, actor=actor, action="reward_rule.delete",
               object_type="reward_rule", object_id=before["id"], before=before, at=timezone.now())
