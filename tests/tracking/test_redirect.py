"""The redirect: what a visitor and the destination site see, and the one record it writes."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus, Domain, TrackedLink
from tenancy.scoping import scopes_disabled, tenant_scope
from tracking.ids import click_id_time, is_valid_id
from tracking.models import DailySalt, RawClick
from tracking.salts import delete_old_salts, forget_cached_salt

from .conftest import drain_spool

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")


def raw_clicks():
    drain_spool()
    with scopes_disabled():
        return list(RawClick.objects.order_by("id"))


@pytest.mark.django_db
def test_redirect_adds_utm_and_click_id_and_keeps_query_and_fragment(client, org, link):
    response = client.get(f"/l/{link.code}", HTTP_USER_AGENT=CHROME)
    assert response.status_code == 302
    location = response["Location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("https", "shop.example.com", "/spring", "top")
    query = parse_qs(parts.query)
    assert all(len(values) == 1 for values in query.values())  # no duplicated keys
    assert query["ref"] == ["home"]
    assert query["utm_source"] == ["direct"] and query["utm_medium"] == ["ambassador"]
    assert query["utm_campaign"] == ["spring"]
    click_id = query["amb_cid"][0]
    assert is_valid_id(click_id)
    assert response["Cache-Control"] == "no-store"

    [click] = raw_clicks()
    assert click.click_id == click_id
    assert (click.organization_id, click.link_id) == (org.pk, link.pk)
    assert click.user_agent == CHROME and not click.is_head
    assert abs(click_id_time(click_id) - click.clicked_at.timestamp()) < 0.002


@pytest.mark.django_db
def test_visitor_cookie_is_set_once_and_reused(client, link):
    first = client.get(f"/l/{link.code}")
    cookie = first.cookies["amb_vid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["max-age"] == 365 * 24 * 3600
    assert not cookie["secure"]
    second = client.get(f"/l/{link.code}")
    assert "amb_vid" not in second.cookies  # kept, not re-issued
    a, b = raw_clicks()
    assert a.visitor_id == b.visitor_id == cookie.value
    assert a.click_id != b.click_id


@pytest.mark.django_db
def test_cookie_is_secure_under_https(client, link):
    response = client.get(f"/l/{link.code}", secure=True)
    assert response.cookies["amb_vid"]["secure"]


@pytest.mark.django_db
def test_channel_suffix_sets_hint_and_utm_source(client, link):
    response = client.get(f"/l/{link.code}/li")
    assert parse_qs(urlsplit(response["Location"]).query)["utm_source"] == ["linkedin"]
    assert raw_clicks()[0].channel_hint == "linkedin"
    assert client.get(f"/l/{link.code}/zz").status_code == 404


@pytest.mark.django_db
def test_referrer_host_is_stored_without_path_and_sets_utm(client, link):
    response = client.get(f"/l/{link.code}", HTTP_REFERER="https://lnkd.in/abc?x=1")
    assert raw_clicks()[0].referrer_host == "lnkd.in"
    assert parse_qs(urlsplit(response["Location"]).query)["utm_source"] == ["linkedin"]


@pytest.mark.django_db
def test_head_request_and_preview_bots_still_get_the_redirect(client, link):
    head = client.head(f"/l/{link.code}", HTTP_USER_AGENT="Twitterbot/1.0")
    bot = client.get(f"/l/{link.code}", HTTP_USER_AGENT="LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient)")
    assert head.status_code == bot.status_code == 302
    clicks = raw_clicks()
    assert [c.is_head for c in clicks] == [True, False]


@pytest.mark.django_db
def test_other_methods_are_refused(client, link):
    assert client.post(f"/l/{link.code}").status_code == 405
    assert raw_clicks() == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", [
    "/l/nope1234", "/l/Ab3", "/l/Ab3dEf7h%00", "/l/<script>", "/l/" + "x" * 10_000, "/l/%E2%82%AC%E2%82%AC%E2%82%AC",
    "/l/Ab3dEf7h/li/extra", "/l/../../etc/passwd", "/l/Ab3dEf7h/" + "y" * 5000,
])
def test_unknown_or_junk_codes_are_a_404_page_not_a_500(client, link, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"Not found" in response.content
    assert raw_clicks() == []


@pytest.mark.django_db
def test_huge_user_agent_and_referrer_are_stored_truncated(client, link):
    client.get(f"/l/{link.code}", HTTP_USER_AGENT="U" * 10_000, HTTP_REFERER="https://" + "r" * 10_000 + ".com/x")
    click = raw_clicks()[0]
    assert len(click.user_agent) == 512 and len(click.referrer_host) == 253


@pytest.mark.django_db
def test_user_agent_with_tabs_and_newlines_is_kept_on_one_line(client, link, settings):
    settings.CLICK_CAPTURE = "db"
    client.get(f"/l/{link.code}", HTTP_USER_AGENT="a\tb")
    assert raw_clicks()[0].user_agent == "a b"


@pytest.mark.django_db
def test_raw_ip_is_never_stored_only_a_salted_hash(client, link):
    client.get(f"/l/{link.code}", REMOTE_ADDR="203.0.113.7")
    click = raw_clicks()[0]
    assert "203.0.113.7" not in str(vars(click))
    assert len(click.ip_hash) == 32
    client.get(f"/l/{link.code}", REMOTE_ADDR="203.0.113.7")
    client.get(f"/l/{link.code}", REMOTE_ADDR="203.0.113.8")
    hashes = [c.ip_hash for c in raw_clicks()]
    assert hashes[0] == hashes[1] != hashes[2]


@pytest.mark.django_db
def test_salt_is_random_per_day_and_old_salts_are_deleted(client, link):
    client.get(f"/l/{link.code}")
    today = DailySalt.objects.get()
    assert len(today.salt) == 64
    DailySalt.objects.create(day=today.day - timezone.timedelta(days=3), salt="0" * 64)
    DailySalt.objects.create(day=today.day - timezone.timedelta(days=1), salt="1" * 64)
    assert delete_old_salts() == 1
    assert DailySalt.objects.count() == 2
    forget_cached_salt()


@pytest.mark.django_db
def test_forwarded_for_is_trusted_only_behind_configured_proxies(client, link, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    client.get(f"/l/{link.code}", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    client.get(f"/l/{link.code}", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="5.6.7.8")
    spoofed = [c.ip_hash for c in raw_clicks()]
    assert spoofed[0] == spoofed[1]  # the header was ignored
    settings.TRUSTED_PROXY_COUNT = 1
    client.get(f"/l/{link.code}", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="spoof, 1.2.3.4")
    client.get(f"/l/{link.code}", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="spoof, 5.6.7.8")
    trusted = [c.ip_hash for c in raw_clicks()][2:]
    assert trusted[0] != trusted[1]


@pytest.mark.django_db
@pytest.mark.parametrize("status", [CampaignStatus.PAUSED, CampaignStatus.ENDED, CampaignStatus.DRAFT])
def test_inactive_campaign_goes_to_fallback_or_friendly_page(client, org, campaign, link, status):
    with tenant_scope(org):
        campaign.status = status
        campaign.save()
    page = client.get(f"/l/{link.code}")
    assert page.status_code == 410 and b"campaign has ended" in page.content
    with tenant_scope(org):
        campaign.fallback_url = "https://shop.example.com/"
        campaign.save()
    assert client.get(f"/l/{link.code}")["Location"] == "https://shop.example.com/"
    assert raw_clicks() == []


@pytest.mark.django_db
def test_campaign_past_its_end_date_is_inactive(client, org, campaign, link):
    with tenant_scope(org):
        campaign.ends_at = timezone.now() - timezone.timedelta(minutes=1)
        campaign.fallback_url = "https://shop.example.com/over"
        campaign.save()
    assert client.get(f"/l/{link.code}")["Location"] == "https://shop.example.com/over"


@pytest.mark.django_db
def test_change_of_destination_reaches_the_redirect(client, org, campaign, link):
    assert client.get(f"/l/{link.code}")["Location"].startswith("https://shop.example.com/spring")
    with tenant_scope(org):
        campaign.destination_url = "https://new.example.com/"
        campaign.save()
    assert client.get(f"/l/{link.code}")["Location"].startswith("https://new.example.com/?utm_source=")


@pytest.mark.django_db
def test_code_answers_only_on_own_orgs_verified_domains(client, org, other_org, link, settings):
    settings.ALLOWED_HOSTS = ["*"]
    with tenant_scope(org):
        Domain.objects.create(organization=org, host="go.acme.test", verified=True)
        Domain.objects.create(organization=org, host="unverified.acme.test", verified=False)
    with tenant_scope(other_org):
        Domain.objects.create(organization=other_org, host="go.rival.test", verified=True)
    assert client.get(f"/l/{link.code}", HTTP_HOST="go.acme.test").status_code == 302
    assert client.get(f"/l/{link.code}", HTTP_HOST="GO.ACME.TEST:443").status_code == 302
    assert client.get(f"/l/{link.code}", HTTP_HOST="testserver").status_code == 302
    assert client.get(f"/l/{link.code}", HTTP_HOST="go.rival.test").status_code == 404
    assert client.get(f"/l/{link.code}", HTTP_HOST="unverified.acme.test").status_code == 404
    assert client.get(f"/l/{link.code}", HTTP_HOST="elsewhere.test").status_code == 404
    assert len(raw_clicks()) == 3


@pytest.mark.django_db
def test_destination_that_already_has_utm_and_amb_cid_gets_no_duplicates(client, org, campaign, link):
    with tenant_scope(org):
        campaign.destination_url = "https://shop.example.com/?utm_source=old&amb_cid=stale&a=1&a=2"
        campaign.save()
    query = parse_qs(urlsplit(client.get(f"/l/{link.code}/x")["Location"]).query)
    assert query["utm_source"] == ["x"] and len(query["amb_cid"]) == 1 and query["amb_cid"][0] != "stale"
    assert query["a"] == ["1", "2"]  # the site's own repeated keys are its business


@pytest.mark.django_db
def test_unknown_code_flood_does_not_hit_the_database_twice(client, link, django_assert_max_num_queries):
    client.get("/l/Zz9Zz9Zz")
    with django_assert_max_num_queries(0):
        client.get("/l/Zz9Zz9Zz")


@pytest.mark.django_db
def test_hot_path_makes_at_most_the_insert_once_warm(client, link, django_assert_num_queries, click_capture):
    client.get(f"/l/{link.code}")
    with django_assert_num_queries(1 if click_capture == "db" else 0):  # the INSERT, or nothing at all
        client.get(f"/l/{link.code}")


@pytest.mark.django_db
def test_new_link_is_found_without_waiting_for_the_cache(client, org, campaign, link):
    client.get("/l/Qq1Qq1Qq")  # cached as missing
    with tenant_scope(org):
        TrackedLink.objects.create(organization=org, campaign=campaign, ambassador=link.ambassador.__class__.objects
                                   .create(organization=org, email="b@example.com", display_name="B", status="active"),
                                   code="Qq1Qq1Qq")
    assert client.get("/l/Qq1Qq1Qq").status_code == 302


@pytest.mark.django_db
def test_campaign_destination_is_validated_at_save(org):
    from django.core.exceptions import ValidationError

    for bad in ["javascript:alert(1)", "data:text/html,hi", "/relative/path", "https:///nohost", "ftp://x.example"]:
        with tenant_scope(org), pytest.raises(ValidationError):
            Campaign.objects.create(organization=org, name="x", slug=f"x{len(bad)}", destination_url=bad)
