"""The organisation's reward settings, read without writing (reports read them too)."""

from ..models import GroupHolding, RewardSettings


def reward_settings(organization_id: int) -> RewardSettings:
    """The stored settings, or an unsaved row with the defaults when the organisation has none yet
    (rewards.services.settings.settings_of stores them on first change)."""
    stored = RewardSettings.objects.filter(organization_id=organization_id).first()
    return stored if stored is not None else RewardSettings(organization_id=organization_id)


def group_holdings(organization_id: int) -> list[GroupHolding]:
    """Groups with their own holding periods, by group name."""
    return list(GroupHolding.objects.filter(organization_id=organization_id).select_related("group")
                .order_by("group__name"))
