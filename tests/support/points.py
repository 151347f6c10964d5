"""Reward points and money written straight into the ledger (as rewards.services.earnings would),
for the tests of balances, the catalogue and the ROI's rewards."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from ambassadors.models import Status
from tests.factories import AmbassadorFactory, EarningEntryFactory, InvitationFactory, RewardRuleFactory


def points_rule(organization, **fields):
    return RewardRuleFactory(organization=organization, event="click", unit="points", amount_kind="flat",
                             amount=Decimal("1"), percent=None, **fields)


def money_rule(organization, **fields):
    return RewardRuleFactory(organization=organization, event="lead", unit="money", amount_kind="flat",
                             amount=Decimal("10.00"), percent=None, **fields)


def earn(ambassador, amount, *, unit="points", status="approved", rule=None, currency=None, earned_at=None,
         **fields):
    """One ledger entry of `amount` (points or money) for `ambassador`, in `status`."""
    organization = ambassador.organization
    if rule is None:
        rule = points_rule(organization) if unit == "points" else money_rule(organization)
    earned_at = earned_at or timezone.now() - timedelta(days=1)
    if unit == "points":
        currency = ""
    elif currency is None:
        currency = organization.currency
    return EarningEntryFactory(rule=rule, organization=organization, ambassador=ambassador, unit=unit,
                               currency=currency, amount=Decimal(str(amount)), status=status, earned_at=earned_at,
                               approve_after=earned_at, **fields)


def invited_ambassador(organization, **fields):
    """An active ambassador who joined by accepting an invitation."""
    ambassador = AmbassadorFactory(organization=organization, status=Status.ACTIVE, **fields)
    InvitationFactory(organization=organization, ambassador=ambassador, email=ambassador.email,
                      accepted_at=timezone.now())
    return ambassador
