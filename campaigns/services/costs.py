"""A campaign's spend ledger (CampaignCost): one entry per expense, a positive amount in the
organisation's currency."""

from decimal import Decimal

from ..models import Campaign, CampaignCost, CostCategory
from . import CampaignError

AMOUNT_NOT_POSITIVE = "Enter an amount greater than zero."


def check_amount(amount: Decimal | None) -> None:
    if amount is not None and amount <= 0:
        raise CampaignError("amount", AMOUNT_NOT_POSITIVE)


def add_cost(campaign: Campaign, *, date, amount: Decimal, category: str = CostCategory.OTHER,
             note: str = "") -> CampaignCost:
    check_amount(amount)
    return CampaignCost.objects.create(organization_id=campaign.organization_id, campaign=campaign, date=date,
                                       category=category, amount=amount, note=note)


def update_cost(cost: CampaignCost, **fields) -> CampaignCost:
    """Change the given fields (date, category, amount, note)."""
    for name, value in fields.items():
        setattr(cost, name, value)
    check_amount(cost.amount)
    cost.save()
    return cost


def delete_cost(cost: CampaignCost) -> None:
    cost.delete()
