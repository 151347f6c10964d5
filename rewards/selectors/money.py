"""An ambassador's money: exact sums per status and currency (amounts in the currency of the
sale that earned them; never converted or added across currencies here).

Corrections are entries of their own, so a status's sum nets them: a refund after payout is a
negative entry that waits (pending, then approved) to be netted in the next payout run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from ..models import LIVE_STATUSES, EarningEntry, EntryStatus, RewardUnit

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def cents(total) -> Decimal:
    """A database sum of amounts in cents, exactly in cents: SQLite sums decimals as floating
    point (33.3400000000000), which is exact to the cent below 10^13."""
    return Decimal(total or 0).quantize(CENT)


@dataclass(frozen=True)
class MoneySummary:
    """status → currency → exact sum, with a property per status (an empty dict: nothing)."""

    by_status: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    def of(self, status: str) -> dict[str, Decimal]:
        return dict(sorted(self.by_status.get(status, {}).items()))

    @property
    def pending(self) -> dict[str, Decimal]:
        return self.of(EntryStatus.PENDING)

    @property
    def approved(self) -> dict[str, Decimal]:
        """Approved and not yet in a payout run: what the next run will pay (minimum payout permitting)."""
        return self.of(EntryStatus.APPROVED)

    @property
    def in_payout(self) -> dict[str, Decimal]:
        return self.of(EntryStatus.IN_PAYOUT)

    @property
    def paid(self) -> dict[str, Decimal]:
        return self.of(EntryStatus.PAID)

    @property
    def held(self) -> dict[str, Decimal]:
        return self.of(EntryStatus.HELD)

    @property
    def currencies(self) -> list[str]:
        return sorted({currency for sums in self.by_status.values() for currency in sums})

    @property
    def is_empty(self) -> bool:
        return not self.by_status


def _summaries(queryset) -> dict[int, MoneySummary]:
    sums: dict[int, dict[str, dict[str, Decimal]]] = {}
    rows = (queryset.filter(unit=RewardUnit.MONEY).values_list("ambassador_id", "status", "currency")
            .order_by().annotate(total=Sum("amount")))
    for ambassador_id, status, currency, total in rows:
        sums.setdefault(ambassador_id, {}).setdefault(status, {})[currency] = cents(total)
    return {ambassador_id: MoneySummary(by_status) for ambassador_id, by_status in sums.items()}


def money_summary(ambassador) -> MoneySummary:
    """One ambassador's money per status and currency (one query)."""
    return _summaries(EarningEntry.objects.filter(organization_id=ambassador.organization_id,
                                                  ambassador_id=ambassador.pk)).get(ambassador.pk, MoneySummary())


def money_summaries(organization_id: int, ambassador_ids: Iterable[int] | None = None) -> dict[int, MoneySummary]:
    """{ambassador id: MoneySummary} for many ambassadors in one query (None: every ambassador
    with an entry); an ambassador with no money entry is absent."""
    queryset = EarningEntry.objects.filter(organization_id=organization_id)
    if ambassador_ids is not None:
        queryset = queryset.filter(ambassador_id__in=list(ambassador_ids))
    return _summaries(queryset)


def other_currency_totals(organization_id: int, currency: str) -> dict[str, Decimal]:
    """{currency: sum} of the organisation's live money entries (not canceled or refunded) in
    other currencies than `currency` (its own): the ROI leaves them out until they can be
    converted (reports.selectors.roi.reward_sums), and the reward settings page says so."""
    rows = (EarningEntry.objects.filter(organization_id=organization_id, unit=RewardUnit.MONEY,
                                        status__in=LIVE_STATUSES).exclude(currency=currency)
            .values_list("currency").order_by("currency").annotate(total=Sum("amount")))
    return {code: cents(total) for code, total in rows if total}
