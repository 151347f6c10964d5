"""Public short URLs of links and the share intents of each network.

A link answers at SITE_URL/l/<code>; a channel variant adds the channel's suffix
(/l/<code>/li) so the redirect knows where the click came from even without a referrer."""

import re
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .channels import CHANNEL_TO_SUFFIX, SHARE_CHANNELS, Channel
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


class TextMode:
    """How a network's share dialog takes the post (share.js applies the same two rules to the
    post as the ambassador edited it, so the two stay in step)."""

    NONE = "none"  # only the URL (LinkedIn, Facebook read the page's preview; the person writes the text)
    SEPARATE = "separate"  # the text without the link, the URL apart (X appends it)
    WITH_LINK = "with_link"  # the whole post with the link in it (e-mail, WhatsApp)


# Each network's dialog address; {text} and {url} are replaced by the URL-encoded post and link
# ({subject} is filled in by the server: it is not editable).
INTENT_TEMPLATES = {
    Channel.LINKEDIN: ("https://www.linkedin.com/sharing/share-offsite/?url={url}", TextMode.NONE),
    Channel.FACEBOOK: ("https://www.facebook.com/sharer/sharer.php?u={url}", TextMode.NONE),
    Channel.X: ("https://x.com/intent/post?text={text}&url={url}", TextMode.SEPARATE),
    Channel.EMAIL: ("mailto:?subject={subject}&body={text}", TextMode.WITH_LINK),
    Channel.WHATSAPP: ("https://wa.me/?text={text}", TextMode.WITH_LINK),
}


def _intent_spec(channel: str) -> tuple[str, str]:
    try:
        return INTENT_TEMPLATES[channel]
    except KeyError:
        raise ValueError(f"“{channel}” has no share dialog.") from None


def text_for_dialog(text: str, url: str, mode: str) -> str:
    """The post as the dialog receives it: without the link for X (every copy of it taken out,
    spaces tidied, line breaks kept), with the link for e-mail and WhatsApp (appended if the
    ambassador removed it: the tracked link is the point of the share)."""
    if mode == TextMode.SEPARATE:
        text = re.sub(r"[ \t]+", " ", text.replace(url, " ") if url else text)
        return re.sub(r" ?\n ?", "\n", text).strip()
    if mode == TextMode.WITH_LINK:
        text = text.strip()
        if url in text:
            return text
        return f"{text} {url}" if text else url
    return ""


def intent_template(channel: str, *, subject: str = "") -> str:
    """The dialog address of `channel` with {text} and {url} left to fill (the subject filled in)."""
    template, _ = _intent_spec(channel)
    return template.replace("{subject}", _q(subject))


def fill_intent(template: str, *, text: str, url: str) -> str:
    return template.replace("{text}", _q(text)).replace("{url}", _q(url))


def share_intent(channel: str, url: str, *, message=None, campaign_name: str = "", text: str | None = None) -> str:
    """The address that opens `channel`'s share dialog for `url`, pre-filled with the post where
    the network allows it: `text` if given (the ambassador's edit), else the suggested `message`
    (a CampaignMessage for that channel) with the link in it. The e-mail's subject is the
    message's, else the campaign's name."""
    _, mode = _intent_spec(channel)
    if text is None:
        text = message.render(url) if message is not None else ""
    subject = (message.subject if message is not None and message.subject else campaign_name) or ""
    return fill_intent(intent_template(channel, subject=subject), text=text_for_dialog(text, url, mode), url=url)


def variant_for(link, channel: str, messages) -> object | None:
    """The post variant of `channel` that this ambassador is given: the campaign's messages of the
    channel in the order they were written, the link's variant_seed-th (modulo their number). Seeds
    count the campaign's links, so consecutive ambassadors get different words, and each keeps
    theirs across page loads (unless an admin adds or removes a variant)."""
    variants = sorted((m for m in messages if m.channel == channel), key=lambda m: m.pk or 0)
    if not variants:
        return None
    return variants[(link.variant_seed or 0) % len(variants)]


def variants_of(link, messages) -> dict[str, object]:
    """The ambassador's post variant per channel (channels without a suggested post left out)."""
    channels = {m.channel for m in messages}
    return {channel: variant_for(link, channel, messages) for channel in channels}


BUTTON_LABELS = {Channel.EMAIL: "Send by e-mail", Channel.WHATSAPP: "Send on WhatsApp"}


@dataclass(frozen=True)
class ShareOption:
    channel: str
    label: str
    url: str  # the channel's short URL
    intent_url: str  # the dialog with the suggested post (the no-JavaScript path and the API)
    message: object | None  # the CampaignMessage variant this ambassador is given, if any
    text: str  # that post with this channel's link in it ("" without a message)
    subject: str
    intent_template: str  # intent_url with {text} and {url} to fill (share.js, with the edited post)
    text_mode: str  # TextMode

    @property
    def takes_text(self) -> bool:
        return self.text_mode != TextMode.NONE

    @property
    def button_label(self) -> str:
        return BUTTON_LABELS.get(self.channel, f"Share on {self.label}")


def share_options(link, campaign, messages=None) -> list[ShareOption]:
    """Everything a share button needs, per network, with this ambassador's post variants.
    `messages`: the campaign's messages if already loaded (avoids a query)."""
    if messages is None:
        messages = list(campaign.messages.all())
    options = []
    for channel in SHARE_CHANNELS:
        url = short_url(link, channel)
        message = variant_for(link, channel, messages)
        subject = (message.subject if message is not None and message.subject else campaign.name) or ""
        options.append(ShareOption(
            channel=str(channel), label=Channel(channel).label, url=url,
            intent_url=share_intent(channel, url, message=message, campaign_name=campaign.name),
            message=message, text=message.render(url) if message is not None else "",
            subject=(message.subject if message is not None else ""),
            intent_template=intent_template(channel, subject=subject), text_mode=_intent_spec(channel)[1],
        ))
    return options


def option_for(link, campaign, channel: str, messages=None) -> ShareOption:
    for option in share_options(link, campaign, messages):
        if option.channel == channel:
            return option
    raise ValueError(f"“{channel}” is not a network you can share on.")


def rendered_messages(link, campaign, messages=None) -> list[dict]:
    """The ambassador's suggested post of each channel (their variant), with the channel's link in it."""
    if messages is None:
        messages = list(campaign.messages.all())
    order = list(CHANNEL_TO_SUFFIX)
    chosen = sorted(variants_of(link, messages).values(),
                    key=lambda m: (order.index(m.channel) if m.channel in order else 99, m.pk or 0))
    return [{"channel": m.channel, "subject": m.subject, "text": m.render(short_url(link, m.channel))} for m in chosen]
