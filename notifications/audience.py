"""Who a campaign is meant for, in bulk: a campaign without target groups is for every
ambassador, otherwise for its groups' members (campaigns.services.links.is_targeted, for many
ambassadors and campaigns in two queries)."""

from ambassadors.models import Ambassador


def groups_of(ambassador_ids) -> dict[int, set[int]]:
    """ambassador id → the ids of their groups (absent: no group)."""
    pairs = Ambassador.groups.through.objects.filter(ambassador_id__in=list(ambassador_ids)).values_list(
        "ambassador_id", "ambassadorgroup_id")
    groups: dict[int, set[int]] = {}
    for ambassador_id, group_id in pairs:
        groups.setdefault(ambassador_id, set()).add(group_id)
    return groups


def meant_for(campaign, group_ids: set[int]) -> bool:
    """`campaign` must come with its target groups prefetched."""
    targets = {group.pk for group in campaign.target_groups.all()}
    return not targets or bool(targets & group_ids)
