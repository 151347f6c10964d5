"""The demo ambassador's history (demo.people: the login README gives for the ambassador role).

Theirs is the first screen an evaluator sees as an ambassador, so it is written rather than
drawn: shares on several networks over the last three months, the clicks those shares drew
(link previews, people coming back, one check of their own link), two customers who came
through their links and bought — one of them in the last weeks — and then just enough recent
clicks to stand in the middle of the points leaderboard of the portal's default period (rank
12 of 25, or the nearest rank with room), above some colleagues and below the keenest.

Everything goes through the real paths: shares through campaigns' record_share, raw clicks
through the click processing, leads and sales through the ingestion services and the
attribution, the standing read with the portal's own selectors. The ambassador's visitors are
their own audience, so the other ambassadors' figures don't move. Run after the organisation's
campaigns, clicks and conversions (seed_demo's order)."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from campaigns.channels import Channel
from campaigns.models import Campaign
from campaigns.services.links import link_for, record_share
from campaigns.share import variant_for
from portal import selectors as portal_selectors
from reports.filters import ReportFilter
from reports.selectors.leaderboard import leaderboard
from reports.selectors.points import points_rules
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import Click, PortalVisitor, RawClick
from tracking.services.attribution import attribute_pending
from tracking.services.conversions import record_lead, record_sale

from .activity import HUMAN_AGENTS, REFERRERS, clicks_for_share, process_all
from .people import demo_ambassador

# (campaign slug, days ago, network): the older shares, then those of the portal's default period
# (30 days; none between 25 and 33 days ago, so the older shares' clicks stay out of it).
SHARES = [
    ("hiring-engineers", 84, Channel.LINKEDIN), ("spring-launch", 77, Channel.LINKEDIN),
    ("hiring-engineers", 66, Channel.EMAIL), ("spring-launch", 63, Channel.X),
    ("hiring-engineers", 51, Channel.LINKEDIN), ("spring-launch", 49, Channel.LINKEDIN),
    ("spring-launch", 38, Channel.EMAIL), ("customer-stories", 33, Channel.LINKEDIN),
    ("spring-launch", 22, Channel.LINKEDIN), ("customer-stories", 15, Channel.X),
    ("spring-launch", 11, Channel.WHATSAPP), ("spring-launch", 4, Channel.LINKEDIN),
]
RECENT_DAYS = 25
PREFERRED_RANKS = (12, 11, 13, 10, 14, 9, 15)  # of 25: the middle first, then outwards
OLD_SALE = Decimal("990.00")  # the annual plan the older customer bought, weeks ago
RECENT_SALE = Decimal("99.00")  # a monthly plan, last week (left out if it would lift them too high)
MAX_TOP_UPS = 3


@dataclass
class Share:
    link: object
    channel: str
    at: datetime


class _History:
    def __init__(self, org, ambassador, rng: random.Random, now: datetime):
        self.org, self.ambassador, self.rng, self.now = org, ambassador, rng, now
        self.prefix = f"{org.slug[:2].upper()}-REF"
        self.customers = 0
        self.sales = 0
        self.audience = [new_visitor_id() for _ in range(60)]  # their own circle: some click often

    # --- shares and clicks -----------------------------------------------------------------------
    def share_all(self) -> list[Share]:
        campaigns = {c.slug: c for c in Campaign.objects.prefetch_related("messages")}
        shares = []
        for slug, days_ago, channel in SHARES:
            campaign = campaigns.get(slug)
            if campaign is None:
                continue
            link = link_for(ambassador=self.ambassador, campaign=campaign)
            at = self.now - timedelta(days=days_ago, minutes=self.rng.randint(0, 600))
            record_share(link=link, channel=channel, at=at,
                         message=variant_for(link, channel, list(campaign.messages.all())))
            shares.append(Share(link, channel, at))
        return shares

    def click_all(self, shares: list[Share]) -> None:
        own = new_visitor_id()  # the browser they use the portal in: a click from it is a self-click
        PortalVisitor.objects.get_or_create(user_id=self.ambassador.user_id, visitor_id=own)
        raw = []
        for n, share in enumerate(shares):
            recent = share.at >= self.now - timedelta(days=RECENT_DAYS)
            # Older shares drew a handful of people each; recent ones start with two (the top-up adds).
            count = 2 if recent else self.rng.randint(4, 12)
            people = [self.rng.choice(self.audience) for _ in range(count)]
            raw += clicks_for_share(self.org, share.link, share.channel, share.at, self.now, self.rng, [], 1,
                                    own if n == len(shares) - 4 else None, people=people)
        RawClick.objects.bulk_create(raw)
        process_all(self.org)

    def top_up(self, shares: list[Share], count: int) -> None:
        """`count` more people, each clicking once on one of the recent shares: unique clicks."""
        recent = [s for s in shares if s.at >= self.now - timedelta(days=RECENT_DAYS)]
        raw = []
        for _ in range(count):
            share = self.rng.choice(recent)
            at = share.at + timedelta(hours=self.rng.expovariate(1 / 20))
            at = min(at, self.now - timedelta(minutes=self.rng.randint(5, 600)))
            at = max(at, share.at + timedelta(minutes=1))
            raw.append(RawClick(
                organization=self.org, click_id=new_click_id(at.timestamp()), link_id=share.link.pk, clicked_at=at,
                visitor_id=new_visitor_id(), ip_hash=f"{self.rng.getrandbits(128):032x}",
                user_agent=self.rng.choice(HUMAN_AGENTS), referrer_host=self.rng.choice(REFERRERS[share.channel]),
                channel_hint=share.channel,
            ))
        RawClick.objects.bulk_create(raw)
        process_all(self.org)

    # --- customers ------------------------------------------------------------------------------
    def first_click_after(self, share: Share) -> Click:
        """A person's click on the share's link: the one the customer came through."""
        return (Click.objects.filter(link_id=share.link.pk, is_bot=False, is_self=False, clicked_at__gte=share.at)
                .order_by("clicked_at", "pk").first())

    def customer(self, share: Share, name: str, company: str, *, lead_after: timedelta) -> tuple[str, datetime]:
        click = self.first_click_after(share)
        self.customers += 1
        external_id = f"{self.prefix}-{self.customers:04d}"
        lead_at = min(click.clicked_at + lead_after, self.now - timedelta(minutes=30))
        first, last = name.split()
        record_lead(self.org, click_id=click.click_id, email=f"{first}.{last}@{company}.example".lower(),
                    customer_external_id=external_id, name=name, occurred_at=lead_at)
        return external_id, lead_at

    def sale(self, external_id: str, amount: Decimal, at: datetime) -> None:
        self.sales += 1
        record_sale(self.org, customer_external_id=external_id, amount=amount, currency=self.org.currency,
                    invoice_id=f"{self.prefix}-INV-{self.sales:04d}", occurred_at=at)

    def attribute(self) -> None:
        while attribute_pending(self.org.pk).more:
            pass

    # --- the standing ---------------------------------------------------------------------------
    def report_filter(self) -> ReportFilter:
        return ReportFilter(self.org.pk, portal_selectors.portal_period(None, self.org.tzinfo))

    def points(self) -> Decimal:
        return portal_selectors.standing(self.report_filter(), self.ambassador.pk).figures.points

    def others(self) -> list[Decimal]:
        """The other ranked ambassadors' points in the default period, best first."""
        rows = leaderboard(self.report_filter(), "points")
        return [row.points for row in rows if row.ambassador_id != self.ambassador.pk]

    def clicks_for_middle(self, points: Decimal, others: list[Decimal], step: Decimal) -> int | None:
        """How many more unique clicks (worth `step` points each) put the ambassador strictly
        between two colleagues, at the first of PREFERRED_RANKS with room; None if none has."""
        if step <= 0:
            return None
        for rank in PREFERRED_RANKS:
            if rank - 1 > len(others) or rank < 2:
                continue
            above, below = others[rank - 2], (others[rank - 1] if rank - 1 < len(others) else Decimal(0))
            middle = (above + below) / 2
            for extra in sorted({max(0, int((middle - points) / step) + d) for d in (0, 1, -1)}):
                if below < points + extra * step < above:
                    return extra
        return None

    def run(self) -> dict:
        shares = self.share_all()
        self.click_all(shares)
        by_days = {round((self.now - s.at) / timedelta(days=1)): s for s in shares}
        # Weeks ago: a reader of the launch post signed up the next day and bought the annual plan.
        old_id, old_lead = self.customer(by_days[49], "Marta Kowalski", "bluepeak", lead_after=timedelta(hours=26))
        self.sale(old_id, OLD_SALE, old_lead + timedelta(days=8))
        # Recently: a contact from the LinkedIn post of three weeks ago asked for a trial.
        recent_id, recent_lead = self.customer(by_days[22], "Jonah Whitfield", "driftwood",
                                               lead_after=timedelta(hours=3))
        self.attribute()
        rules = points_rules(self.org.pk)
        others = self.others()
        sale_points = RECENT_SALE * rules.per_revenue_unit
        if self.clicks_for_middle(self.points() + sale_points, others, rules.per_unique_click) is not None:
            self.sale(recent_id, RECENT_SALE, min(recent_lead + timedelta(days=9), self.now - timedelta(hours=2)))
            self.attribute()
        for _ in range(MAX_TOP_UPS):  # once is enough unless a click was taken for a bot
            extra = self.clicks_for_middle(self.points(), others, rules.per_unique_click)
            if not extra:
                break
            self.top_up(shares, extra)
        standing = portal_selectors.standing(self.report_filter(), self.ambassador.pk)
        return {"email": self.ambassador.email, "shares": len(shares), "customers": self.customers, "sales": self.sales,
                "points": standing.figures.points, "rank": standing.figures.rank, "ranked": standing.figures.ranked}


def seed_ambassador_history(org, rng: random.Random, *, now: datetime | None = None) -> dict | None:
    """Write the demo ambassador's history in `org` (inside its tenant scope); None if the
    organisation has no demo ambassador. Returns a few figures for the command's output."""
    ambassador = demo_ambassador(org)
    if ambassador is None:
        return None
    return _History(org, ambassador, rng, now or timezone.now()).run()


def history_rng(seed: int, org) -> random.Random:
    return random.Random(f"{seed}:demo-ambassador:{org.slug}")
