"""Share intents: the right address per network, the channel's short URL, the post (suggested variant or the
ambassador's edit), encoded; which variant each ambassador is given."""

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from campaigns.models import Campaign, CampaignMessage, TrackedLink
from campaigns.share import (
    TextMode,
    channel_urls,
    fill_intent,
    rendered_messages,
    share_intent,
    share_options,
    short_url,
    text_for_dialog,
    variant_for,
)

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
    assert share_intent("x", URL) == \
        f"https://x.com/intent/post?text=&url={URL.replace(':', '%3A').replace('/', '%2F')}"


def test_x_keeps_the_line_breaks_of_a_post_and_drops_every_copy_of_the_link():
    message = CampaignMessage(channel="x", text="First line {link}\nSecond line, again {link}")
    query = parse_qs(urlsplit(share_intent("x", URL, message=message)).query)
    assert query == {"text": ["First line\nSecond line, again"], "url": [URL]}


def test_the_ambassadors_edit_is_what_the_dialog_gets():
    message = CampaignMessage(channel="whatsapp", text="Suggested {link}")
    edited = share_intent("whatsapp", URL, message=message, text="My own words")
    assert parse_qs(urlsplit(edited).query) == {"text": [f"My own words {URL}"]}  # the link put back
    kept = share_intent("whatsapp", URL, message=message, text=f"Mine: {URL} !")
    assert parse_qs(urlsplit(kept).query) == {"text": [f"Mine: {URL} !"]}
    x = share_intent("x", URL, message=CampaignMessage(channel="x", text="Suggested {link}"), text=f"Mine {URL}")
    assert parse_qs(urlsplit(x).query) == {"text": ["Mine"], "url": [URL]}


def test_text_for_dialog_per_mode():
    assert text_for_dialog(f"  a  {URL}  b ", URL, TextMode.SEPARATE) == "a b"
    assert text_for_dialog("", URL, TextMode.WITH_LINK) == URL
    assert text_for_dialog("anything", URL, TextMode.NONE) == ""


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
    assert options["whatsapp"].message is messages[0]
    assert "%2Fwa" in options["whatsapp"].intent_url
    assert options["linkedin"].text == "" and options["linkedin"].url.endswith("/li")
    assert options["linkedin"].message is None and not options["linkedin"].takes_text


def test_the_intent_template_filled_in_is_the_intent():
    """share.js fills the same template with the edited post: unedited, it must give the server's address."""
    campaign = Campaign(name="Spring & co")
    link = TrackedLink(code="Ab3dE9xZ", variant_seed=1)
    messages = [CampaignMessage(pk=n, channel=channel, subject="Hi" if channel == "email" else "",
                                text=f"{channel} {n} {{link}}")
                for n, channel in enumerate(["x", "x", "email", "whatsapp", "linkedin"], start=1)]
    for option in share_options(link, campaign, messages):
        text = text_for_dialog(option.text, option.url, option.text_mode)
        assert fill_intent(option.intent_template, text=text, url=option.url) == option.intent_url
    mail = next(o for o in share_options(link, campaign, []) if o.channel == "email")
    assert mail.intent_template == "mailto:?subject=Spring%20%26%20co&body={text}"  # the campaign's name


def test_each_ambassador_gets_the_variant_of_their_seed():
    messages = [CampaignMessage(pk=pk, channel="x", text=f"Variant {pk}") for pk in (7, 3, 5)]  # written 3, 5, 7
    messages.append(CampaignMessage(pk=9, channel="email", text="Only one"))
    chosen = [variant_for(TrackedLink(variant_seed=seed), "x", messages).text for seed in range(5)]
    assert chosen == ["Variant 3", "Variant 5", "Variant 7", "Variant 3", "Variant 5"]
    assert {variant_for(TrackedLink(variant_seed=seed), "email", messages).pk for seed in range(4)} == {9}
    assert variant_for(TrackedLink(variant_seed=2), "linkedin", messages) is None


def test_rendered_messages_are_the_ambassadors_variants():
    link = TrackedLink(code="Ab3dE9xZ", variant_seed=1)
    messages = [CampaignMessage(pk=1, channel="x", text="First {link}"),
                CampaignMessage(pk=2, channel="x", text="Second"),
                CampaignMessage(pk=3, channel="linkedin", text="Hello")]
    assert rendered_messages(link, Campaign(name="S"), messages) == [
        {"channel": "linkedin", "subject": "", "text": "Hello https://amb.example.com/l/Ab3dE9xZ/li"},
        {"channel": "x", "subject": "", "text": "Second https://amb.example.com/l/Ab3dE9xZ/x"},
    ]


def test_unknown_networks_have_no_intent():
    with pytest.raises(ValueError):
        share_intent("direct", URL)
