"""The weekly ambassador digest.

On Monday from 08:00 in the organisation's time zone, each active ambassador whose digest
preference is weekly (the default) is sent one e-mail about the week that just ended (Monday to
Sunday, local days): the campaigns announced that week that are still running and meant for
them, with one-click share buttons; their own clicks, leads and points that week; and their rank
on the points leaderboard with its change since the week before. All figures come from the
reports' selectors (reports.selectors.leaderboard: rollups, credits, share events), the same
arithmetic as the portal's "my figures" and the leaderboard page.

Who is skipped: an ambassador with nothing to say — no campaign announced for them that week and
no share, click, lead, customer, revenue or point of theirs in it. An e-mail of zeros teaches
people to ignore the next one; the digest comes back the first week something happens.

Told once: the producer (`produce_digests`, the beat every 15 minutes) writes one Delivery per
(ambassador, week), key f"digest:email:{ambassador_id}:{week}" (week = ISO week of the week that
ended, e.g. "2026-W49"), with INSERT … ON CONFLICT DO NOTHING: a second run, or two beats at
once, create nothing more. The engine (notifications.delivery) sends it; the renderer below
writes it at send time. A beat that was down is caught up until Tuesday 08:00 local (CATCH_UP);
after that, that week's digest is not sent (old news). An ambassador who joined after Monday
08:00 starts with the next week.
"""

from __future__ import annotations

import threading
import time as monotonic_time
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from ambassadors.models import Ambassador
from ambassadors.models import Status as AmbassadorStatus
from campaigns.models import Campaign, CampaignStatus, TrackedLink
from reports.figures import format_credited
from reports.filters import ReportFilter
from reports.periods import Period
from reports.selectors.leaderboard import LeaderRow, leaderboard
from tenancy.models import Organization
from tenancy.scoping import scopes_disabled, tenant_scope

from .audience import groups_of, meant_for
from .emails import RenderedEmail, footer_context, register_email, render_email, site_url
from .models import Delivery, DeliveryChannel, Frequency, Kind
from .preferences import frequencies_for
from .share_buttons import campaign_share

SEND_AT = time(8, 0)  # local time, on the Monday after the week
CATCH_UP = timedelta(days=1)  # how long after SEND_AT a late beat still produces the week's digests
BOARD_TTL = 120.0  # seconds a process keeps one week's leaderboard while it renders that week's e-mails


# --- Weeks ---------------------------------------------------------------------------------------

def week_key(period: Period) -> str:
    """The ISO week of a Monday–Sunday period: "2026-W49"."""
    year, week, _ = period.start.isocalendar()
    return f"{year}-W{week:02d}"


def week_period(key: str, tz) -> Period:
    """The Monday–Sunday period of an ISO week key (week_key's inverse)."""
    year, _, week = key.partition("-W")
    monday = date.fromisocalendar(int(year), int(week), 1)
    return Period(monday, monday + timedelta(days=6), tz, "custom")


def last_week(tz, now: datetime) -> Period:
    """The last complete Monday–Sunday week before `now` (local)."""
    today = now.astimezone(tz).date()
    sunday = today - timedelta(days=today.weekday() + 1)
    return Period(sunday - timedelta(days=6), sunday, tz, "custom")


def due_week(tz, now: datetime) -> tuple[Period, datetime] | None:
    """The week whose digest is due at `now` and its send time (Monday 08:00 local), or None
    when no week's digest is due (before Monday 08:00 the previous week's window has closed)."""
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    send_at = datetime.combine(monday, SEND_AT, tz)
    if local < send_at:
        monday -= timedelta(days=7)
        send_at = datetime.combine(monday, SEND_AT, tz)
    if now - send_at >= CATCH_UP:
        return None
    return Period(monday - timedelta(days=7), monday - timedelta(days=1), tz, "custom"), send_at


# --- What the digest says ------------------------------------------------------------------------

_boards: dict[tuple, tuple[float, dict[int, LeaderRow]]] = {}
_boards_lock = threading.Lock()


def week_board(organization: Organization, period: Period) -> dict[int, LeaderRow]:
    """ambassador id → their row of the week's points leaderboard (rank, movement, clicks, leads,
    points). Kept BOARD_TTL seconds per process: a batch of digests of one organisation and week
    reads one leaderboard, not one per e-mail."""
    key = (organization.pk, organization.created_at, period.start, period.end)
    now = monotonic_time.monotonic()
    with _boards_lock:
        for stale in [k for k, (expires, _) in _boards.items() if expires < now]:
            del _boards[stale]
        if key in _boards:
            return _boards[key][1]
    rows = {row.ambassador_id: row for row in leaderboard(ReportFilter(organization.pk, period), "points")}
    with _boards_lock:
        _boards[key] = (now + BOARD_TTL, rows)
    return rows


def announced_campaigns(period: Period, now: datetime) -> list[Campaign]:
    """Campaigns announced (went live) in the period and still running at `now`, oldest first,
    with their target groups."""
    return list(Campaign.objects.filter(status=CampaignStatus.ACTIVE, announced_at__gte=period.start_at,
                                        announced_at__lt=period.end_at)
                .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
                .prefetch_related("target_groups").order_by("announced_at", "pk"))


def has_news(row: LeaderRow | None, campaigns: list) -> bool:
    return bool(campaigns) or (row is not None and (row.has_activity or row.points > 0))


def figure(value) -> str:
    """A count as people read it: 3, 2.5 (a lead shared between ambassadors), 12.75 points."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return str(int(value))
    return f"{value.quantize(Decimal('0.01')).normalize():f}"


def rank_change(row: LeaderRow | None) -> str:
    if row is None:
        return ""
    if row.movement is None:
        return "new on the leaderboard this week" if row.has_activity or row.points else ""
    if row.movement > 0:
        return f"up {row.movement} place{'s' if row.movement != 1 else ''} on the week before"
    if row.movement < 0:
        return f"down {-row.movement} place{'s' if row.movement != -1 else ''} on the week before"
    return "the same place as the week before"


@dataclass(frozen=True)
class DigestFigures:
    clicks: int
    leads: str
    points: str
    rank: int | None
    ranked: int
    change: str
    movement: int | None


def digest_figures(row: LeaderRow | None, ranked: int) -> DigestFigures:
    if row is None:
        return DigestFigures(0, "0", "0", None, ranked, "", None)
    # Leads read as on every page (reports.figures: one decimal, a third of a lead is "0.3"); no rank for
    # someone who did nothing that week: "Rank 4 of 6" would only mean "tied last".
    active = row.has_activity or bool(row.points)
    return DigestFigures(clicks=row.clicks, leads=format_credited(row.leads), points=figure(row.points),
                         rank=row.rank if active else None, ranked=ranked, change=rank_change(row) if active else "",
                         movement=row.movement if active else None)


# --- The producer (the beat) ---------------------------------------------------------------------

def produce_digests(now: datetime | None = None) -> int:
    """Write the due digests' Delivery rows, platform-wide; how many this run added (a row another
    run added at the same moment may be counted by both: the unique key keeps one)."""
    now = now or timezone.now()
    with scopes_disabled():
        organizations = list(Organization.objects.order_by("pk"))
    created = 0
    for organization in organizations:
        if due_week(organization.tzinfo, now) is None:
            continue
        with tenant_scope(organization):
            created += produce_for(organization, now)
    return created


def produce_for(organization: Organization, now: datetime) -> int:
    """The digests of one organisation for the week due at `now` (call inside its scope)."""
    due = due_week(organization.tzinfo, now)
    if due is None:
        return 0
    period, send_at = due
    week = week_key(period)
    done_marker = f"notifications:digests-produced:{organization.pk}:{week}"
    if cache.get(done_marker):  # only spares the work: the unique key is what makes it once
        return 0
    ids = list(Ambassador.objects.filter(status=AmbassadorStatus.ACTIVE)
               .filter(Q(joined_at__isnull=True) | Q(joined_at__lte=send_at)).values_list("pk", flat=True))
    wanted = [pk for pk, frequency in frequencies_for(ids, Kind.DIGEST).items() if frequency == Frequency.WEEKLY]
    have = set(Delivery.objects.filter(kind=Kind.DIGEST, period=week, ambassador_id__in=wanted)
               .values_list("ambassador_id", flat=True))
    remaining = [pk for pk in wanted if pk not in have]
    created = 0
    if remaining:
        board = week_board(organization, period)
        campaigns = announced_campaigns(period, now)
        groups = groups_of(remaining) if campaigns else {}
        rows = [Delivery(organization=organization, key=f"digest:email:{pk}:{week}", kind=Kind.DIGEST,
                         channel=DeliveryChannel.EMAIL, ambassador_id=pk, period=week, due_at=now)
                for pk in remaining
                if has_news(board.get(pk), [c for c in campaigns if meant_for(c, groups.get(pk, set()))])]
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        created = len(rows)
    cache.set(done_marker, 1, timeout=int(CATCH_UP.total_seconds()))
    return created


# --- The e-mail ----------------------------------------------------------------------------------

def digest_context(ambassador: Ambassador, period: Period, *, now: datetime | None = None,
                   prepared: tuple[list[Campaign], dict] | None = None) -> dict:
    """Everything the digest of `ambassador` for `period` shows (inside the organisation's scope).
    `prepared`: the ambassador's campaigns of the week and their links, from prepare_digests."""
    now = now or timezone.now()
    organization = ambassador.organization
    board = week_board(organization, period)
    row = board.get(ambassador.pk)
    if prepared is None:
        my_groups = groups_of([ambassador.pk]).get(ambassador.pk, set())
        prepared = ([c for c in announced_campaigns(period, now) if meant_for(c, my_groups)], {})
    campaigns, links = prepared
    return {
        "ambassador": ambassador,
        "organization": organization,
        "period": period,
        "week": week_key(period),
        "period_label": f"{period.start:%-d %b} – {period.end:%-d %b %Y}",
        "figures": digest_figures(row, len(board)),
        "campaigns": [campaign_share(ambassador, campaign, org_slug=organization.slug, link=links.get(campaign.pk))
                      for campaign in campaigns],
        "portal_url": site_url(reverse("org_home", kwargs={"org_slug": organization.slug})),
        **footer_context(ambassador, Kind.DIGEST),
    }


def prepare_digests(rows: list[Delivery]) -> None:
    """Once per batch of digest rows (the e-mail sender's `prepare`): each week's campaigns, the
    ambassadors' groups and their existing links in a few queries, instead of a few per e-mail."""
    now = timezone.now()
    weeks: dict[tuple[int, str], list[Delivery]] = {}
    for row in rows:
        if row.period:
            weeks.setdefault((row.organization_id, row.period), []).append(row)
    groups = groups_of({row.ambassador_id for row in rows})
    for (_, week), week_rows in weeks.items():
        campaigns = announced_campaigns(week_period(week, week_rows[0].organization.tzinfo), now)
        links = {(link.ambassador_id, link.campaign_id): link for link in TrackedLink.objects.filter(
            campaign_id__in=[c.pk for c in campaigns], ambassador_id__in={r.ambassador_id for r in week_rows})}
        for row in week_rows:
            mine = [c for c in campaigns if meant_for(c, groups.get(row.ambassador_id, set()))]
            row.prepared_digest = (mine, {c.pk: links.get((row.ambassador_id, c.pk)) for c in mine})


@register_email(Kind.DIGEST, prepare=prepare_digests)
def render_digest(ambassador: Ambassador, deliveries: list[Delivery]) -> RenderedEmail:
    """One e-mail for the newest week among the claimed rows (more than one only if a whole week's
    sending was missed; the newest week's figures stand for them)."""
    organization = ambassador.organization
    newest = max((d for d in deliveries if d.period), key=lambda d: d.period, default=None)
    period = (week_period(newest.period, organization.tzinfo) if newest is not None
              else last_week(organization.tzinfo, timezone.now()))
    context = digest_context(ambassador, period, prepared=getattr(newest, "prepared_digest", None))
    count = len(context["campaigns"])
    subject = (f"Your week at {organization.name}: {count} new campaign{'s' if count != 1 else ''} to share"
               if count else f"Your week at {organization.name}, {context['period_label']}")
    return render_email("digest", subject, context)
