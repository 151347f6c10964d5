"""The demo's campaigns and what they give ambassadors to post: a featured launch with three
variants per network, customer stories ending within the week, a series that started two days
ago, an ended hiring drive and a draft. Dates are relative to the moment of seeding."""

from dataclasses import dataclass, field

from campaigns.channels import Channel
from campaigns.models import CampaignStatus

ALL, SALES_AND_EXTERNAL, FIRST_TWO_INTERNAL, NOBODY = "all", "sales+external", "first-two-internal", "nobody"


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    slug: str
    status: str
    starts_in_days: float | None  # negative: started that many days ago
    ends_in_days: float | None  # negative: ended that many days ago; None: open-ended
    targets: str  # one of the audiences above, resolved against the organisation's groups
    featured: bool = False
    # {channel: [(subject, text), …]}: 1–5 variants per network; {name} is the campaign's name.
    posts: dict = field(default_factory=dict)


STANDARD_POSTS = {
    Channel.LINKEDIN: [("", "We just launched {name} — here is what it means for teams like yours: {link}")],
    Channel.X: [("", "New from us: {name}. Worth a look {link}")],
    Channel.FACEBOOK: [("", "Proud of the team: {name} is live! {link}")],
    Channel.EMAIL: [("{name}", "Hi,\n\nI thought you might like this: {name}.\n\n{link}\n\nBest")],
    Channel.WHATSAPP: [("", "Have a look at this 👉 {link}")],
}

LAUNCH_POSTS = {
    Channel.LINKEDIN: [
        ("", "We just launched {name} — here is what it means for teams like yours: {link}"),
        ("", "Six months of work with our customers went into {name}. The part I'm proudest of: dashboards that "
             "load in under a second, even on a year of data. Have a look: {link}"),
        ("", "If your team still copies numbers from one spreadsheet to another every Monday morning, {name} is "
             "for you. {link}"),
    ],
    Channel.X: [
        ("", "New from us: {name}. Worth a look {link}"),
        ("", "{name} is out: faster dashboards, fewer spreadsheets. {link}"),
        ("", "Shipped today 🚀 {name} {link}"),
    ],
    Channel.FACEBOOK: [
        ("", "Proud of the team: {name} is live! {link}"),
        ("", "Big day at work: {name} is finally out. {link}"),
    ],
    Channel.EMAIL: [
        ("{name}", "Hi,\n\nI thought you might like this: {name}.\n\n{link}\n\nBest"),
        ("Something we just released", "Hi,\n\nWe just released {name}. Five minutes will tell you whether it "
                                       "helps your team:\n\n{link}\n\nHappy to walk you through it."),
        ("Remember our chat about reporting?", "Hi,\n\nThis is what we built for the Monday-morning reporting "
                                               "problem we talked about: {link}\n\nCheers"),
    ],
    Channel.WHATSAPP: [
        ("", "Have a look at this 👉 {link}"),
        ("", "This is what I've been working on for months 😊 {link}"),
    ],
}

STORY_POSTS = {
    Channel.LINKEDIN: [
        ("", "Our customers tell it better than we do. {name}: {link}"),
        ("", "Three teams, three very different problems, one thing in common. {name}: {link}"),
    ],
    Channel.X: [
        ("", "{name}: real teams, real numbers. {link}"),
        ("", "Don't take our word for it {link}"),
    ],
    Channel.FACEBOOK: [
        ("", "Love reading these: {name} {link}"),
        ("", "Our customers, in their own words: {link}"),
    ],
    Channel.EMAIL: [
        ("{name}", "Hi,\n\nA few of our customers wrote about what changed for them: {link}\n\nBest"),
        ("Stories from teams like yours", "Hi,\n\nI thought of you when I read these: {link}\n\nBest"),
    ],
    Channel.WHATSAPP: [
        ("", "Nice read 👉 {link}"),
        ("", "Real customers, real numbers: {link}"),
    ],
}

CAMPAIGNS = [
    CampaignSpec("Spring product launch", "spring-launch", CampaignStatus.ACTIVE, -80, None, ALL, featured=True,
                 posts=LAUNCH_POSTS),
    CampaignSpec("Customer stories", "customer-stories", CampaignStatus.ACTIVE, -35, 5, SALES_AND_EXTERNAL,
                 posts=STORY_POSTS),
    CampaignSpec("Analytics 101 video series", "analytics-101", CampaignStatus.ACTIVE, -2, None, ALL,
                 posts=STANDARD_POSTS),
    CampaignSpec("Hiring: engineers", "hiring-engineers", CampaignStatus.ENDED, -90, -45, FIRST_TWO_INTERNAL,
                 posts=STANDARD_POSTS),
    CampaignSpec("Autumn webinar", "autumn-webinar", CampaignStatus.DRAFT, None, None, NOBODY, posts=STANDARD_POSTS),
]


def audience(targets: str, internal: list, external: list) -> list:
    """The groups a campaign targets. `internal` and `external` in creation order: the first
    internal group is the sales team, where the demo ambassador works."""
    if targets == ALL:
        return [*internal, *external]
    if targets == NOBODY:  # a draft: no one yet (an empty list would mean everyone once it is published)
        return []
    if targets == SALES_AND_EXTERNAL:
        return [internal[0], *external]
    if targets == FIRST_TWO_INTERNAL:
        return internal[:2]
    raise ValueError(f"Unknown audience {targets!r}")
