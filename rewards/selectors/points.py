"""Reward points of the ledger: what an ambassador may spend, what they have earned, and the
catalogue as they see it.

* **Balance** (spendable now) = points entries in the ambassador's favour once approved (their
  holding period over), minus points entries against them (negative corrections) as soon as
  they exist and are live, minus the points of their redemptions not declined (a redemption
  takes its points when requested; a declined one gives them back). Counting the corrections
  at once and the gains only when approved means the balance never shows points that may not
  stay; it can go below zero when points already spent are taken back (a refund, a recompute),
  and then nothing can be redeemed until it is positive again.
* **Lifetime points** (what leaderboards and the ambassador's history show) = every points
  entry pending, approved, in a payout or paid, corrections netted. Held entries (a fraud case
  is open) are left out until released; canceled and refunded entries never count. Spending
  points does not lower lifetime points.

These ledger points are called "reward points" on the pages, apart from the leaderboard's
activity score (reports.selectors.points), which is computed from events by PointsRules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from ambassadors.models import Invitation

from ..models import (
    LIVE_STATUSES,
    CatalogueItem,
    EarningEntry,
    EntryStatus,
    Redemption,
    RedemptionStatus,
    RewardUnit,
)

# Positive points entries spendable once in one of these (points never go into payouts, but
# if one ever did, a paid entry is certainly the ambassador's).
SPENDABLE = (EntryStatus.APPROVED, EntryStatus.IN_PAYOUT, EntryStatus.PAID)
LIFETIME = (EntryStatus.PENDING, EntryStatus.APPROVED, EntryStatus.IN_PAYOUT, EntryStatus.PAID)
# A redemption holds its points in every status but declined.
SPENDING = (RedemptionStatus.REQUESTED, RedemptionStatus.APPROVED, RedemptionStatus.FULFILLED)

_EARNED = Q(amount__gt=0, status__in=SPENDABLE) | Q(amount__lt=0, status__in=LIVE_STATUSES)


@dataclass(frozen=True)
class PointsSummary:
    balance: int  # spendable now
    lifetime: int  # earned, all time (pending included, held left out)
    pending: int  # earned, still in the holding period (not yet spendable)
    held: int  # under review in a fraud case
    redeemed: int  # points of redemptions not declined


def _whole(value) -> int:
    """Points are whole numbers; a sum arrives as a Decimal (or None: no row)."""
    return round(Decimal(value or 0))  # nearest: SQLite sums decimals as floating point


def _entry_sums(queryset) -> dict[int, dict[str, int]]:
    rows = (queryset.filter(unit=RewardUnit.POINTS).values("ambassador_id").order_by().annotate(
        earned=Sum("amount", filter=_EARNED), lifetime=Sum("amount", filter=Q(status__in=LIFETIME)),
        pending=Sum("amount", filter=Q(status=EntryStatus.PENDING, amount__gt=0)),
        held=Sum("amount", filter=Q(status=EntryStatus.HELD))))
    return {row["ambassador_id"]: {name: _whole(row[name]) for name in ("earned", "lifetime", "pending", "held")}
            for row in rows}


def _redeemed(queryset) -> dict[int, int]:
    rows = (queryset.filter(status__in=SPENDING).values("ambassador_id").order_by()
            .annotate(points=Sum("points")))
    return {row["ambassador_id"]: _whole(row["points"]) for row in rows}


def points_summaries(organization_id: int, ambassador_ids: Iterable[int]) -> dict[int, PointsSummary]:
    """{ambassador id: PointsSummary} for each of `ambassador_ids` (zeros when they have nothing),
    in two queries."""
    ids = list(ambassador_ids)
    entries = _entry_sums(EarningEntry.objects.filter(organization_id=organization_id, ambassador_id__in=ids))
    redeemed = _redeemed(Redemption.objects.filter(organization_id=organization_id, ambassador_id__in=ids))
    result = {}
    for ambassador_id in ids:
        sums = entries.get(ambassador_id, {})
        spent = redeemed.get(ambassador_id, 0)
        result[ambassador_id] = PointsSummary(
            balance=sums.get("earned", 0) - spent, lifetime=sums.get("lifetime", 0), pending=sums.get("pending", 0),
            held=sums.get("held", 0), redeemed=spent)
    return result


def points_summary(ambassador) -> PointsSummary:
    return points_summaries(ambassador.organization_id, [ambassador.pk])[ambassador.pk]


def points_balance(ambassador) -> int:
    """The points the ambassador may spend now (see the module's doc)."""
    return points_summary(ambassador).balance


def lifetime_points(ambassador) -> int:
    """Every point the ambassador has earned and kept (see the module's doc)."""
    return points_summary(ambassador).lifetime


# --- the catalogue as an ambassador sees it ------------------------------------------------------------

def joined_by_invitation(ambassador) -> bool:
    """Whether an invitation vouched for the ambassador: they accepted one, or were invited and
    then applied through the public join page (ambassadors.services.programme.apply makes that
    profile active at once, as an accepted invitation). A revoked invitation vouches for nobody;
    someone who applied through the join page, or was added without one, was not invited."""
    return Invitation.objects.filter(organization_id=ambassador.organization_id, ambassador_id=ambassador.pk,
                                     revoked_at__isnull=True).exists()


def may_see(item: CatalogueItem, group_ids: set[int]) -> bool:
    """An item without groups is for everyone; one with groups for their members."""
    item_groups = {group.pk for group in item.groups.all()}
    return not item_groups or bool(item_groups & group_ids)


def refusal(item: CatalogueItem, *, balance: int, redeemed: int, group_ids: set[int]) -> tuple[str, str] | None:
    """(field, message) saying why the ambassador can't redeem `item` now, or None if they can:
    the one wording of the catalogue page and of rewards.services.points (which decides under lock)."""
    if not item.active:
        return "item", "This item is no longer in the catalogue."
    if not may_see(item, group_ids):
        return "item", "This item is for other groups of ambassadors."
    if item.stock is not None and item.stock <= 0:
        return "item", "This item is out of stock."
    if item.per_ambassador_limit is not None and redeemed >= item.per_ambassador_limit:
        times = "once" if item.per_ambassador_limit == 1 else f"{item.per_ambassador_limit} times"
        return "item", f"Each ambassador may redeem this item {times}, and you have."
    if balance < item.points_cost:
        return "points", f"You have {balance:,} points; this needs {item.points_cost:,}."
    return None


def redeemed_count(ambassador, item: CatalogueItem) -> int:
    """The ambassador's redemptions of `item` that count against its limit (not declined)."""
    return Redemption.objects.filter(organization_id=ambassador.organization_id, ambassador_id=ambassador.pk,
                                     item_id=item.pk, status__in=SPENDING).count()


@dataclass(frozen=True)
class Offer:
    item: CatalogueItem
    redeemed: int  # this ambassador's redemptions of it, not declined
    refusal: str  # empty: they may redeem it now; else why not

    @property
    def available(self) -> bool:
        return not self.refusal


def catalogue_for(ambassador, *, balance: int | None = None) -> list[Offer]:
    """The active items the ambassador may see (their groups'), cheapest first, each saying
    whether they may redeem it now and, if not, why."""
    if balance is None:
        balance = points_balance(ambassador)
    group_ids = set(ambassador.groups.values_list("pk", flat=True))
    counts = dict(Redemption.objects.filter(organization_id=ambassador.organization_id, ambassador_id=ambassador.pk,
                                            status__in=SPENDING).values("item_id").order_by()
                  .annotate(n=Count("id")).values_list("item_id", "n"))
    offers = []
    items = CatalogueItem.objects.filter(organization_id=ambassador.organization_id, active=True).prefetch_related(
        "groups").order_by("points_cost", "name", "pk")
    for item in items:
        if not may_see(item, group_ids):
            continue
        redeemed = counts.get(item.pk, 0)
        problem = refusal(item, balance=balance, redeemed=redeemed, group_ids=group_ids)
        offers.append(Offer(item, redeemed, problem[1] if problem else ""))
    return offers


def redemptions_of(ambassador):
    """The ambassador's redemptions, newest first, with their items."""
    return (Redemption.objects.filter(organization_id=ambassador.organization_id, ambassador_id=ambassador.pk)
            .select_related("item").order_by("-requested_at", "-pk"))


def redemption_queue(organization_id: int, status: str | None = None):
    """The organisation's redemptions for the admins' queue: those waiting for a decision first
    (requested, then approved to fulfil), oldest first; then the decided ones, newest first."""
    queryset = Redemption.objects.filter(organization_id=organization_id).select_related("item", "ambassador",
                                                                                         "decided_by")
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("requested_at", "pk") if status in (RedemptionStatus.REQUESTED,
                                                                 RedemptionStatus.APPROVED) else queryset
