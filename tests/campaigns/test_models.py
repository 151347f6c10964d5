"""Invariants that hold whoever writes: destinations, dates, hosts, UTM templates, post lengths, codes."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.codes import ALPHABET, new_code
from campaigns.models import CampaignMessage, Domain, validate_host, validate_utm_template
from campaigns.share import sample_short_url
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory, DomainFactory

BAD_DESTINATIONS = {
    "javascript:alert(document.cookie)": "Only http:// and https://",
    "JavaScript:alert(1)": "Only http:// and https://",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==": "Only http:// and https://",
    "/pricing": "relative addresses",
    "pricing.html": "relative addresses",
    "//evil.example.com/x": "relative addresses",
    "https://": "needs a host name",
    "https:///path-only": "needs a host name",
    "http:example.com": "needs a host name",
    "ftp://files.example.com/brochure.pdf": "Only http:// and https://",
    "https://user:secret@example.com/": "user name or password",
    "https://exa mple.com/": "spaces",
}


@pytest.mark.django_db
@pytest.mark.parametrize("url,message", BAD_DESTINATIONS.items())
def test_bad_destinations_are_refused_at_save_with_a_message(org, url, message):
    with pytest.raises(ValidationError) as error:
        CampaignFactory(organization=org, destination_url=url)
    assert message in " ".join(error.value.messages)
    with tenant_scope(org), pytest.raises(ValidationError):
        CampaignFactory(organization=org, fallback_url=url)


@pytest.mark.django_db
def test_an_existing_campaign_cannot_be_saved_with_a_bad_destination(org):
    campaign = CampaignFactory(organization=org)
    with tenant_scope(org):
        campaign.destination_url = "javascript:alert(1)"
        with pytest.raises(ValidationError):
            campaign.save()
        campaign.refresh_from_db()
    assert campaign.destination_url.startswith("https://")


@pytest.mark.django_db
def test_good_destinations_are_kept_as_written(org):
    url = "https://www.example.com/path?utm_source=old&x=1#frag"
    assert CampaignFactory(organization=org, destination_url=url).destination_url == url
    CampaignFactory(organization=org, destination_url="http://localhost:8000/dev")


@pytest.mark.django_db
def test_the_end_must_come_after_the_start_whoever_saves(org):
    now = timezone.now()
    with pytest.raises(ValidationError) as error:
        CampaignFactory(organization=org, starts_at=now, ends_at=now)
    assert "end must come after the start" in str(error.value)
    CampaignFactory(organization=org, starts_at=now, ends_at=now + timedelta(minutes=1))


@pytest.mark.parametrize("template", ["{channel}", "amb-{ambassador}-{kind}", "{campaign}_{channel}", "plain", ""])
def test_utm_templates_with_known_placeholders_are_fine(template):
    validate_utm_template(template)


@pytest.mark.parametrize("template,message", [("{chanel}", "Unknown placeholder “{chanel}”"),
                                              ("{channel", "Unbalanced braces"), ("{0}", "Unknown placeholder")])
def test_utm_templates_with_unknown_placeholders_are_refused(template, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        validate_utm_template(template)


@pytest.mark.parametrize("host", ["links.example.com", "go.example.co.uk", "a-b.example.io", "xn--bcher-kva.example"])
def test_valid_hosts(host):
    validate_host(host)


@pytest.mark.parametrize("host", ["https://links.example.com", "links.example.com/x", "links.example.com:8443",
                                  "localhost", "192.168.1.10", "-bad.example.com", "bad-.example.com",
                                  "under_score.example.com", "*.example.com", "", "a" * 64 + ".example.com"])
def test_invalid_hosts(host):
    with pytest.raises(ValidationError):
        validate_host(host)


@pytest.mark.django_db
def test_domain_hosts_are_normalised_and_validated_at_save(org):
    domain = DomainFactory(organization=org, host=" Links.Example.COM. ")
    assert domain.host == "links.example.com"
    with pytest.raises(ValidationError):
        DomainFactory(organization=org, host="https://go.example.com/")
    with tenant_scope(org):
        assert Domain.objects.count() == 1


def test_x_counts_every_link_as_23_characters():
    link = sample_short_url("x")
    assert len(link) > 23  # a realistic link, longer than what X counts
    fits = CampaignMessage(channel="x", text="a" * (280 - 24))  # + a space + 23 for the link = 280
    fits.validate_length(link)
    too_long = CampaignMessage(channel="x", text="a" * (280 - 23))
    with pytest.raises(ValidationError) as error:
        too_long.validate_length(link)
    assert "X allows 280 characters; this post is 281 with the link (counted as 23" in str(error.value)
    with_placeholder = CampaignMessage(channel="x", text="{link} " + "a" * (280 - 24))
    with_placeholder.validate_length(link)


def test_linkedin_takes_the_same_long_post():
    text = "a" * 400
    CampaignMessage(channel="linkedin", text=text).validate_length(sample_short_url("linkedin"))
    with pytest.raises(ValidationError):
        CampaignMessage(channel="x", text=text).validate_length(sample_short_url("x"))


def test_linkedin_counts_the_link_as_written():
    link = sample_short_url("linkedin")
    CampaignMessage(channel="linkedin", text="a" * (3000 - 1 - len(link))).validate_length(link)
    with pytest.raises(ValidationError):
        CampaignMessage(channel="linkedin", text="a" * (3000 - len(link))).validate_length(link)


def test_sample_link_looks_like_a_real_one(settings):
    settings.SITE_URL = "https://amb.example.com"
    assert re.fullmatch(r"https://amb\.example\.com/l/[0-9A-Za-z]{8}/li", sample_short_url("linkedin"))
    assert sample_short_url("x").endswith("/x") and sample_short_url("email").endswith("/em")


def test_link_codes_are_random_base62_and_never_sequential():
    codes = [new_code() for _ in range(1000)]
    assert all(re.fullmatch(r"[0-9A-Za-z]{7,}", code) for code in codes)
    assert len(set(codes)) == 1000

    def value(code):
        n = 0
        for ch in code:
            n = n * 62 + ALPHABET.index(ch)
        return n

    values = [value(code) for code in codes]
    steps = [b - a for a, b in zip(values, values[1:], strict=False)]
    assert values != sorted(values)  # not issued in increasing order
    assert sum(1 for step in steps if abs(step) < 62**3) == 0  # no neighbour is "close" to the previous one
    # Every position uses the whole alphabet, not a counter's few digits.
    assert all(len({code[i] for code in codes}) > 50 for i in range(len(codes[0])))
