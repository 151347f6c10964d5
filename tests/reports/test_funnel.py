"""The funnel: steps and rates, channels, the zero-filled daily series, local days at a month's
end, and page == API == CSV."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.support.responses import content, without_units
from tests.support.responses import csv_rows as csv_with_units
from tests.support.scenario import Scenario


def csv_rows(response):
    """The rows by column name without the unit (the export says "leads (credited)", "rate_unique (%)")."""
    return without_units(csv_with_units(response))


MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}


def funnel_urls(org):
    return (f"/o/{org.slug}/reports/funnel/", f"/o/{org.slug}/reports/funnel.csv",
            f"/api/v1/o/{org.slug}/reports/funnel/")


@pytest.fixture
def small(org):
    """4 shares (3 LinkedIn, 1 X); visitor A clicks twice within 24 h on LinkedIn (1 unique),
    visitor B once from X; A becomes a lead and a 100.00 customer."""
    s = Scenario(org)
    campaign = s.campaign("Launch")
    the_link = s.link(campaign)
    s.shares(the_link, s.at(2026, 3, 10, 9), times=3)
    s.shares(the_link, s.at(2026, 3, 10, 9), channel="x")
    a = s.visitor().clicks(the_link, s.at(2026, 3, 10, 10), s.at(2026, 3, 10, 18))
    s.visitor().clicks(the_link, s.at(2026, 3, 11, 10), channel="x")
    s.process()
    a.lead("a", at=s.at(2026, 3, 12, 9)).buys("100.00")
    s.attribute()
    return campaign


@pytest.mark.django_db
def test_steps_and_rates(small, org, manager, login):
    client = login(manager)
    page_url, csv_url, api_url = funnel_urls(org)
    data = client.get(api_url, MARCH).json()
    programme = data["programme"]
    assert (programme["shares"], programme["clicks"], programme["unique"]) == (4, 3, 2)
    assert (programme["leads"], programme["customers"], programme["revenue"]) == ("1.0000", "1.0000", "100.00")
    assert programme["rates"] == {"clicks": "0.7500", "unique": "0.6667", "leads": "0.5000", "customers": "1.0000",
                                  "revenue": "100.00"}
    assert data["campaigns"][0]["figures"] == programme

    steps = {row["step"]: row for row in csv_rows(client.get(csv_url, MARCH | {"table": "steps"}))}
    assert [steps[key]["value"] for key in ("shares", "clicks", "unique", "leads", "customers", "revenue")] == [
        "4", "3", "2", "1.0000", "1.0000", "100.00"]
    assert [steps[key]["rate_from_previous"] for key in ("shares", "clicks", "unique", "leads", "customers",
                                                         "revenue")] == ["", "0.7500", "66.67", "50.00",
                                                                         "100.00", "100.00"]  # in %, exact
    assert [steps[key]["rate_unit"] for key in ("shares", "clicks", "unique", "revenue")] == [
        "", "clicks per share", "%", "EUR per customer"]
    campaigns = csv_rows(client.get(csv_url, MARCH | {"table": "campaigns"}))
    assert [(row["campaign"], row["clicks"], row["rate_unique"]) for row in campaigns] == [("Launch", "3", "66.67")]

    html = client.get(page_url, MARCH).content.decode()
    for fragment in ("0.8 per share", "66.7 %", "50.0 %", "€100.00 per customer", "Unique visitors (per link, 24 h)",
                     "had not clicked the same link in the 24 hours before"):
        assert fragment in html


@pytest.mark.django_db
def test_channels(small, org, manager, login):
    client = login(manager)
    _, csv_url, api_url = funnel_urls(org)
    channels = {row["channel"]: row for row in client.get(api_url, MARCH).json()["channels"]}
    assert list(channels) == ["linkedin", "x", "facebook", "email", "whatsapp", "direct"]
    assert (channels["linkedin"]["shares"], channels["linkedin"]["clicks"], channels["linkedin"]["unique"]) == (3, 2, 1)
    assert (channels["x"]["shares"], channels["x"]["clicks"], channels["x"]["unique"]) == (1, 1, 1)
    assert channels["linkedin"]["share_of_clicks"] == "0.6667" and channels["facebook"]["clicks_per_share"] is None
    exported = {row["channel"]: row for row in csv_rows(client.get(csv_url, MARCH | {"table": "channels"}))}
    assert exported["linkedin"]["clicks_per_share"] == "0.6667" and exported["whatsapp"]["shares"] == "0"


@pytest.mark.django_db
def test_daily_series_is_zero_filled(small, org, manager, login):
    client = login(manager)
    page_url, csv_url, api_url = funnel_urls(org)
    daily = client.get(api_url, MARCH).json()["daily"]
    assert len(daily) == 31 and daily[0]["day"] == "2026-03-01" and daily[-1]["day"] == "2026-03-31"
    by_day = {row["day"]: row for row in daily}
    assert (by_day["2026-03-10"]["shares"], by_day["2026-03-10"]["clicks"]) == (4, 2)
    assert by_day["2026-03-11"]["clicks"] == 1 and by_day["2026-03-12"]["revenue"] == "100.00"
    assert by_day["2026-03-01"] == {"day": "2026-03-01", "shares": 0, "clicks": 0, "unique": 0, "leads": "0.0000",
                                    "customers": "0.0000", "revenue": "0.00"}
    rows = csv_rows(client.get(csv_url, MARCH | {"table": "daily"}))
    assert [row["day"] for row in rows] == [row["day"] for row in daily]
    assert [row["clicks"] for row in rows] == [str(row["clicks"]) for row in daily]
    html = client.get(page_url, MARCH).content.decode()
    assert html.count("<tr data-day=") == 31 and "<svg" in html


@pytest.mark.django_db
def test_a_click_and_a_share_at_23_30_local_on_the_last_day_count_in_that_month(org, manager, login):
    """Europe/Paris: 23:30 on 31 March is 21:30 UTC the same day; 00:30 on 1 April is 22:30 UTC on 31 March."""
    assert str(org.tzinfo) == "Europe/Paris"
    s = Scenario(org)
    the_link = s.link(s.campaign())
    late = s.at(2026, 3, 31, 23, 30)
    s.shares(the_link, late)
    s.visitor().clicks(the_link, late)
    early_april = s.at(2026, 4, 1, 0, 30)
    s.shares(the_link, early_april, channel="x")
    s.visitor().clicks(the_link, early_april, channel="x")
    # And one at 23:30 UTC on 28 February, which is already 1 March in Paris.
    feb_utc = datetime(2026, 2, 28, 23, 30, tzinfo=UTC)
    s.visitor().clicks(the_link, feb_utc, channel="email")
    s.process()

    client = login(manager)
    _, csv_url, api_url = funnel_urls(org)
    march = client.get(api_url, MARCH).json()
    assert (march["programme"]["shares"], march["programme"]["clicks"]) == (1, 2)
    assert {row["channel"]: row["clicks"] for row in march["channels"] if row["clicks"]} == {"linkedin": 1, "email": 1}
    assert march["daily"][-1]["clicks"] == 1 and march["daily"][-1]["shares"] == 1
    assert march["daily"][0]["clicks"] == 1
    april = client.get(api_url, {"period": "custom", "start": "2026-04-01", "end": "2026-04-30"}).json()
    assert (april["programme"]["shares"], april["programme"]["clicks"]) == (1, 1)
    assert april["daily"][0]["shares"] == 1 and april["daily"][0]["clicks"] == 1
    last = csv_rows(client.get(csv_url, MARCH | {"table": "daily"}))[-1]
    assert (last["day"], last["shares"], last["clicks"]) == ("2026-03-31", "1", "1")


@pytest.mark.django_db
def test_bad_table_and_params(org, manager, login):
    client = login(manager)
    page_url, csv_url, api_url = funnel_urls(org)
    response = client.get(csv_url, {"table": "pie"})
    assert response.status_code == 400 and "Unknown table" in content(response)
    assert client.get(page_url, {"model": "nope"}).status_code == 400
    assert client.get(api_url, {"model": "nope"}).json()["model"][0].startswith("Unknown model")


@pytest.mark.django_db
def test_roles_and_tenancy(small, org, other_org, ambassador_user, login):
    from tenancy.models import Role
    from tests.factories import member

    client = login(ambassador_user)
    for url in funnel_urls(org):
        assert client.get(url).status_code == 403
    client = login(member(other_org, Role.OWNER))
    for url in funnel_urls(org):
        assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_revenue_follows_the_chosen_model_but_counts_do_not(small, org, manager, login):
    client = login(manager)
    api_url = funnel_urls(org)[2]
    for model in ("first_touch", "last_touch", "linear", "time_decay", "position_based"):
        programme = client.get(api_url, MARCH | {"model": model}).json()["programme"]
        assert (programme["clicks"], programme["revenue"]) == (3, "100.00")
    assert Decimal(client.get(api_url, MARCH).json()["programme"]["leads"]) == 1


@pytest.mark.django_db
def test_the_page_draws_the_funnel_and_the_channel_split(org, manager, login):
    page = login(manager).get(reverse("report_funnel", args=[org.slug])).content.decode()
    # Drawn by Chart.js (tests/browser/test_charts.py).
    assert 'id="funnel-chart" data-chart-spec="funnel-chart-data"' in page
    assert '<title id="channels-chart-title">Clicks per channel</title>' in page
    assert page.count("<rect") >= 6  # six channels (plus the daily bars)
