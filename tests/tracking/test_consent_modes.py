"""Consent-aware tracking (issue 16), the server's side: an organisation's tracking settings (the
snippet's mode and cookie lifetime, the short links' visitor cookie), the redirect without its
cookie (visitors told apart by a daily-salted hash of address and user agent), the mode each lead
came through, and the share of leads per mode in the reports. The snippet in a browser:
tests/browser/test_consent_modes.py."""

import csv
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from tenancy.models import Role
from tenancy.scoping import scopes_disabled, tenant_scope
from tests.factories import CustomerFactory, TrackingSettingsFactory, member
from tests.support.tracking import LEAD, api, post
from tracking import capture
from tracking.ids import is_valid_id, new_click_id
from tracking.models import Click, Customer, DailySalt, RawClick, TrackingSettings
from tracking.services.attribution_settings import settings_for
from tracking.services.click_processing import process_batch
from tracking.services.conversions import ConversionError, record_lead
from tracking.services.tracking_settings import SettingsError, change_tracking, tracking_settings_for
from tracking.views import redirect as redirect_view
from tracking.views.snippet import SNIPPET_PATH
from tracking.visitor_cookies import visitor_cookie_policy

from .conftest import drain_spool

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
HOME = "203.0.113.7"
OFFICE = "198.51.100.20"


@pytest.fixture(autouse=True)
def click_capture(settings, tmp_path):
    """Overrides tests/tracking/conftest.py's parametrised capture mode: the spool (the default) only."""
    settings.CLICK_CAPTURE = "spool"
    settings.CLICK_SPOOL_DIR = tmp_path / "spool"
    settings.CLICK_SPOOL_DRAIN_THREAD = False
    capture.reset_spool()
    yield "spool"
    capture.reset_spool()


@pytest.fixture(autouse=True)
def _fresh_policy():
    """The redirect's memory of each organisation's cookie choice must not outlive the test's database."""
    visitor_cookie_policy.clear()
    yield
    visitor_cookie_policy.clear()


@pytest.fixture
def cookieless_redirect(org):
    """The organisation's short links set no visitor cookie."""
    TrackingSettingsFactory(organization=org, visitor_cookie=False)
    return org


def open_link(client, link, *, ip=HOME, agent=CHROME, **extra):
    response = client.get(f"/l/{link.code}", REMOTE_ADDR=ip, HTTP_USER_AGENT=agent, **extra)
    assert response.status_code == 302
    return response


def raw_clicks():
    drain_spool()
    with scopes_disabled():
        return list(RawClick.objects.order_by("id"))


def processed(org) -> list[Click]:
    drain_spool()
    with tenant_scope(org):
        process_batch(org.pk)
        return list(Click.objects.order_by("clicked_at", "click_id"))


class FrozenClock:
    """Stands in for the redirect's `time` module: its clock reads `now`."""

    def __init__(self, now: datetime):
        self.now = now.timestamp()

    def time(self) -> float:
        return self.now


# --- the redirect without its visitor cookie ------------------------------------------------------

@pytest.mark.django_db
def test_without_the_cookie_the_redirect_sets_and_reads_none(client, cookieless_redirect, link):
    client.cookies["amb_vid"] = "Vv" * 11  # left by another organisation's link on the same host
    response = open_link(client, link)
    assert "amb_vid" not in response.cookies
    assert "Set-Cookie" not in response.headers
    assert is_valid_id(parse_qs(urlsplit(response["Location"]).query)["amb_cid"][0])

    [click] = raw_clicks()
    assert click.visitor_id != "Vv" * 11 and is_valid_id(click.visitor_id)
    stored = " ".join(str(value) for value in vars(click).values())
    assert HOME not in stored  # no raw address anywhere in the row


@pytest.mark.django_db
def test_the_same_browser_twice_in_a_day_is_one_unique_visitor(client, cookieless_redirect, link):
    open_link(client, link)
    open_link(client, link)  # same address, same browser: the same visitor
    open_link(client, link, agent=FIREFOX)  # another browser on that address: another visitor
    open_link(client, link, ip=OFFICE)  # the same browser elsewhere: another visitor
    first, second, firefox, office = raw_clicks()
    assert first.visitor_id == second.visitor_id
    assert len({first.visitor_id, firefox.visitor_id, office.visitor_id}) == 3

    clicks = processed(cookieless_redirect)
    assert len(clicks) == 4
    assert sum(click.is_unique for click in clicks) == 3
    by_id = {click.click_id: click for click in clicks}
    assert by_id[first.click_id].is_unique and not by_id[second.click_id].is_unique


@pytest.mark.django_db
def test_the_next_days_salt_makes_another_visitor(client, cookieless_redirect, link, monkeypatch):
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    clock = FrozenClock(midnight - timedelta(hours=1))  # 23:00 UTC the day before yesterday
    monkeypatch.setattr(redirect_view, "time", clock)
    open_link(client, link)
    clock.now = (midnight + timedelta(hours=1)).timestamp()  # two hours later, 01:00 UTC yesterday
    open_link(client, link)
    late, early = raw_clicks()
    assert late.visitor_id != early.visitor_id  # the same browser and address: a new day, a new salt
    salts = dict(DailySalt.objects.values_list("day", "salt"))
    assert {midnight.date() - timedelta(days=1), midnight.date()} <= set(salts)
    assert salts[midnight.date()] != salts[midnight.date() - timedelta(days=1)]

    clicks = processed(cookieless_redirect)
    assert [click.is_unique for click in clicks] == [True, True]  # within 24 h, but two visitors


@pytest.mark.django_db
def test_the_hash_is_the_organisations_own(client, cookieless_redirect, link, other_org, make_link, campaign):
    from campaigns.models import Campaign, CampaignStatus

    TrackingSettingsFactory(organization=other_org, visitor_cookie=False)
    with tenant_scope(other_org):
        theirs = Campaign.objects.create(organization=other_org, name="Theirs", slug="theirs",
                                         status=CampaignStatus.ACTIVE, destination_url="https://rival.example.com/")
    their_link = make_link(organization=other_org, the_campaign=theirs)
    open_link(client, link)
    open_link(client, their_link)
    ours, rivals = raw_clicks()
    assert ours.visitor_id != rivals.visitor_id  # no two tenants can match their visitors


@pytest.mark.django_db
def test_turning_the_cookie_off_and_on_reaches_the_redirect(client, org, link, other_org,
                                                            django_capture_on_commit_callbacks):
    assert "amb_vid" in open_link(client, link).cookies  # the default: the cookie
    with django_capture_on_commit_callbacks(execute=True):
        change_tracking(org.pk, visitor_cookie=False)
    client.cookies.clear()
    assert "amb_vid" not in open_link(client, link).cookies
    with django_capture_on_commit_callbacks(execute=True):
        change_tracking(org.pk, visitor_cookie=True)
    assert "amb_vid" in open_link(client, link).cookies
    assert tracking_settings_for(other_org.pk).visitor_cookie  # another organisation's is its own


# --- settings: service, constraints, page, API, snippet ---------------------------------------------

@pytest.mark.django_db
def test_defaults_and_refusals(org):
    settings = tracking_settings_for(org.pk)
    assert (settings.mode, settings.cookie_days, settings.visitor_cookie) == ("full", 30, True)
    for field, values in {"mode": {"mode": "sometimes"}, "cookie_days": {"cookie_days": 396}}.items():
        with pytest.raises(SettingsError) as refused:
            change_tracking(org.pk, **values)
        assert refused.value.field == field
    with pytest.raises(SettingsError):
        change_tracking(org.pk, cookie_days=0)
    assert change_tracking(org.pk, mode="consent", cookie_days=395).cookie_days == 395


@pytest.mark.django_db
def test_the_database_refuses_what_the_service_would(org):
    TrackingSettingsFactory(organization=org)
    for values in ({"cookie_days": 0}, {"cookie_days": 396}, {"mode": "sometimes"}):
        with tenant_scope(org), pytest.raises(IntegrityError), transaction.atomic():
            TrackingSettings.objects.filter(organization=org).update(**values)
    customer = CustomerFactory(organization=org)
    with tenant_scope(org), pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(tracking_mode="guess")


@pytest.mark.django_db
def test_admin_chooses_the_mode_on_the_attribution_page(org, admin_user, login):
    client = login(admin_user)
    url = reverse("attribution_settings", args=[org.slug])
    page = client.get(url).content.decode()
    assert f"/js/amb.js?org={org.slug}" in page and 'name="section" value="tracking"' in page
    response = client.post(url, {"section": "tracking", "mode": "cookieless", "cookie_days": "90"}, follow=True)
    assert "Sites that load the snippet get the new mode" in response.content.decode()
    settings = tracking_settings_for(org.pk)
    assert (settings.mode, settings.cookie_days, settings.visitor_cookie) == ("cookieless", 90, False)
    assert settings_for(org.pk).window_days == 30  # the attribution form was not touched

    bad = client.post(url, {"section": "tracking", "mode": "full", "cookie_days": "400", "visitor_cookie": "on"})
    assert bad.status_code == 200 and "less than or equal to 395" in bad.content.decode()
    assert tracking_settings_for(org.pk).mode == "cookieless"


@pytest.mark.django_db
def test_api_reads_and_changes_the_tracking_settings(org, admin_user, manager, login):
    url = reverse("api_tracking_settings", args=[org.slug])
    client = login(manager)
    body = client.get(url).json()
    assert (body["mode"], body["cookie_days"], body["visitor_cookie"]) == ("full", 30, True)
    assert body["snippet_url"] == f"http://testserver/js/amb.js?org={org.slug}"
    assert client.patch(url, {"mode": "consent"}, content_type="application/json").status_code == 403

    client = login(admin_user)
    bad = client.patch(url, {"mode": "maybe", "cookie_days": 0, "colour": "red"}, content_type="application/json")
    assert bad.status_code == 400 and set(bad.json()) >= {"mode", "cookie_days"}
    bad = client.patch(url, {"colour": "red"}, content_type="application/json")
    assert bad.status_code == 400 and set(bad.json()) == {"colour"}
    body = client.patch(url, {"mode": "consent", "visitor_cookie": False}, content_type="application/json").json()
    assert (body["mode"], body["cookie_days"], body["visitor_cookie"]) == ("consent", 30, False)


@pytest.mark.django_db
def test_another_organisations_admin_gets_404(org, other_org, login):
    stranger = member(other_org, Role.OWNER, email="owner@rival.test")
    client = login(stranger)
    url = reverse("api_tracking_settings", args=[org.slug])
    assert client.get(url).status_code == 404
    assert client.patch(url, {"mode": "cookieless"}, content_type="application/json").status_code == 404
    assert client.post(reverse("attribution_settings", args=[org.slug]),
                       {"section": "tracking", "mode": "cookieless", "cookie_days": "9"}).status_code == 404
    assert tracking_settings_for(org.pk).mode == "full"


@pytest.mark.django_db
def test_the_snippet_carries_the_organisations_mode(client, org):
    change_tracking(org.pk, mode="consent", cookie_days=45)
    response = client.get(f"/js/amb.js?org={org.slug}")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/javascript")
    assert response["Cache-Control"] == "public, max-age=300"
    assert b'var served = {"days": 45, "mode": "consent"};' in response.content
    assert response.content.replace(b'{"days": 45, "mode": "consent"}', b"{}") == SNIPPET_PATH.read_bytes()

    plain = client.get("/js/amb.js")
    assert plain.content == SNIPPET_PATH.read_bytes() and b"var served = {};" in plain.content

    unknown = client.get("/js/amb.js?org=nobody-here")
    assert unknown.status_code == 404 and b"nobody-here" in unknown.content
    assert client.get("/js/amb.js?org=%3Cscript%3E").status_code == 400


# --- the lead's mode -------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_lead_api_records_the_mode_it_came_through(org):
    client = api(org)
    created = post(client, LEAD, {"click_id": new_click_id(), "customer_external_id": "c1",
                                  "tracking_mode": "cookieless"})
    assert created.status_code == 201 and created.json()["tracking_mode"] == "cookieless"
    for ext, mode in (("c2", None), ("c3", "")):
        body = {"click_id": new_click_id(), "customer_external_id": ext}
        if mode is not None:
            body["tracking_mode"] = mode
        assert post(client, LEAD, body).json()["tracking_mode"] == "unknown"
    bad = post(client, LEAD, {"customer_external_id": "c4", "tracking_mode": "sneaky"})
    assert bad.status_code == 400 and "tracking_mode" in bad.json()
    with tenant_scope(org):
        assert dict(Customer.objects.values_list("external_id", "tracking_mode")) == {
            "c1": "cookieless", "c2": "unknown", "c3": "unknown"}


@pytest.mark.django_db
def test_the_first_leads_mode_stays(org):
    now = datetime.now(UTC).replace(microsecond=0)
    customer, _ = record_lead(org, click_id=new_click_id(), customer_external_id="c1", occurred_at=now,
                              tracking_mode="consent")
    customer, created = record_lead(org, click_id=new_click_id(), customer_external_id="c1",
                                    occurred_at=now + timedelta(hours=1), tracking_mode="full")
    assert not created and customer.tracking_mode == "consent"  # a later lead: details, not the first click
    customer, _ = record_lead(org, customer_external_id="c1", occurred_at=now - timedelta(hours=2),
                              email="c1@example.com")
    assert customer.tracking_mode == "consent"  # earlier, but without a click of its own
    customer, _ = record_lead(org, click_id=new_click_id(), customer_external_id="c1",
                              occurred_at=now - timedelta(hours=3), tracking_mode="cookieless")
    assert customer.tracking_mode == "cookieless"  # the new first lead brings its click and its mode
    with pytest.raises(ConversionError):
        record_lead(org, customer_external_id="c2", tracking_mode="sneaky")


# --- reports: the share of leads per mode ----------------------------------------------------------

@pytest.fixture
def leads_by_mode(org):
    """Leads in March 2026: 2 full, 1 consent, 1 cookieless; one more in April (outside)."""
    march = datetime(2026, 3, 10, 12, tzinfo=UTC)
    for n, mode in enumerate(["full", "full", "consent", "cookieless"]):
        CustomerFactory(organization=org, tracking_mode=mode, first_lead_at=march + timedelta(days=n),
                        last_lead_at=march + timedelta(days=n))
    CustomerFactory(organization=org, tracking_mode="consent", first_lead_at=datetime(2026, 4, 2, tzinfo=UTC),
                    last_lead_at=datetime(2026, 4, 2, tzinfo=UTC))
    return org


MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}


@pytest.mark.django_db
def test_reports_show_the_share_of_leads_per_mode(leads_by_mode, manager, login):
    org = leads_by_mode
    client = login(manager)
    page = client.get(reverse("report_funnel", args=[org.slug]), MARCH).content.decode()
    assert 'id="funnel-modes"' in page and 'data-mode="cookieless"' in page

    response = client.get(reverse("report_funnel_csv", args=[org.slug]), MARCH | {"table": "modes"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["mode", "label", "leads (all, not only credited)", "share_of_leads (%)"]
    assert [(row[0], row[2], row[3]) for row in rows[1:]] == [
        ("full", "2", "50.00"), ("consent", "1", "25.00"), ("cookieless", "1", "25.00"), ("unknown", "0", "0.00")]

    body = client.get(reverse("api_report_funnel", args=[org.slug]), MARCH).json()
    assert [(m["mode"], m["leads"], m["share"]) for m in body["lead_modes"]] == [
        ("full", 2, "0.5000"), ("consent", 1, "0.2500"), ("cookieless", 1, "0.2500"), ("unknown", 0, "0.0000")]


@pytest.mark.django_db
def test_no_leads_means_no_share(org, manager, login):
    body = login(manager).get(reverse("api_report_funnel", args=[org.slug]), MARCH).json()
    assert {m["mode"]: (m["leads"], m["share"]) for m in body["lead_modes"]} == {
        "full": (0, None), "consent": (0, None), "cookieless": (0, None), "unknown": (0, None)}
