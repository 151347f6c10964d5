"""The rewards catalogue (admins) and redemptions (ambassadors ask, admins decide), each action
with its audit entry in the same transaction.

A redemption takes its points from the balance when requested (rewards.selectors.points) and
one unit of the item's stock; declining it gives both back. It needs an admin's approval when it
is the ambassador's first (nothing of theirs approved yet) or when no invitation vouched for the
ambassador (they came through the public join page); otherwise it is approved at once.

Concurrency: a request locks the ambassador's row, then the item's (always in that order), and
checks balance, stock and limits under those locks, so two requests of one ambassador can't
spend the same points and ten requests for the last item have one winner. The locks are
FOR NO KEY UPDATE: they don't block the earnings engine's inserts of entries referring to the
ambassador (FOR KEY SHARE), which a plain FOR UPDATE would. Decisions lock the redemption's row
(then the item's, to return stock), so a double click decides once."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from ambassadors.models import Ambassador, AmbassadorGroup, Status

from ..models import CatalogueItem, Redemption, RedemptionStatus
from ..selectors.points import joined_by_invitation, points_balance, redeemed_count, refusal
from . import RewardError
from .audit import record

NAME_MAX = CatalogueItem._meta.get_field("name").max_length
DESCRIPTION_MAX = 2000
NOTE_MAX = Redemption._meta.get_field("note").max_length
POINTS_MAX = 10_000_000  # a cost above this is a typo, not a reward
MAY_REDEEM = (Status.ACTIVE, Status.PAUSED)  # paused ambassadors keep what they earned


# --- the catalogue ----------------------------------------------------------------------------------

def item_state(item: CatalogueItem) -> dict:
    """What the audit log records of an item (plain JSON)."""
    return {"name": item.name, "description": item.description, "points_cost": item.points_cost,
            "stock": item.stock, "per_ambassador_limit": item.per_ambassador_limit, "active": item.active,
            "groups": sorted(group.name for group in item.groups.all())}


def _clean_item(fields: dict) -> dict:
    """The fields given, checked; RewardError names the first one at fault."""
    cleaned = dict(fields)
    if "name" in cleaned:
        cleaned["name"] = (cleaned["name"] or "").strip()
        if not cleaned["name"]:
            raise RewardError("name", "Give the item a name.")
        if len(cleaned["name"]) > NAME_MAX:
            raise RewardError("name", f"At most {NAME_MAX} characters.")
    if "description" in cleaned:
        cleaned["description"] = (cleaned["description"] or "").strip()
        if len(cleaned["description"]) > DESCRIPTION_MAX:
            raise RewardError("description", f"At most {DESCRIPTION_MAX} characters.")
    if "points_cost" in cleaned:
        cost = cleaned["points_cost"]
        if cost is None or int(cost) < 1 or int(cost) > POINTS_MAX:
            raise RewardError("points_cost", f"The cost is a whole number of points from 1 to {POINTS_MAX:,}.")
        cleaned["points_cost"] = int(cost)
    if "stock" in cleaned and cleaned["stock"] is not None:
        if int(cleaned["stock"]) < 0:
            raise RewardError("stock", "Stock can't be negative (leave it empty for unlimited).")
        cleaned["stock"] = int(cleaned["stock"])
    if "per_ambassador_limit" in cleaned and cleaned["per_ambassador_limit"] is not None:
        if int(cleaned["per_ambassador_limit"]) < 1:
            raise RewardError("per_ambassador_limit", "The limit is at least 1 (leave it empty for no limit).")
        cleaned["per_ambassador_limit"] = int(cleaned["per_ambassador_limit"])
    return cleaned


def _check_groups(organization_id: int, groups: Iterable[AmbassadorGroup]) -> list[AmbassadorGroup]:
    groups = list(groups)
    if any(group.organization_id != organization_id for group in groups):
        raise RewardError("groups", "Choose groups of this organisation.")
    return groups


def create_item(*, organization, actor, name: str, points_cost: int, description: str = "", stock: int | None = None,
                per_ambassador_limit: int | None = None, groups: Iterable[AmbassadorGroup] = (),
                active: bool = True) -> CatalogueItem:
    fields = _clean_item({"name": name, "description": description, "points_cost": points_cost, "stock": stock,
                          "per_ambassador_limit": per_ambassador_limit})
    groups = _check_groups(organization.pk, groups)
    with transaction.atomic():
        item = CatalogueItem.objects.create(organization=organization, active=bool(active), **fields)
        item.groups.set(groups)
        record(organization_id=organization.pk, actor=actor, action="catalogue_item.created",
               object_type="catalogue_item", object_id=item.public_id, after=item_state(item))
    return item


def update_item(item: CatalogueItem, *, actor, groups: Iterable[AmbassadorGroup] | None = None,
                **fields) -> CatalogueItem:
    """Change any of name, description, points_cost, stock, per_ambassador_limit, active (and the
    groups, when given). The row is locked: a stock set here and a redemption taking one unit
    don't overwrite each other. Points already spent on the item keep their cost."""
    unknown = set(fields) - {"name", "description", "points_cost", "stock", "per_ambassador_limit", "active"}
    if unknown:
        raise ValueError(f"not catalogue item fields: {sorted(unknown)}")
    fields = _clean_item(fields)
    if groups is not None:
        groups = _check_groups(item.organization_id, groups)
    with transaction.atomic():
        locked = CatalogueItem.objects.select_for_update(no_key=True).get(pk=item.pk)
        before = item_state(locked)
        for name, value in fields.items():
            setattr(locked, name, bool(value) if name == "active" else value)
        locked.save()
        if groups is not None:
            locked.groups.set(groups)
        after = item_state(locked)
        changed = [key for key in after if after[key] != before[key]]
        if changed:
            record(organization_id=locked.organization_id, actor=actor, action="catalogue_item.changed",
                   object_type="catalogue_item", object_id=locked.public_id,
                   before={key: before[key] for key in changed}, after={key: after[key] for key in changed})
    return locked


def delete_item(item: CatalogueItem, *, actor) -> None:
    """Only an item nobody redeemed can go (redemptions keep their item); others are deactivated."""
    with transaction.atomic():
        locked = CatalogueItem.objects.select_for_update().get(pk=item.pk)
        if Redemption.objects.filter(item_id=locked.pk).exists():
            raise RewardError(None, f"“{locked.name}” has been redeemed, so it stays in the records: "
                                    "deactivate it instead to take it out of the catalogue.")
        before = item_state(locked)
        public_id = locked.public_id
        locked.delete()
        record(organization_id=item.organization_id, actor=actor, action="catalogue_item.deleted",
               object_type="catalogue_item", object_id=public_id, before=before)


# --- redemptions -------------------------------------------------------------------------------------

def redemption_state(redemption: Redemption) -> dict:
    return {"status": redemption.status, "item": redemption.item.name, "points": redemption.points,
            "ambassador": str(redemption.ambassador.public_id), "needs_approval": redemption.needs_approval,
            "note": redemption.note}


def needs_approval(ambassador: Ambassador) -> bool:
    """A first redemption (none of theirs approved or fulfilled yet) or an ambassador no
    invitation vouched for waits for an admin."""
    if not joined_by_invitation(ambassador):
        return True
    return not Redemption.objects.filter(
        organization_id=ambassador.organization_id, ambassador_id=ambassador.pk,
        status__in=(RedemptionStatus.APPROVED, RedemptionStatus.FULFILLED)).exists()


def request_redemption(ambassador: Ambassador, item: CatalogueItem, *, actor=None, now=None) -> Redemption:
    """The ambassador spends `item.points_cost` points on `item`: refused with a RewardError the
    ambassador can act on (not enough points, out of stock, limit reached, another group's item,
    no longer offered), else a redemption requested (or approved at once, see needs_approval).
    `actor`: who asked (the ambassador's user by default)."""
    now = now or timezone.now()
    with transaction.atomic():
        # Lock order: the ambassador, then the item (see the module's doc).
        ambassador = Ambassador.objects.select_for_update(no_key=True).get(pk=ambassador.pk)
        item = CatalogueItem.objects.select_for_update(no_key=True).get(pk=item.pk)
        if ambassador.organization_id != item.organization_id:
            raise RewardError("item", "This item is not in your organisation's catalogue.")
        if ambassador.status not in MAY_REDEEM:
            raise RewardError(None, "Only active ambassadors can redeem points.")
        group_ids = set(ambassador.groups.values_list("pk", flat=True))
        problem = refusal(item, balance=points_balance(ambassador), redeemed=redeemed_count(ambassador, item),
                          group_ids=group_ids)
        if problem:
            raise RewardError(*problem)
        waits = needs_approval(ambassador)
        if item.stock is not None:
            item.stock -= 1
            item.save(update_fields=["stock"])
        redemption = Redemption.objects.create(
            organization_id=ambassador.organization_id, ambassador=ambassador, item=item, points=item.points_cost,
            needs_approval=waits, status=RedemptionStatus.REQUESTED if waits else RedemptionStatus.APPROVED,
            decided_at=None if waits else now)
        requested = {**redemption_state(redemption), "status": RedemptionStatus.REQUESTED.value,
                     "stock_left": item.stock}
        record(organization_id=ambassador.organization_id, actor=actor if actor is not None else ambassador.user,
               action="redemption.requested", object_type="redemption", object_id=redemption.public_id,
               after=requested, at=now)
        if not waits:
            record(organization_id=ambassador.organization_id, actor=None, action="redemption.approved",
                   object_type="redemption", object_id=redemption.public_id,
                   before={"status": RedemptionStatus.REQUESTED.value},
                   after={"status": redemption.status, "reason": "approved at once: invited ambassador with an "
                                                                  "earlier redemption approved"}, at=now)
    return redemption


def _decide(redemption: Redemption, *, actor, to: str, allowed_from: tuple[str, ...], note: str, now) -> Redemption:
    """Move the (locked) redemption to `to` if its status is one of `allowed_from`; else refuse
    with the message for its status (REFUSED_MOVES)."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise RewardError("note", f"At most {NOTE_MAX} characters.")
    now = now or timezone.now()
    with transaction.atomic():
        locked = Redemption.objects.select_for_update().select_related("item", "ambassador").get(pk=redemption.pk)
        if locked.status not in allowed_from:
            raise RewardError(None, REFUSED_MOVES[to].get(locked.status, "This redemption can't be changed now."))
        before = redemption_state(locked)
        stock_returned = False
        if to == RedemptionStatus.DECLINED:
            item = CatalogueItem.objects.select_for_update(no_key=True).get(pk=locked.item_id)
            if item.stock is not None:
                item.stock += 1
                item.save(update_fields=["stock"])
                stock_returned = True
        locked.status, locked.decided_at, locked.decided_by = to, now, actor
        if note:
            locked.note = note
        locked.save(update_fields=["status", "decided_at", "decided_by", "note"])
        after = redemption_state(locked)
        if to == RedemptionStatus.DECLINED:
            after.update(points_returned=locked.points, stock_returned=stock_returned)
        record(organization_id=locked.organization_id, actor=actor, action=f"redemption.{to}",
               object_type="redemption", object_id=locked.public_id,
               before={"status": before["status"]}, after=after, at=now)
    return locked


REFUSED_MOVES = {
    RedemptionStatus.APPROVED: {
        RedemptionStatus.APPROVED: "This redemption is already approved.",
        RedemptionStatus.FULFILLED: "This redemption is already fulfilled.",
        RedemptionStatus.DECLINED: "This redemption was declined; the ambassador can ask again.",
    },
    RedemptionStatus.FULFILLED: {
        RedemptionStatus.REQUESTED: "Approve this redemption before marking it fulfilled.",
        RedemptionStatus.FULFILLED: "This redemption is already fulfilled.",
        RedemptionStatus.DECLINED: "This redemption was declined, so it can't be fulfilled.",
    },
    RedemptionStatus.DECLINED: {
        RedemptionStatus.FULFILLED: "This redemption is fulfilled (the reward was handed over), so it can't be "
                                    "declined.",
        RedemptionStatus.DECLINED: "This redemption is already declined.",
    },
}


def approve_redemption(redemption: Redemption, *, actor, note: str = "", now=None) -> Redemption:
    return _decide(redemption, actor=actor, to=RedemptionStatus.APPROVED, note=note, now=now,
                   allowed_from=(RedemptionStatus.REQUESTED,))


def fulfil_redemption(redemption: Redemption, *, actor, note: str = "", now=None) -> Redemption:
    """The reward was handed over (only after approval)."""
    return _decide(redemption, actor=actor, to=RedemptionStatus.FULFILLED, note=note, now=now,
                   allowed_from=(RedemptionStatus.APPROVED,))


def decline_redemption(redemption: Redemption, *, actor, note: str = "", now=None) -> Redemption:
    """Refuse a requested or approved (not yet fulfilled) redemption: its points are back in the
    ambassador's balance (a declined redemption doesn't count) and its unit back in stock."""
    return _decide(redemption, actor=actor, to=RedemptionStatus.DECLINED, note=note, now=now,
                   allowed_from=(RedemptionStatus.REQUESTED, RedemptionStatus.APPROVED))
