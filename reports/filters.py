"""What a report is about: organisation, period, model and the optional filters."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .periods import Period


@dataclass(frozen=True)
class ReportFilter:
    organization_id: int
    period: Period
    model: str | None = None  # None: the organisation's reporting model
    campaign_ids: tuple[int, ...] | None = None
    group_id: int | None = None
    kind: str | None = None  # "internal" | "external"

    def with_period(self, period: Period) -> ReportFilter:
        return replace(self, period=period)

    @property
    def filters_ambassadors(self) -> bool:
        return self.group_id is not None or self.kind is not None
