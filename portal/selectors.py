"""Reads for the ambassador's portal: my figures, my rank, the programme's top ten and my
daily clicks, all from the reports' selectors (rollups and credits, never raw clicks), the
campaigns I can share with my links and share options, and my feed: what is new, what I haven't
shared yet, what ends soon (featured campaigns first in each).

A handful of queries whatever the number of ambassadors or campaigns: the leaderboard sums
every ambassador in grouped queries, the daily series is one grouped query over my rollups,
the campaigns come with their messages and my links in three, and the feed adds one (which of
them I have shared)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Sum
from django.utils import timezone

from ambassadors.models import Invitation, Status
from campaigns import badges
from campaigns import selectors as campaign_selectors
from campaigns.models import ShareEvent
from campaigns.share import share_options, short_url
from reports.filters import ReportFilter
from reports.periods import Period, PeriodError, period_for
from reports.selectors.leaderboard import Figures, LeaderRow, top_and_mine
from reports.selectors.points import points_rules
from tracking.models import DailyAmbassadorClicks

PORTAL_PERIODS = {
    "7d": "7 days",
    "30d": "30 days",
    "90d": "90 days",
    "month": "This month",
}
DEFAULT_PERIOD = "30d"
TOP = 10


def portal_period(key: str | None, tz) -> Period:
    """The period of "my figures": one of PORTAL_PERIODS (default 30 days). PeriodError
    with a message for anything else."""
    key = key or DEFAULT_PERIOD
    if key not in PORTAL_PERIODS:
        raise PeriodError(f"Unknown period “{key}”; use one of {', '.join(PORTAL_PERIODS)}.")
    return period_for(key, tz)


@dataclass(frozen=True, kw_only=True)
class MyFigures(Figures):
    """My row of the points leaderboard: figures, points and rank."""

    rank: int | None = None  # None: not on the leaderboard (e.g. paused without activity)
    ranked: int = 0  # how many ambassadors the leaderboard ranks


@dataclass(frozen=True)
class Standing:
    figures: MyFigures
    top: list[LeaderRow]
    me: LeaderRow | None  # my row, when it is not in the top rows
    my_id: int


def standing(f: ReportFilter, ambassador_id: int) -> Standing:
    """My figures and rank on the points leaderboard (the organisation's reporting model),
    and the top ten rows: one ranking query, whatever the size of the programme."""
    top, mine, ranked = top_and_mine(f, "points", TOP, ambassador_id)
    figures = MyFigures(ranked=ranked) if mine is None else MyFigures.like(mine, rank=mine.rank, ranked=ranked)
    outside = mine if mine is not None and all(row.ambassador_id != ambassador_id for row in top) else None
    return Standing(figures=figures, top=top, me=outside, my_id=ambassador_id)


def daily_clicks(f: ReportFilter, ambassador_id: int) -> list[tuple[date, int]]:
    """My creditable clicks per local day of the period, every day included (0 when none).
    The same rollup and sums as reports.selectors.base.click_sums, restricted to me in SQL."""
    rows = (DailyAmbassadorClicks.objects
            .filter(organization_id=f.organization_id, ambassador_id=ambassador_id,
                    day__gte=f.period.start, day__lte=f.period.end)
            .values("day").order_by().annotate(clicks=Sum("clicks")))
    by_day = {row["day"]: row["clicks"] or 0 for row in rows}
    return [(day, by_day.get(day, 0)) for day in f.period.each_day()]


@dataclass
class CampaignEntry:
    campaign: object
    link: object | None
    short_url: str = ""
    options: list = field(default_factory=list)  # campaigns.share.ShareOption per network
    can_share: bool = False  # started (campaigns_for_ambassador already leaves out the closed ones)


FEED_ITEMS = 5  # per section of the feed; the campaigns page has them all


@dataclass(frozen=True)
class Feed:
    """Three views of my live campaigns, featured ones first in each, at most FEED_ITEMS each
    (the *_total counts say how many there are in all)."""

    new: list  # gone live recently (badges.is_new), the latest first
    not_shared: list  # no share of mine yet, ending soonest first, then the latest
    ends_soon: list  # ending within badges.ENDS_SOON_WITHIN, soonest first
    new_total: int = 0
    not_shared_total: int = 0
    ends_soon_total: int = 0

    def __bool__(self) -> bool:
        return bool(self.new or self.not_shared or self.ends_soon)


def campaigns_shared_by(ambassador, campaign_ids) -> set[int]:
    """Which of the campaigns the ambassador has shared at least once (one query)."""
    return set(ShareEvent.objects.filter(ambassador_id=ambassador.pk, campaign_id__in=list(campaign_ids))
               .order_by().values_list("campaign_id", flat=True).distinct())


def _far_future(at: datetime) -> float:
    return at.timestamp() + 10 * 365 * 86400


def feed(ambassador, campaigns, *, at=None, since: datetime | None = None, limit: int = FEED_ITEMS) -> Feed:
    """My feed from `campaigns` (campaigns_for_ambassador's, which are active and mine): only live
    ones count. `since`: my previous visit, which widens "new" when it is longer ago than
    badges.NEW_FOR."""
    at = at or timezone.now()
    live = [campaign for campaign in campaigns if campaign.is_live(at)]
    shared = campaigns_shared_by(ambassador, [campaign.pk for campaign in live]) if live else set()

    def ends(campaign) -> float:
        return campaign.ends_at.timestamp() if campaign.ends_at else _far_future(at)

    def newest(campaign) -> float:
        return -badges.went_live_at(campaign).timestamp()

    new = sorted((c for c in live if badges.is_new(c, at, since=since)),
                 key=lambda c: (not c.featured, newest(c), c.pk))
    not_shared = sorted((c for c in live if c.pk not in shared),
                        key=lambda c: (not c.featured, ends(c), newest(c), c.pk))
    ends_soon = sorted((c for c in live if badges.ends_soon(c, at)), key=lambda c: (not c.featured, ends(c), c.pk))
    return Feed(new=new[:limit], not_shared=not_shared[:limit], ends_soon=ends_soon[:limit], new_total=len(new),
                not_shared_total=len(not_shared), ends_soon_total=len(ends_soon))


@dataclass(frozen=True)
class Home:
    entries: list[CampaignEntry]
    total: int  # campaigns I can share now or soon, in all
    feed: Feed


def home_campaigns(ambassador, *, limit: int | None = None, at=None, since: datetime | None = None) -> Home:
    """The home's campaigns (see campaign_entries) and my feed, from one read of my campaigns."""
    at = at or timezone.now()
    campaigns = list(campaign_selectors.campaigns_for_ambassador(ambassador, at=at))
    entries, total = campaign_entries(ambassador, limit=limit, at=at, campaigns=campaigns)
    return Home(entries=entries, total=total, feed=feed(ambassador, campaigns, at=at, since=since))


def campaign_entries(ambassador, *, limit: int | None = None, at=None,
                     campaigns: list | None = None) -> tuple[list[CampaignEntry], int]:
    """The campaigns I can share now or soon (featured first, then ending soonest), with my link and
    the share options per network where I have a link, and how many there are in all. `campaigns`:
    campaigns_for_ambassador's list, when already read."""
    at = at or timezone.now()
    if campaigns is None:
        campaigns = list(campaign_selectors.campaigns_for_ambassador(ambassador, at=at))
    total = len(campaigns)
    if limit is not None:
        campaigns = campaigns[:limit]
    links = campaign_selectors.links_of(ambassador, [c.pk for c in campaigns])
    entries = []
    for campaign in campaigns:
        link = links.get(campaign.pk)
        messages = list(campaign.messages.all())  # prefetched
        entries.append(CampaignEntry(
            campaign=campaign, link=link, short_url=short_url(link) if link else "",
            options=share_options(link, campaign, messages) if link else [],
            can_share=campaign.starts_at is None or campaign.starts_at <= at,
        ))
    return entries, total


def needs_onboarding(ambassador) -> bool:
    """An active ambassador who joined through an invitation and has not dismissed the welcome."""
    if ambassador is None or ambassador.status != Status.ACTIVE or ambassador.onboarded_at is not None:
        return False
    return Invitation.objects.filter(ambassador_id=ambassador.pk, accepted_at__isnull=False).exists()


def points_rules_of(organization_id: int):
    return points_rules(organization_id)
