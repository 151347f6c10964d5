"""Writes of the reports app: the organisation's points rules."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from .models import PointsRules

RULE_FIELDS = ("per_share", "per_unique_click", "per_lead", "per_revenue_unit")


class RulesError(ValueError):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))
        self.errors = errors


def update_points_rules(organization_id: int, **values: Decimal) -> PointsRules:
    """Change some of the rules (the others stay); RulesError({field: [message]}) if a value
    is negative or has too many digits. Points are computed from events when read, so new
    rules apply to every period at once (nothing to recompute)."""
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise RulesError({name: ["Not a points rule."] for name in sorted(unknown)})
    with transaction.atomic():
        rules, _ = PointsRules.objects.select_for_update().get_or_create(organization_id=organization_id)
        for name, value in values.items():
            setattr(rules, name, value)
        try:
            rules.full_clean(exclude=["organization"])
        except ValidationError as error:
            raise RulesError(error.message_dict) from None
        rules.save()
    return rules
