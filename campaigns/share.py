"""Public short URLs of links and the share intents of each network.

A link answers at SITE_URL/l/<code>; a channel variant adds the channel's suffix
(/l/<code>/li) so the redirect knows where the click came from even without a referrer."""

from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .channels import CHANNEL_TO_SUFFIX, LINK_PLACEHOLDER, SHARE_CHANNELS, Channel
from .codes import LINK_CODE_LENGTH


def _base() -> str:
    return settings.SITE_URL.rstrip("/")


def short_url_for_code(code: str, channel: str | None = None) -> str:
    url = f"{_base()}/l/{code}"
    suffix = CHANNEL_TO_SUFFIX.get(channel) if channel else None
    return f"{url}/{suffix}" if suffix else url


def short_url(link, channel: str | None = None) -> str:
    """The public short URL of a link, for a channel (its suffix) or plain (direct, QR codes)."""
    return short_url_for_code(link.code, channel)


def sample_short_url(channel: str | None = None) -> str:
    """A link of realistic length, for checking suggested posts against a network's limit."""
    return short_url_for_code("A" * LINK_CODE_LENGTH, channel)


_SHARE_ACTION_SALT = "campaigns.share-action"


def share_action_token(code: str, channel: str) -> str:
    """A signature of (link code, network): a GET of the share action records a share, so its
    address must not be forgeable by another site (an <img> pointing at it would count shares)."""
    return signing.Signer(salt=_SHARE_ACTION_SALT).sign(f"{code}:{channel}").rsplit(":", 1)[1]


def share_action_token_ok(code: str, channel: str, token: str) -> bool:
    try:
        signing.Signer(salt=_SHARE_ACTION_SALT).unsign(f"{code}:{channel}:{token}")
    except signing.BadSignature:
        return False
    return True


def share_action_path(link, channel: str, *, org_slug: str) -> str:
    """The portal's share action for `link` on `channel`: the share buttons' plain href (what works
    without JavaScript) and the e-mails' buttons. Logged in as the link's ambassador, it records
    one share and opens the network's share dialog."""
    path = reverse("share_open", kwargs={"org_slug": org_slug, "code": link.code, "channel": channel})
    return f"{path}?t={share_action_token(link.code, channel)}"


def share_action_url(link, channel: str, *, org_slug: str) -> str:
    """share_action_path as an absolute address (e-mails)."""
    return f"{_base()}{share_action_path(link, channel, org_slug=org_slug)}"


def channel_urls(link) -> dict[str, str]:
    return {str(channel): short_url(link, channel) for channel in SHARE_CHANNELS}


def _q(value: str) -> str:
    return quote(value, safe="")


def _without_placeholder(text: str) -> str:
    return " ".join(text.replace(LINK_PLACEHOLDER, " ").split())


def share_intent(channel: str, url: str, *, message=None, campaign_name: str = "") -> str:
    """The address that opens `channel`'s share dialog for `url`, pre-filled with the
    suggested `message` (a CampaignMessage for that channel) where the network allows it.

    LinkedIn and Facebook take only the URL (they read the page's preview and let the
    person write the text); X takes the text and the URL separately (the {link}
    placeholder is dropped from the text, X appends the URL); e-mail and WhatsApp get the
    whole message with the link in place."""
    if channel == Channel.LINKEDIN:
        return f"https://www.linkedin.com/sharing/share-offsite/?url={_q(url)}"
    if channel == Channel.FACEBOOK:
        return f"https://www.facebook.com/sharer/sharer.php?u={_q(url)}"
    if channel == Channel.X:
        text = _without_placeholder(message.text) if message is not None else ""
        return f"https://x.com/intent/post?text={_q(text)}&url={_q(url)}" if text else \
            f"https://x.com/intent/post?url={_q(url)}"
    if channel == Channel.EMAIL:
        subject = (message.subject if message is not None and message.subject else campaign_name) or ""
        body = message.render(url) if message is not None else url
        return f"mailto:?subject={_q(subject)}&body={_q(body)}"
    if channel == Channel.WHATSAPP:
        text = message.render(url) if message is not None else url
        return f"https://wa.me/?text={_q(text)}"
    raise ValueError(f"“{channel}” has no share dialog.")


def first_message_per_channel(messages) -> dict[str, object]:
    """The suggested message of each channel (the first one written, when there are several)."""
    chosen: dict[str, object] = {}
    for message in sorted(messages, key=lambda m: (m.pk or 0)):
        chosen.setdefault(message.channel, message)
    return chosen


@dataclass(frozen=True)
class ShareOption:
    channel: str
    label: str
    url: str  # the channel's short URL
    intent_url: str
    message: object | None  # the CampaignMessage, if the campaign suggests one
    text: str  # the suggested post with this channel's link in it ("" without a message)
    subject: str


def share_options(link, campaign, messages=None) -> list[ShareOption]:
    """Everything a share button needs, per network. `messages`: the campaign's messages
    if already loaded (avoids a query)."""
    if messages is None:
        messages = list(campaign.messages.all())
    chosen = first_message_per_channel(messages)
    options = []
    for channel in SHARE_CHANNELS:
        url = short_url(link, channel)
        message = chosen.get(channel)
        options.append(ShareOption(
            channel=str(channel), label=Channel(channel).label, url=url,
            intent_url=share_intent(channel, url, message=message, campaign_name=campaign.name),
            message=message, text=message.render(url) if message is not None else "",
            subject=(message.subject if message is not None else ""),
        ))
    return options


def intent_for(link, campaign, channel: str, messages=None) -> str:
    for option in share_options(link, campaign, messages):
        if option.channel == channel:
            return option.intent_url
    raise ValueError(f"“{channel}” is not a network you can share on.")


def rendered_messages(link, campaign, messages=None) -> list[dict]:
    """Every suggested message of the campaign, with this link's channel URL in it."""
    if messages is None:
        messages = list(campaign.messages.all())
    return [
        {"channel": m.channel, "subject": m.subject, "text": m.render(short_url(link, m.channel))}
        for m in sorted(messages, key=lambda m: (list(CHANNEL_TO_SUFFIX).index(m.channel)
                                                  if m.channel in CHANNEL_TO_SUFFIX else 99, m.pk or 0))
    ]
