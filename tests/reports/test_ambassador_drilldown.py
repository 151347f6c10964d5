"""A manager's drill-down into one ambassador (reports/selectors/ambassador.py, the page and its
CSV) and the ambassadors list's sortable performance columns.

The fixture (Europe/Paris, EUR, period Monday 2 – Sunday 15 March 2026, two weeks):
  ann  hourly rate 60.00; Spring (5 min per share), Summer (10 min per share)
       shares: 2 on Spring (LinkedIn, 3 Mar), 1 on Summer (X, 10 Mar); one at 00:30 on 16 Mar (outside)
       clicks: Spring LinkedIn 3 Mar 10 (8 unique), Spring X 4 Mar 4 (4), Summer X 11 Mar 6 (5),
               Spring 5 Mar 50 bots, Spring 1 Mar 99 (outside)
       ledger: 25.00 EUR pending (6 Mar, Spring), 40.00 EUR canceled, 30 points (12 Mar, Summer),
               7.00 USD (other currency), 99.00 EUR at 00:30 on 16 Mar (outside)
  bob  Spring: 1 share, 7 clicks (7 unique) on 3 Mar
A visitor clicks ann's then bob's Spring link, is a lead on 5 March and pays 1,000.00 on 12 March:
linear (the reporting model) credits each 0.5 lead (5 Mar), 0.5 customer and 500.00 (12 Mar)."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports.filters import ReportFilter
from reports.periods import Period
from reports.selectors.ambassador import ambassador_performance, list_figures
from reports.selectors.leaderboard import leaderboard
from reports.selectors.roi import campaign_roi
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import EarningEntryFactory, OrganizationFactory, RewardRuleFactory, member
from tests.support.responses import parse_csv
from tests.support.scenario import Scenario

PARIS = ZoneInfo("Europe/Paris")
START, END = date(2026, 3, 2), date(2026, 3, 15)
PARAMS = {"period": "custom", "start": "2026-03-02", "end": "2026-03-15"}


def at(month, day, hour=12, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


class World:
    pass


@pytest.fixture
def world(org):
    w = World()
    w.org = org
    s = Scenario(org)
    w.ann = s.ambassador("Ann", hourly_rate=Decimal("60.00"))
    w.bob = s.ambassador("Bob")
    w.spring = s.campaign("Spring", slug="spring", minutes_per_share=Decimal("5.00"),
                          destination_url="https://shop.example.com/")
    w.summer = s.campaign("Summer", slug="summer", minutes_per_share=Decimal("10.00"),
                          destination_url="https://shop.example.com/")
    ann_spring, ann_summer = s.link(w.spring, w.ann, code="Dd000001"), s.link(w.summer, w.ann, code="Dd000002")
    bob_spring = s.link(w.spring, w.bob, code="Dd000003")
    s.shares(ann_spring, at(3, 3), times=2)
    s.shares(ann_summer, at(3, 10), channel="x")
    s.shares(ann_spring, at(3, 16, 0, 30))
    s.shares(bob_spring, at(3, 3))
    s.click_counts(w.spring, w.ann, date(2026, 3, 3), clicks=10, unique=8)
    s.click_counts(w.spring, w.ann, date(2026, 3, 4), clicks=4, unique=4, channel="x")
    s.click_counts(w.summer, w.ann, date(2026, 3, 11), clicks=6, unique=5, channel="x")
    s.click_counts(w.spring, w.ann, date(2026, 3, 5), bots=50)
    s.click_counts(w.spring, w.ann, date(2026, 3, 1), clicks=99, unique=99)
    s.click_counts(w.spring, w.bob, date(2026, 3, 3), clicks=7, unique=7)
    buyer = s.visitor().clicked(ann_spring, at(3, 3, 10))
    buyer.clicked(bob_spring, at(3, 4, 10))
    buyer.lead("cus_1", at=at(3, 5)).buys("1000.00", at=at(3, 12), invoice_id="INV-1")
    s.attribute()
    with tenant_scope(org):
        rule = RewardRuleFactory(organization=org)
        entry = {"organization": org, "rule": rule, "ambassador": w.ann}
        EarningEntryFactory(**entry, amount=Decimal("25.00"), earned_at=at(3, 6), campaign=w.spring)
        EarningEntryFactory(**entry, amount=Decimal("40.00"), earned_at=at(3, 6), campaign=w.spring,
                            status="canceled")
        EarningEntryFactory(**entry, unit="points", currency="", amount=Decimal("30"), earned_at=at(3, 12),
                            campaign=w.summer)
        EarningEntryFactory(**entry, currency="USD", amount=Decimal("7.00"), earned_at=at(3, 7), campaign=w.spring)
        EarningEntryFactory(**entry, amount=Decimal("99.00"), earned_at=at(3, 16, 0, 30), campaign=w.spring)
    return w


def flt(w, **kwargs):
    return ReportFilter(w.org.pk, Period(START, END, PARIS, "custom"), **kwargs)


def perf(w, ambassador=None, grain=None, **kwargs):
    with tenant_scope(w.org):
        return ambassador_performance(flt(w, **kwargs), (ambassador or w.ann).pk, grain=grain)


def numbers(fig):
    return (fig.shares, fig.clicks, fig.unique_clicks, fig.leads, fig.customers, fig.revenue, fig.points,
            fig.time_cost, fig.earned, fig.reward_points)


@pytest.mark.django_db
def test_totals_by_week_campaign_and_channel(world):
    p = perf(world, grain="week")
    # points: 3 shares + 17 unique + 0.5 lead × 25 + 500.00 × 0.1; time: 2 × 5 min + 1 × 10 min at 60.00/h
    assert numbers(p.totals) == (3, 20, 17, Decimal("0.5000"), Decimal("0.5000"), Decimal("500.00"),
                                 Decimal("82.50"), Decimal("20.00"), Decimal("25.00"), 30)
    assert p.other_currencies == {"USD": Decimal("7.00")}
    assert [(line.key, line.label) for line in p.by_period] == [("2026-03-02", "Week of 2 Mar 2026"),
                                                                 ("2026-03-09", "Week of 9 Mar 2026")]
    assert [numbers(line.figures) for line in p.by_period] == [
        (2, 14, 12, Decimal("0.5000"), Decimal("0.0000"), Decimal("0.00"), Decimal("26.50"), Decimal("10.00"),
         Decimal("25.00"), 0),
        (1, 6, 5, Decimal("0.0000"), Decimal("0.5000"), Decimal("500.00"), Decimal("56.00"), Decimal("10.00"),
         Decimal("0.00"), 30)]
    assert [(line.label, line.key) for line in p.by_campaign] == [("Spring", str(world.spring.public_id)),
                                                                   ("Summer", str(world.summer.public_id))]
    assert [numbers(line.figures) for line in p.by_campaign] == [
        (2, 14, 12, Decimal("0.5000"), Decimal("0.5000"), Decimal("500.00"), Decimal("76.50"), Decimal("10.00"),
         Decimal("25.00"), 0),
        (1, 6, 5, Decimal("0.0000"), Decimal("0.0000"), Decimal("0.00"), Decimal("6.00"), Decimal("10.00"),
         Decimal("0.00"), 30)]
    # By channel: shares, clicks and time; credits and the ledger are not kept per ambassador and channel.
    assert [(line.key, line.figures.shares, line.figures.clicks, line.figures.unique_clicks, line.figures.time_cost,
             line.figures.leads, line.figures.earned) for line in p.by_channel] == [
        ("linkedin", 2, 10, 8, Decimal("10.00"), None, None), ("x", 1, 10, 9, Decimal("10.00"), None, None)]


@pytest.mark.django_db
def test_figures_match_the_leaderboard_and_the_campaign_roi(world):
    p = perf(world)
    with tenant_scope(world.org):
        row = next(r for r in leaderboard(flt(world), "points") if r.ambassador_id == world.ann.pk)
        roi_lines = {c.pk: next(line for line in campaign_roi(flt(world), c.pk).ambassadors
                                if line.ambassador_id == world.ann.pk) for c in (world.spring, world.summer)}
    assert (p.totals.shares, p.totals.clicks, p.totals.unique_clicks, p.totals.leads, p.totals.customers,
            p.totals.revenue, p.totals.points) == (row.shares, row.clicks, row.unique_clicks, row.leads,
                                                   row.customers, row.revenue, row.points)
    by_campaign = {line.key: line.figures.time_cost for line in p.by_campaign}
    for campaign in (world.spring, world.summer):
        assert by_campaign[str(campaign.public_id)] == roi_lines[campaign.pk].time_cost


@pytest.mark.django_db
def test_model_moves_credit_but_not_points_and_grains(world):
    first = perf(world, model="first_touch")
    assert (first.totals.leads, first.totals.revenue, first.totals.points) == (
        Decimal("1.0000"), Decimal("1000.00"), Decimal("82.50"))  # points follow the reporting model
    assert perf(world, ambassador=world.bob, model="first_touch").totals.revenue == Decimal("0.00")
    by_day = perf(world, grain="day")
    assert len(by_day.by_period) == 14 and by_day.by_period[1].figures.clicks == 10
    by_month = perf(world, grain="month")
    assert [line.label for line in by_month.by_period] == ["Mar 2026"]
    assert perf(world).grain == "day"  # 14 days: by day unless asked
    assert sum(line.figures.clicks for line in by_day.by_period) == by_day.totals.clicks


@pytest.mark.django_db
def test_campaign_filter(world):
    p = perf(world, campaign_ids=(world.summer.pk,))
    assert numbers(p.totals) == (1, 6, 5, Decimal("0.0000"), Decimal("0.0000"), Decimal("0.00"), Decimal("6.00"),
                                 Decimal("10.00"), Decimal("0.00"), 30)
    assert [line.label for line in p.by_campaign] == ["Summer"]


@pytest.mark.django_db
def test_a_fixed_number_of_queries_whatever_the_campaigns(world):
    s = Scenario(world.org)
    perf(world)  # the points rules are stored on first use
    with CaptureQueriesContext(connection) as few:
        perf(world)
    for n in range(5):
        campaign = s.campaign(f"Extra {n}", slug=f"extra-{n}")
        s.click_counts(campaign, world.ann, date(2026, 3, 9), clicks=1, unique=1)
        s.shares(s.link(campaign, world.ann, code=f"De{n:06d}"), at(3, 9))
    with CaptureQueriesContext(connection) as more:
        p = perf(world)
    assert len(more) == len(few) <= 10
    assert len(p.by_campaign) == 7


def manager_client(client, org):
    client.force_login(member(org, Role.MANAGER))
    return client


@pytest.mark.django_db
def test_page_shows_the_selectors_figures_and_the_csv_matches(client, world):
    manager_client(client, world.org)
    url = reverse("report_ambassador", args=[world.org.slug, world.ann.public_id])
    response = client.get(url, {**PARAMS, "grain": "week"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-figure="clicks">20<' in html and 'data-figure="revenue">€500.00<' in html
    assert 'data-figure="time_cost">€20.00<' in html and 'data-figure="earned">€25.00<' in html
    assert 'data-figure="points">82.50<' in html and "$7.00" in html
    assert "Week of 9 Mar 2026" in html and "Performance of Ann" in html
    spec = response.context["chart"]  # the trend chart: the same figures as the table by week
    assert spec["labels"] == ["Week of 2 Mar 2026", "Week of 9 Mar 2026"]
    assert [s["values"] for s in spec["series"]] == [[14, 6], ["0.5000", "0.0000"], ["0.00", "500.00"]]
    assert spec["y2"]["title"] == "Revenue (EUR)" and 'id="ambassador-trend"' in html
    rows = parse_csv(client.get(reverse("report_ambassador_csv", args=[world.org.slug, world.ann.public_id]),
                                {**PARAMS, "grain": "week", "table": "periods"}))
    assert [(r["period_start"], r["clicks"], r["revenue"], r["time_cost"], r["earned"]) for r in rows] == [
        ("2026-03-02", "14", "0.00", "10.00", "25.00"), ("2026-03-09", "6", "500.00", "10.00", "0.00")]
    channels = parse_csv(client.get(reverse("report_ambassador_csv", args=[world.org.slug, world.ann.public_id]),
                                    {**PARAMS, "table": "channels"}))
    assert [(r["channel"], r["clicks"], r["leads"]) for r in channels] == [("linkedin", "10", ""), ("x", "10", "")]
    # The profile links to the drill-down.
    detail = client.get(reverse("ambassador_detail", args=[world.org.slug, world.ann.public_id])).content.decode()
    assert url in detail


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "field", "words"), [
    ({"grain": "year"}, "grain", "Unknown grain"),
    ({"period": "custom", "start": "2026-01-01", "end": "2026-06-30", "grain": "day"}, "grain", "up to 92 days"),
    ({"period": "custom", "start": "2026-03-02"}, "period", "end date"),
    ({"model": "nope"}, "model", "Unknown model"),
    ({"campaign": "not-a-uuid"}, "campaign", "UUID"),
])
def test_bad_parameters_answer_400_with_a_message(client, world, params, field, words):
    manager_client(client, world.org)
    response = client.get(reverse("report_ambassador", args=[world.org.slug, world.ann.public_id]), params)
    assert response.status_code == 400
    assert words in response.content.decode()
    csv = client.get(reverse("report_ambassador_csv", args=[world.org.slug, world.ann.public_id]), params)
    assert csv.status_code == 400 and words in csv.content.decode()
    assert client.get(reverse("report_ambassador_csv", args=[world.org.slug, world.ann.public_id]),
                      {"table": "nope"}).status_code == 400


@pytest.mark.django_db
def test_tenancy_and_roles(client, world):
    rival = OrganizationFactory(name="Rival", slug="rival")
    rival_ambassador = Scenario(rival).ambassador("Roger Rival")
    manager_client(client, world.org)
    # B's ambassador under A's slug, and an unknown id: 404.
    for public_id in (rival_ambassador.public_id, uuid.uuid4()):
        for name in ("report_ambassador", "report_ambassador_csv"):
            assert client.get(reverse(name, args=[world.org.slug, public_id])).status_code == 404
    # A's ambassador under B's slug: A's manager is no member of B.
    assert client.get(reverse("report_ambassador", args=[rival.slug, world.ann.public_id])).status_code == 404
    # A plain ambassador of A may not open it.
    client.force_login(member(world.org, Role.AMBASSADOR, ambassador=True))
    member_role = client.get(reverse("report_ambassador", args=[world.org.slug, world.ann.public_id]))
    assert member_role.status_code == 403
    assert client.get(reverse("ambassador_list", args=[world.org.slug])).status_code == 403


# --- the ambassadors list --------------------------------------------------------------------------

def list_rows(client, org, **params):
    response = client.get(reverse("ambassador_list", args=[org.slug]), {**PARAMS, **params})
    assert response.status_code == 200, response.content.decode()[:2000]
    return response, [a.display_name for a in response.context["ambassadors"]]


@pytest.mark.django_db
def test_list_figures_and_sorts(client, world):
    with tenant_scope(world.org):
        figures = list_figures(flt(world))
    ann = figures[world.ann.pk]
    assert (ann.clicks, ann.leads, ann.revenue, ann.points, ann.earned) == (
        20, Decimal("0.5000"), Decimal("500.00"), Decimal("82.50"), Decimal("25.00"))
    assert perf(world).totals.points == ann.points
    # Whole weeks come from the weekly rollups, the edge days from the daily ones: with Sunday 1 March.
    with tenant_scope(world.org):
        wider = ReportFilter(world.org.pk, Period(date(2026, 3, 1), END, PARIS, "custom"))
        assert list_figures(wider)[world.ann.pk].clicks == 20 + 99
        assert perf(world).totals.clicks + 99 == ambassador_performance(wider, world.ann.pk).totals.clicks
        only_bob = list_figures(flt(world), [world.bob.pk])
    assert set(only_bob) == {world.bob.pk} and only_bob[world.bob.pk].clicks == 7
    Scenario(world.org).ambassador("Aaron")  # no activity: zeros, sorts last by clicks
    manager_client(client, world.org)
    _, names = list_rows(client, world.org)
    assert names == ["Aaron", "Ann", "Bob"]
    _, names = list_rows(client, world.org, sort="-name")
    assert names == ["Bob", "Ann", "Aaron"]
    _, names = list_rows(client, world.org, sort="-clicks")
    assert names == ["Ann", "Bob", "Aaron"]
    _, names = list_rows(client, world.org, sort="clicks")
    assert names == ["Aaron", "Bob", "Ann"]
    _, names = list_rows(client, world.org, sort="-earned")
    assert names == ["Ann", "Aaron", "Bob"]  # equal values stay in name order
    response, names = list_rows(client, world.org, sort="-revenue", model="first_touch")
    assert names == ["Ann", "Aaron", "Bob"]
    html = response.content.decode()
    assert "€1,000.00" in html and 'aria-sort="descending"' in html
    assert reverse("report_ambassador", args=[world.org.slug, world.ann.public_id]) in html


@pytest.mark.django_db
def test_list_keeps_filters_and_paginates(client, world, monkeypatch):
    from portal import ambassadors as list_view

    monkeypatch.setattr(list_view, "PAGE_SIZE", 2)
    s = Scenario(world.org)
    s.ambassador("Zed")
    s.ambassador("Carol")
    manager_client(client, world.org)
    response, names = list_rows(client, world.org, sort="-clicks")
    assert names == ["Ann", "Bob"]
    assert "Page 1 of 2" in response.content.decode()
    _, names = list_rows(client, world.org, sort="-clicks", page="2")
    assert names == ["Carol", "Zed"]
    _, names = list_rows(client, world.org, sort="name", page="2")
    assert names == ["Carol", "Zed"]
    _, names = list_rows(client, world.org, q="bo", sort="-clicks")
    assert names == ["Bob"]


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "words"), [
    ({"sort": "salary"}, "Unknown sort"),
    ({"sort": "--clicks"}, "Unknown sort"),
    ({"period": "forever"}, "Unknown period"),
    ({"model": "nope"}, "Unknown model"),
])
def test_list_refuses_bad_parameters_with_a_message(client, world, params, words):
    manager_client(client, world.org)
    response = client.get(reverse("ambassador_list", args=[world.org.slug]), params)
    assert response.status_code == 400
    assert words in response.content.decode()


@pytest.mark.django_db
def test_list_shows_no_other_organisations_ambassadors(client, world):
    rival = OrganizationFactory(name="Rival", slug="rival")
    Scenario(rival).ambassador("Roger Rival")
    manager_client(client, world.org)
    response, names = list_rows(client, world.org, sort="-clicks")
    assert "Roger Rival" not in names and "Roger Rival" not in response.content.decode()


# --- the API twin ----------------------------------------------------------------------------------

def api_url(org, ambassador_id):
    return f"/api/v1/o/{org.slug}/ambassadors/{ambassador_id}/performance/"


@pytest.mark.django_db
def test_api_gives_the_pages_figures_exactly(client, world):
    manager_client(client, world.org)
    response = client.get(api_url(world.org, world.ann.public_id), {**PARAMS, "grain": "week"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["grain"], data["model"], data["currency"], data["ambassador"]["name"]) == (
        "week", "linear", "EUR", "Ann")
    assert data["period"] == {"key": "custom", "start": "2026-03-02", "end": "2026-03-15",
                              "time_zone": "Europe/Paris"}
    assert data["totals"] == {"shares": 3, "clicks": 20, "unique_clicks": 17, "leads": "0.5000",
                              "customers": "0.5000", "revenue": "500.00", "points": "82.50", "time_cost": "20.00",
                              "earned": "25.00", "reward_points": 30}
    assert [(line["key"], line["figures"]["clicks"], line["figures"]["revenue"]) for line in data["periods"]] == [
        ("2026-03-02", 14, "0.00"), ("2026-03-09", 6, "500.00")]
    assert [line["label"] for line in data["campaigns"]] == ["Spring", "Summer"]
    assert data["channels"][0]["key"] == "linkedin" and data["channels"][0]["figures"]["leads"] is None
    assert data["other_currencies"] == {"USD": "7.00"}


@pytest.mark.django_db
def test_api_refuses_bad_parameters_and_other_organisations(client, world):
    manager_client(client, world.org)
    url = api_url(world.org, world.ann.public_id)
    bad = client.get(url, {"grain": "year"})
    assert bad.status_code == 400 and "Unknown grain" in bad.json()["grain"][0]
    assert "model" in client.get(url, {"model": "nope"}).json()
    rival = OrganizationFactory(name="Rival", slug="rival")
    rival_ambassador = Scenario(rival).ambassador("Roger Rival")
    missing = client.get(api_url(world.org, rival_ambassador.public_id))
    assert missing.status_code == 404 and missing["Content-Type"].startswith("application/json")
    assert client.get(api_url(rival, world.ann.public_id)).status_code == 404
    client.force_login(member(world.org, Role.AMBASSADOR, ambassador=True))
    assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_api_is_in_the_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/o/{org_slug}/ambassadors/{public_id}/performance/"]["get"]
    assert operation["operationId"] == "reports_ambassador_performance"
    assert {p["name"] for p in operation["parameters"]} >= {"period", "start", "end", "model", "campaign", "grain"}


@pytest.mark.django_db
def test_leaderboard_and_campaign_roi_link_to_the_drilldown(client, world):
    manager_client(client, world.org)
    drilldown = reverse("report_ambassador", args=[world.org.slug, world.ann.public_id])
    board = client.get(reverse("report_leaderboard", args=[world.org.slug]), PARAMS).content.decode()
    assert f'href="{drilldown}?period=custom&amp;start=2026-03-02&amp;end=2026-03-15">Ann</a>' in board
    roi = client.get(reverse("report_roi_detail", args=[world.org.slug, world.spring.public_id]), PARAMS)
    assert f'href="{drilldown}?period=custom&amp;start=2026-03-02&amp;end=2026-03-15">Ann</a>' in roi.content.decode()
