"""Reads of the fraud pages and API: cases with their reasons and what they hold. Inside the
organisation's tenant scope."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from ..models import CaseStatus, EarningEntry, EntryStatus, FraudCase, FraudSignal


def cases(status: str = CaseStatus.OPEN) -> QuerySet[FraudCase]:
    """Cases (of one status, or all with ""), newest signal first, with their ambassador, signals
    and how many entries each holds now."""
    queryset = FraudCase.objects.select_related("ambassador", "closed_by").prefetch_related(
        Prefetch("signals", queryset=FraudSignal.objects.order_by("created_at", "pk")))
    if status:
        queryset = queryset.filter(status=status)
    return queryset.annotate(held_count=Count("entries", filter=Q(entries__status=EntryStatus.HELD)),
                             entry_count=Count("entries")).order_by("-last_signal_at", "-pk")


def status_counts() -> dict[str, int]:
    counts = dict(FraudCase.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return {value: counts.get(value, 0) for value in CaseStatus.values}


@dataclass(frozen=True)
class HeldTotal:
    unit: str
    currency: str
    amount: Decimal
    count: int


def case_entries(case: FraudCase) -> QuerySet[EarningEntry]:
    return (EarningEntry.objects.filter(fraud_case=case).select_related("rule", "campaign")
            .order_by("-earned_at", "-pk"))


def held_totals(case: FraudCase) -> list[HeldTotal]:
    """What the case holds now, per unit and currency (money and points never add up)."""
    rows = (EarningEntry.objects.filter(fraud_case=case, status=EntryStatus.HELD)
            .values("unit", "currency").annotate(amount=Sum("amount"), count=Count("pk")).order_by("unit", "currency"))
    return [HeldTotal(row["unit"], row["currency"], row["amount"], row["count"]) for row in rows]
