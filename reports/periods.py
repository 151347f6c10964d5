"""Report periods: whole local days in the organisation's time zone (a click at 23:30 local on
the last day of a month counts in that month). Pure: no database.

A period is [start, end], both local dates included; `start_at`/`end_at` are its bounds as
aware datetimes, [start 00:00 local, day after end 00:00 local), for tables keyed by instant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

PRESETS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "month": "This month",
    "quarter": "This quarter",
    "custom": "Custom",
}
DEFAULT = "30d"
MAX_DAYS = 3 * 366
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class PeriodError(ValueError):
    """A period that can't be built; the message says why (for a 400) and `field` which parameter
    is at fault: start or end for a date missing or not a date, else period."""

    def __init__(self, message: str, field: str = "period"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    tz: tzinfo
    key: str = "custom"

    def __post_init__(self):
        if self.end < self.start:
            raise PeriodError("The period ends before it starts.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, self.tz)

    @property
    def end_at(self) -> datetime:
        """Exclusive: midnight local at the start of the day after `end`."""
        return datetime.combine(self.end + timedelta(days=1), time.min, self.tz)

    def previous(self) -> Period:
        """The period of the same length just before (for ranks and movement)."""
        if self.key == "month":
            end = self.start - timedelta(days=1)
            return Period(end.replace(day=1), end, self.tz, "month")
        if self.key == "quarter":
            end = self.start - timedelta(days=1)
            return Period(date(end.year, 3 * ((end.month - 1) // 3) + 1, 1), end, self.tz, "quarter")
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1), self.tz, self.key)

    def each_day(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]

    @property
    def label(self) -> str:
        if self.key in ("7d", "30d", "90d", "month", "quarter"):
            return f"{PRESETS[self.key]} ({self.start:%-d %b %Y} – {self.end:%-d %b %Y})"
        return f"{self.start:%-d %b %Y} – {self.end:%-d %b %Y}"


def local_today(tz: tzinfo, now: datetime | None = None) -> date:
    return (now or datetime.now(tz)).astimezone(tz).date()


def period_for(key: str | None, tz: tzinfo, *, start: str | date | None = None, end: str | date | None = None,
               today: date | None = None) -> Period:
    """The period a report asks for: a preset ending today (local), or custom start/end
    (ISO dates, both included). Raises PeriodError with a message for the user."""
    key = key or DEFAULT
    today = today or local_today(tz)
    if key not in PRESETS:
        raise PeriodError(f"Unknown period “{key}”; use one of {', '.join(PRESETS)}.")
    if key in ("7d", "30d", "90d"):
        days = int(key[:-1])
        return Period(today - timedelta(days=days - 1), today, tz, key)
    if key == "month":
        return Period(today.replace(day=1), today, tz, key)
    if key == "quarter":
        return Period(date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today, tz, key)
    first, last = _date(start, "start"), _date(end, "end")
    if last < first:
        raise PeriodError("The end date is before the start date.")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(f"A custom period can be at most {MAX_DAYS} days long.")
    return Period(first, last, tz, "custom")


def _date(value: str | date | None, name: str) -> date:
    if isinstance(value, date):
        return value
    if not value:
        raise PeriodError(f"A custom period needs a {name} date (YYYY-MM-DD).", name)
    try:
        return parse_date(value)
    except ValueError:
        raise PeriodError(f"The {name} date “{value[:40]}” is not a date like 2026-03-31.", name) from None


def parse_date(value: str) -> date:
    """A YYYY-MM-DD date, nothing else (fromisoformat also takes 20260331 and 2026-W14-2); ValueError."""
    if not ISO_DATE.fullmatch(value):
        raise ValueError(value)
    return date.fromisoformat(value)


@dataclass(frozen=True)
class Tiers:
    """How to read the days start..end from daily and weekly rollups: whole weeks (their
    Mondays) as weekly rows, the rest as ranges of days (first, last)."""

    weeks: tuple[date, ...]
    day_ranges: tuple[tuple[date, date], ...]


def week_tiers(start: date, end: date, *, split: date | None = None) -> Tiers:
    """Monday-to-Sunday weeks that lie wholly inside start..split-1 or inside split..end (a
    week must not straddle `split`, where a leaderboard's two periods meet), and day ranges for
    what is left at the edges."""
    segments = [(start, end)] if split is None else [(start, split - timedelta(days=1)), (split, end)]
    weeks: list[date] = []
    ranges: list[tuple[date, date]] = []
    for first, last in segments:
        if first > last:
            continue
        monday = first + timedelta(days=-first.weekday() % 7)  # the first Monday on or after `first`
        if monday + timedelta(days=6) > last:
            ranges.append((first, last))
            continue
        if monday > first:
            ranges.append((first, monday - timedelta(days=1)))
        while monday + timedelta(days=6) <= last:
            weeks.append(monday)
            monday += timedelta(days=7)
        if monday <= last:
            ranges.append((monday, last))
    return Tiers(tuple(weeks), tuple(ranges))
