"""Demo campaigns and 90 days of realistic activity for one organisation: campaigns with
suggested posts and a spend ledger, a link per targeted ambassador, shares, and the clicks
those shares drew — preview bots right after a share, repeat visitors, several channels,
ambassadors clicking their own links — recorded as raw clicks and then run through the
real click processing, so every rollup is what production would compute."""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from ambassadors.models import Ambassador, AmbassadorGroup, Status
from campaigns.channels import Channel
from campaigns.models import Campaign, CampaignCost, CampaignMessage, CampaignStatus, CostCategory, ShareEvent
from campaigns.services.links import link_for
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import PortalVisitor, RawClick
from tracking.services.click_processing import process_pending

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

MESSAGES = {
    Channel.LINKEDIN: "We just launched {name} — here is what it means for teams like yours: {link}",
    Channel.X: "New from us: {name}. Worth a look {link}",
    Channel.FACEBOOK: "Proud of the team: {name} is live! {link}",
    Channel.EMAIL: "Hi,\n\nI thought you might like this: {name}.\n\n{link}\n\nBest",
    Channel.WHATSAPP: "Have a look at this 👉 {link}",
}


def seed_campaigns(org, rng: random.Random, *, scale: int = 1, site: str = "https://www.example.com") -> dict:
    """Campaigns, links, shares and raw clicks for `org` (inside its tenant scope), then
    the clicks processed into rollups. Returns a few counts for the command's output."""
    now = timezone.now()
    groups = list(AmbassadorGroup.objects.all())
    specs = [
        ("Spring product launch", "spring-launch", CampaignStatus.ACTIVE, 80, None, groups),
        ("Customer stories", "customer-stories", CampaignStatus.ACTIVE, 35, None, groups[len(groups) // 2:]),
        ("Hiring: engineers", "hiring-engineers", CampaignStatus.ENDED, 90, 45, groups[:2]),
        ("Autumn webinar", "autumn-webinar", CampaignStatus.DRAFT, None, None, []),
    ]
    campaigns = []
    for name, slug, status, started_days_ago, ended_days_ago, targets in specs:
        campaign = Campaign.objects.create(
            organization=org, name=name, slug=slug, status=status,
            description=f"{name}: share it with your network.",
            destination_url=f"{site}/{slug}?src=ambassadors",
            fallback_url=f"{site}/" if status == CampaignStatus.ENDED else "",
            starts_at=now - timedelta(days=started_days_ago) if started_days_ago else None,
            ends_at=now - timedelta(days=ended_days_ago) if ended_days_ago else None,
            minutes_per_share=Decimal(rng.choice(["3.00", "5.00", "8.00"])),
        )
        campaign.target_groups.set(targets)
        for channel, text in MESSAGES.items():
            CampaignMessage.objects.create(organization=org, campaign=campaign, channel=channel,
                                           subject=name if channel == Channel.EMAIL else "",
                                           text=text.replace("{name}", name))
        if started_days_ago:
            for days_ago in range(started_days_ago, (ended_days_ago or 0), -14):
                CampaignCost.objects.create(
                    organization=org, campaign=campaign, date=(now - timedelta(days=days_ago)).date(),
                    category=rng.choice([CostCategory.MEDIA, CostCategory.PRODUCTION, CostCategory.TOOLS]),
                    amount=Decimal(rng.randrange(5000, 60000)) / 100, note="Demo spend",
                )
        campaigns.append((campaign, started_days_ago, ended_days_ago))

    ambassadors = list(Ambassador.objects.filter(status__in=[Status.ACTIVE, Status.PAUSED]).prefetch_related("groups"))
    # A few ambassadors use the portal in the same browser they click their own links from.
    own_visitor = {}
    for ambassador in ambassadors:
        if ambassador.user_id and rng.random() < 0.3:
            own_visitor[ambassador.pk] = new_visitor_id()
            PortalVisitor.objects.get_or_create(user_id=ambassador.user_id, visitor_id=own_visitor[ambassador.pk])

    visitors = [new_visitor_id() for _ in range(400 * scale)]  # a shared audience: people click several links
    raw, shares, links = [], 0, 0
    for campaign, started_days_ago, ended_days_ago in campaigns:
        if not started_days_ago:
            continue
        target_ids = {g.pk for g in campaign.target_groups.all()}
        for ambassador in ambassadors:
            if target_ids and not target_ids & {g.pk for g in ambassador.groups.all()}:
                continue
            if rng.random() < 0.15:
                continue  # not everyone takes part
            link = link_for(ambassador=ambassador, campaign=campaign)
            links += 1
            activity = rng.choice([0.5, 1, 1, 2, 4])  # some ambassadors are far more active
            for _ in range(max(1, int(rng.randint(1, 4) * activity))):
                channel = rng.choices(list(SHARE_WEIGHTS), weights=list(SHARE_WEIGHTS.values()))[0]
                shared_at = now - timedelta(days=rng.uniform(ended_days_ago or 0, started_days_ago),
                                            minutes=rng.randint(0, 600))
                ShareEvent.objects.create(organization=org, link=link, campaign=campaign, ambassador=ambassador,
                                          channel=channel, shared_at=shared_at)
                shares += 1
                raw += clicks_for_share(org, link, channel, shared_at, now, rng, visitors, scale,
                                        own_visitor.get(ambassador.pk))
    RawClick.objects.bulk_create(raw, batch_size=5000)
    processed = 0
    while True:
        run = process_pending(org.pk)
        processed += run.inserted
        if not run.more:
            break
    return {"campaigns": len(campaigns), "links": links, "shares": shares, "clicks": processed}


def clicks_for_share(org, link, channel, shared_at, now, rng, visitors, scale, own_visitor) -> list[RawClick]:
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
    for _ in range(int(rng.randint(0, 14) * scale)):
        visitor = rng.choice(visitors)
        at = shared_at + timedelta(hours=rng.expovariate(1 / 20))
        user_agent = rng.choice(HUMAN_AGENTS)
        click(at, user_agent, visitor, rng.choice(REFERRERS[channel]), hint)
        if rng.random() < 0.2:  # came back later
            click(at + timedelta(hours=rng.choice([1, 5, 30, 60])), user_agent, visitor, "", hint)
    if own_visitor and rng.random() < 0.5:  # checking that the link works
        click(shared_at + timedelta(minutes=2), HUMAN_AGENTS[0], own_visitor, "", hint)
    return clicks
