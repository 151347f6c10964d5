"""One-click share buttons for e-mails (digest, reminders): per network, the portal's signed share
action for the ambassador's own link (campaigns.share.share_action_url), which records the share
and opens the network's dialog once the ambassador is signed in."""

from dataclasses import dataclass

from campaigns.channels import SHARE_CHANNELS, Channel
from campaigns.services.links import get_or_create_link
from campaigns.share import BUTTON_LABELS, share_action_url, short_url


@dataclass(frozen=True)
class ShareButton:
    channel: str
    label: str
    url: str


@dataclass(frozen=True)
class CampaignShare:
    campaign: object
    link_url: str  # the ambassador's short link
    buttons: list[ShareButton]


def campaign_share(ambassador, campaign, *, org_slug: str, link=None) -> CampaignShare:
    """The ambassador's link for the campaign (`link` if already loaded, else made on first need)
    and a button per network."""
    if link is None:
        link, _ = get_or_create_link(ambassador=ambassador, campaign=campaign)
    buttons = [ShareButton(str(channel), BUTTON_LABELS.get(channel, f"Share on {Channel(channel).label}"),
                           share_action_url(link, channel, org_slug=org_slug)) for channel in SHARE_CHANNELS]
    return CampaignShare(campaign=campaign, link_url=short_url(link), buttons=buttons)
