"""Demo campaigns and 90 days of realistic activity for one organisation: the campaigns of
demo.content with their post variants, a spend ledger and (the featured one) a picture, a link
per targeted ambassador, shares (each with the ambassador's post variant), and the clicks those
shares drew — preview bots right after a share, repeat visitors, several channels, ambassadors
clicking their own links — recorded as raw clicks and then run through the real click
processing, so every rollup is what production would compute."""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from ambassadors.models import Ambassador, AmbassadorGroup, Kind, Status
from campaigns.channels import Channel
from campaigns.models import Campaign, CampaignCost, CampaignStatus, CostCategory
from campaigns.services.content import add_message
from campaigns.services.links import link_for, record_share
from campaigns.share import variant_for
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import PortalVisitor, RawClick
from tracking.services.click_processing import process_pending

from .content import CAMPAIGNS, CampaignSpec, audience
from .images import add_banner

HUMAN_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 "
    "Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
    "Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 "
    "Edg/131.0.0.0",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
    "Safari/537.36 [LinkedInApp]",
]
PREVIEW_BOTS = {
    Channel.LINKEDIN: "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    Channel.X: "Twitterbot/1.0",
    Channel.FACEBOOK: "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    Channel.WHATSAPP: "WhatsApp/2.23.20.0",
    Channel.EMAIL: "Mozilla/5.0 (compatible; Slackbot-LinkExpanding 1.0; +https://api.slack.com/robots)",
}
REFERRERS = {
    Channel.LINKEDIN: ["www.linkedin.com", "lnkd.in", ""],
    Channel.X: ["t.co", "x.com", ""],
    Channel.FACEBOOK: ["m.facebook.com", "l.facebook.com", "www.facebook.com"],
    Channel.WHATSAPP: ["", "wa.me"],
    Channel.EMAIL: ["", "mail.google.com", "outlook.live.com"],
}
SHARE_WEIGHTS = {Channel.LINKEDIN: 5, Channel.X: 2, Channel.FACEBOOK: 1, Channel.EMAIL: 2, Channel.WHATSAPP: 1}


def seed_campaigns(org, rng: random.Random, *, scale: int = 1, site: str = "https://www.example.com",
                   scripted: frozenset[int] = frozenset()) -> dict:
    """Campaigns (demo.content), links, shares and raw clicks for `org` (inside its tenant scope),
    then the clicks processed into rollups. Ambassadors in `scripted` get no random activity (the
    demo ambassador's history is written by demo.ambassador_history). Returns a few counts."""
    now = timezone.now()
    internal, external = groups_by_kind()
    campaigns = [create_campaign(org, spec, rng, now, site, internal, external) for spec in CAMPAIGNS]
    for campaign in campaigns:
        if campaign.featured:  # a picture to post with it, as an admin would upload
            add_banner(campaign, org.name)

    ambassadors = list(Ambassador.objects.filter(status__in=[Status.ACTIVE, Status.PAUSED])
                       .exclude(pk__in=scripted).order_by("pk").prefetch_related("groups"))
    # A few ambassadors use the portal in the same browser they click their own links from.
    own_visitor = {}
    for ambassador in ambassadors:
        if ambassador.user_id and rng.random() < 0.3:
            own_visitor[ambassador.pk] = new_visitor_id()
            PortalVisitor.objects.get_or_create(user_id=ambassador.user_id, visitor_id=own_visitor[ambassador.pk])

    visitors = [new_visitor_id() for _ in range(400 * scale)]  # a shared audience: people click several links
    raw, shares, links = [], 0, 0
    for campaign in campaigns:
        window = share_window(campaign, now)
        if window is None:
            continue
        # Most targeted ambassadors take part; in a campaign's first days, fewer have yet.
        taking_part = 0.85 if window[1] >= 7 else 0.35
        target_ids = {g.pk for g in campaign.target_groups.all()}
        messages = list(campaign.messages.all())
        for ambassador in ambassadors:
            if target_ids and not target_ids & {g.pk for g in ambassador.groups.all()}:
                continue
            if rng.random() >= taking_part:
                continue
            link = link_for(ambassador=ambassador, campaign=campaign)
            links += 1
            activity = rng.choice([0.5, 1, 1, 2, 4])  # some ambassadors are far more active
            for _ in range(max(1, int(rng.randint(1, 4) * activity))):
                channel = rng.choices(list(SHARE_WEIGHTS), weights=list(SHARE_WEIGHTS.values()))[0]
                shared_at = now - timedelta(days=rng.uniform(*window))
                record_share(link=link, channel=channel, at=shared_at, message=variant_for(link, channel, messages))
                shares += 1
                raw += clicks_for_share(org, link, channel, shared_at, now, rng, visitors, scale,
                                        own_visitor.get(ambassador.pk))
    RawClick.objects.bulk_create(raw, batch_size=5000)
    return {"campaigns": len(campaigns), "links": links, "shares": shares, "clicks": process_all(org)}


def groups_by_kind() -> tuple[list[AmbassadorGroup], list[AmbassadorGroup]]:
    """The organisation's internal and external groups, each in creation order (a group holds
    ambassadors of one kind in the demo)."""
    groups = list(AmbassadorGroup.objects.order_by("pk"))
    internal_ids = set(AmbassadorGroup.objects.filter(ambassadors__kind=Kind.INTERNAL).values_list("pk", flat=True))
    return [g for g in groups if g.pk in internal_ids], [g for g in groups if g.pk not in internal_ids]


def create_campaign(org, spec: CampaignSpec, rng: random.Random, now, site: str, internal, external) -> Campaign:
    starts_at = now + timedelta(days=spec.starts_in_days) if spec.starts_in_days is not None else None
    ends_at = now + timedelta(days=spec.ends_in_days) if spec.ends_in_days is not None else None
    live_or_over = spec.status in (CampaignStatus.ACTIVE, CampaignStatus.ENDED) and starts_at and starts_at <= now
    campaign = Campaign.objects.create(
        organization=org, name=spec.name, slug=spec.slug, status=spec.status,
        description=f"{spec.name}: share it with your network.",
        destination_url=f"{site}/{spec.slug}?src=ambassadors",
        fallback_url=f"{site}/" if spec.status == CampaignStatus.ENDED else "",
        starts_at=starts_at, ends_at=ends_at, featured=spec.featured,
        # Seeding tells no one: a campaign already running counts as announced, so nothing is
        # written to the outbox and no ambassador is mailed about the demo's past.
        announced_at=starts_at if live_or_over else None,
        minutes_per_share=Decimal(rng.choice(["3.00", "5.00", "8.00"])),
    )
    campaign.target_groups.set(audience(spec.targets, internal, external))
    for channel, variants in spec.posts.items():
        for subject, text in variants:
            add_message(campaign, channel=channel, subject=subject.replace("{name}", spec.name),
                        text=text.replace("{name}", spec.name))
    if starts_at and starts_at <= now:
        started_days_ago = round((now - starts_at) / timedelta(days=1))
        ended_days_ago = max(0, round((now - ends_at) / timedelta(days=1))) if ends_at else 0
        for days_ago in range(started_days_ago, ended_days_ago, -14):
            CampaignCost.objects.create(
                organization=org, campaign=campaign, date=(now - timedelta(days=days_ago)).date(),
                category=rng.choice([CostCategory.MEDIA, CostCategory.PRODUCTION, CostCategory.TOOLS]),
                amount=Decimal(rng.randrange(5000, 60000)) / 100, note="Demo spend",
            )
    return campaign


def share_window(campaign: Campaign, now) -> tuple[float, float] | None:
    """(fewest, most) days ago a share of the campaign can have happened; None: not started."""
    if campaign.status == CampaignStatus.DRAFT or campaign.starts_at is None or campaign.starts_at > now:
        return None
    latest = (now - campaign.ends_at) / timedelta(days=1) if campaign.ends_at and campaign.ends_at < now else 0
    return max(latest, 0.0), (now - campaign.starts_at) / timedelta(days=1)


def process_all(org) -> int:
    """Run the real click processing until the organisation's raw clicks are all processed."""
    processed = 0
    while True:
        run = process_pending(org.pk)
        processed += run.inserted
        if not run.more:
            return processed


def clicks_for_share(org, link, channel, shared_at, now, rng, visitors, scale, own_visitor,
                     *, people: list[str] | None = None) -> list[RawClick]:
    """The raw clicks one share drew: link previews, people (0–14 × scale of the shared audience
    `visitors`, or exactly the visitors in `people`), some coming back, maybe the ambassador."""
    clicks = []

    def click(at, user_agent, visitor, referrer, hint, is_head=False):
        if at > now:
            return
        clicks.append(RawClick(
            organization=org, click_id=new_click_id(at.timestamp()), link_id=link.pk, clicked_at=at,
            visitor_id=visitor, ip_hash=f"{rng.getrandbits(128):032x}", user_agent=user_agent,
            referrer_host=referrer, channel_hint=hint, is_head=is_head,
        ))

    hint = channel if rng.random() < 0.7 else ""  # most shares use the network's own link variant
    # Link previews: the network fetches the link within seconds of the share (X: GET and HEADs).
    bot_at = shared_at + timedelta(seconds=rng.randint(1, 20))
    click(bot_at, PREVIEW_BOTS[channel], new_visitor_id(), "", hint)
    if channel == Channel.X:
        for _ in range(3):
            click(bot_at + timedelta(seconds=1), PREVIEW_BOTS[channel], new_visitor_id(), "", hint, is_head=True)
    # People: most within a day or two of the share, a long tail after.
    for n in range(len(people) if people is not None else int(rng.randint(0, 14) * scale)):
        visitor = people[n] if people is not None else rng.choice(visitors)
        at = shared_at + timedelta(hours=rng.expovariate(1 / 20))
        user_agent = rng.choice(HUMAN_AGENTS)
        click(at, user_agent, visitor, rng.choice(REFERRERS[channel]), hint)
        if rng.random() < 0.2:  # came back later
            click(at + timedelta(hours=rng.choice([1, 5, 30, 60])), user_agent, visitor, "", hint)
    if own_visitor and rng.random() < 0.5:  # checking that the link works
        click(shared_at + timedelta(minutes=2), HUMAN_AGENTS[0], own_visitor, "", hint)
    return clicks
