"""The networks people share on, their short URL suffixes and message limits."""

from django.db import models


class Channel(models.TextChoices):
    LINKEDIN = "linkedin", "LinkedIn"
    X = "x", "X"
    FACEBOOK = "facebook", "Facebook"
    EMAIL = "email", "E-mail"
    WHATSAPP = "whatsapp", "WhatsApp"
    DIRECT = "direct", "Direct / other"


# /l/<code>/<suffix> marks the channel a link was shared on.
SUFFIX_TO_CHANNEL = {"li": Channel.LINKEDIN, "x": Channel.X, "fb": Channel.FACEBOOK, "em": Channel.EMAIL,
                     "wa": Channel.WHATSAPP}
CHANNEL_TO_SUFFIX = {channel: suffix for suffix, channel in SUFFIX_TO_CHANNEL.items()}
SHARE_CHANNELS = [Channel.LINKEDIN, Channel.X, Channel.FACEBOOK, Channel.EMAIL, Channel.WHATSAPP]

# Maximum post length per network, and how a link counts towards it (X counts every
# URL as 23 characters, whatever its length; the others count the URL as written).
MESSAGE_LIMITS = {
    Channel.LINKEDIN: 3000,
    Channel.X: 280,
    Channel.FACEBOOK: 63206,
    Channel.EMAIL: 10000,
    Channel.WHATSAPP: 65536,
}
X_URL_LENGTH = 23
LINK_PLACEHOLDER = "{link}"


def message_length(text: str, channel: str, link: str) -> int:
    """The length a network counts for `text` once the link is in it (appended when the
    text has no {link} placeholder)."""
    link_length = X_URL_LENGTH if channel == Channel.X else len(link)
    if LINK_PLACEHOLDER in text:
        return len(text.replace(LINK_PLACEHOLDER, "")) + link_length * text.count(LINK_PLACEHOLDER)
    return len(text) + 1 + link_length  # a space, then the link


# Referrer hosts that reveal the network a click came from (subdomains included).
REFERRER_CHANNELS = {
    "linkedin.com": Channel.LINKEDIN, "lnkd.in": Channel.LINKEDIN,
    "t.co": Channel.X, "x.com": Channel.X, "twitter.com": Channel.X,
    "facebook.com": Channel.FACEBOOK, "fb.me": Channel.FACEBOOK, "fb.com": Channel.FACEBOOK,
    "messenger.com": Channel.FACEBOOK,
    "wa.me": Channel.WHATSAPP, "whatsapp.com": Channel.WHATSAPP,
}


def channel_from_referrer(host: str) -> str | None:
    host = (host or "").lower().rstrip(".")
    while host:
        if host in REFERRER_CHANNELS:
            return REFERRER_CHANNELS[host]
        _, _, host = host.partition(".")
    return None


def resolve_channel(hint: str | None, referrer_host: str) -> str:
    """The channel of a click: the link's suffix if it had one, else the referrer's network, else direct."""
    return hint or channel_from_referrer(referrer_host) or Channel.DIRECT
