"""Share intents: the right address per network, the channel's short URL, the suggested post, encoded."""

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from campaigns.models import Campaign, CampaignMessage, TrackedLink
from campaigns.share import channel_urls, share_intent, share_options, short_url

URL = "https://amb.example.com/l/Ab3dE9xZ/li"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://amb.example.com/"


def test_short_urls_per_channel():
    link = TrackedLink(code="Ab3dE9xZ")
    assert short_url(link) == "https://amb.example.com/l/Ab3dE9xZ"
    assert short_url(link, "linkedin") == URL
    assert short_url(link, "direct") == "https://amb.example.com/l/Ab3dE9xZ"
    assert channel_urls(link)["whatsapp"] == "https://amb.example.com/l/Ab3dE9xZ/wa"


def test_linkedin_and_facebook_take_the_url():
    assert share_intent("linkedin", URL) == \
        "https://www.linkedin.com/sharing/share-offsite/?url=https%3A%2F%2Famb.example.com%2Fl%2FAb3dE9xZ%2Fli"
    assert share_intent("facebook", URL) == \
        "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Famb.example.com%2Fl%2FAb3dE9xZ%2Fli"


def test_x_gets_the_text_and_the_url_separately():
    message = CampaignMessage(channel="x", text="50% off & free #swag: {link} 🎉")
    intent = share_intent("x", URL, message=message)
    assert intent.startswith("https://x.com/intent/post?text=")
    query = parse_qs(urlsplit(intent).query)
    assert query == {"text": ["50% off & free #swag: 🎉"], "url": [URL]}
    assert "%23swag" in intent and "%26" in intent and "+" not in intent
    assert share_intent("x", URL) == f"https://x.com/intent/post?url={URL.replace(':', '%3A').replace('/', '%2F')}"


def test_email_and_whatsapp_carry_the_whole_message():
    message = CampaignMessage(channel="email", subject="Hello & welcome", text="Line one\nJoin: {link}")
    mail = share_intent("email", URL, message=message, campaign_name="Spring")
    assert mail.startswith("mailto:?subject=Hello%20%26%20welcome&body=")
    body = unquote(mail.split("&body=")[1])
    assert body == f"Line one\nJoin: {URL}"
    assert share_intent("email", URL, campaign_name="Spring webinar") == \
        f"mailto:?subject=Spring%20webinar&body={URL.replace(':', '%3A').replace('/', '%2F')}"
    whatsapp = share_intent("whatsapp", URL, message=CampaignMessage(channel="whatsapp", text="Look"))
    assert whatsapp == "https://wa.me/?text=Look%20https%3A%2F%2Famb.example.com%2Fl%2FAb3dE9xZ%2Fli"


def test_each_option_uses_its_own_channel_url_and_message():
    campaign = Campaign(name="Spring")
    link = TrackedLink(code="Ab3dE9xZ")
    messages = [CampaignMessage(pk=1, channel="whatsapp", text="Hey {link}"),
                CampaignMessage(pk=2, channel="whatsapp", text="Second variant {link}")]
    options = {o.channel: o for o in share_options(link, campaign, messages)}
    assert list(options) == ["linkedin", "x", "facebook", "email", "whatsapp"]
    assert options["whatsapp"].text == "Hey https://amb.example.com/l/Ab3dE9xZ/wa"
    assert "%2Fwa" in options["whatsapp"].intent_url
    assert options["linkedin"].text == "" and options["linkedin"].url.endswith("/li")


def test_unknown_networks_have_no_intent():
    with pytest.raises(ValueError):
        share_intent("direct", URL)
