"""Campaign ROI: the hand-worked example on the page, the API and the CSV; the split between
internal and external ambassadors; no cost; 400s, roles, tenancy and query counts.

Data is built through the real services (tests/support/scenario.py): raw clicks run through
click processing, leads and sales recorded and attributed."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory, member
from tests.support.responses import content, csv_rows
from tests.support.scenario import Scenario

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}


# --- helpers ----------------------------------------------------------------------------------

def plain(text: str) -> str:
    """A page's number as the API and CSV write it (no currency, thousands separators or unit)."""
    return text.replace("€", "").replace(",", "").replace("%", "").replace("\u2212", "-").strip()


def unitless(row: dict) -> dict:
    """A CSV row keyed by column names without their unit ("revenue (EUR)" → "revenue")."""
    return {key.split(" (")[0]: value for key, value in row.items()}


def page_figures(html: str) -> dict[str, str]:
    return {name: plain(value) for name, value in
            re.findall(r'data-figure="(\w+)">(?:<strong>)?([^<]*)', html)}


# --- fixtures ----------------------------------------------------------------------------------

@pytest.fixture
def worked(org):
    """Spend 500.00; 10 shares × 6 min × 60.00/h; a lead and a 1,200.00 sale credited."""
    s = Scenario(org)
    campaign = s.campaign("Spring", minutes_per_share=Decimal("6"))
    the_link = s.link(campaign, s.ambassador(hourly_rate=Decimal("60.00")))
    s.cost(campaign, date(2026, 3, 5), "500.00")
    s.shares(the_link, s.at(2026, 3, 10, 12), times=10)
    buyer = s.visitor().clicks(the_link, s.at(2026, 3, 15, 10))
    s.process()
    buyer.lead("cus_1", at=s.at(2026, 3, 15, 11)).buys("1200.00", at=s.at(2026, 3, 20, 9))
    s.attribute()
    return campaign


def urls(org, campaign=None):
    base = f"/o/{org.slug}/reports/roi/"
    if campaign is None:
        return base, f"/o/{org.slug}/reports/roi.csv", f"/api/v1/o/{org.slug}/reports/roi/"
    return (f"{base}{campaign.public_id}/", f"{base}{campaign.public_id}.csv",
            f"/api/v1/o/{org.slug}/reports/roi/{campaign.public_id}/")


EXPECTED = {"revenue": "1200.00", "spend": "500.00", "rewards": "0.00", "time_cost": "60.00", "cost": "560.00",
            "profit": "640.00", "roi": "1.1429", "cost_per_lead": "560.00", "cost_per_customer": "560.00",
            "revenue_per_share": "120.00"}


@pytest.mark.django_db
def test_the_hand_worked_roi_is_the_same_on_page_api_and_csv(worked, org, manager, login):
    client = login(manager)
    page_url, csv_url, api_url = urls(org, worked)

    page = client.get(page_url, MARCH)
    assert page.status_code == 200
    shown = page_figures(page.content.decode())
    api = client.get(api_url, MARCH).json()
    exported = {row["item"].split(" (")[0]: row["value"]
                for row in csv_rows(client.get(csv_url, MARCH | {"table": "figures"}))}
    for name, value in EXPECTED.items():
        if name == "roi":  # a ratio in the API's roi; in % everywhere else (exact in CSV and roi_percent)
            assert (shown[name], api["figures"][name], api["figures"]["roi_percent"], exported[name]) == (
                "114.3", "1.1429", "114.29", "114.29")
            continue
        assert shown[name] == value, name
        assert api["figures"][name] == value, name
        assert exported[name] == value, name
    assert api["figures"]["shares"] == 10 and exported["shares"] == "10"
    assert api["figures"]["leads"] == "1.0000" and api["figures"]["customers"] == "1.0000"
    html = page.content.decode()
    assert "10 shares × 6 min per share" in html  # the formula spelled out
    assert "€500.00 + €0.00 + €60.00" in html

    # The list: the campaign's row and the programme total say the same.
    list_page, list_csv, list_api = urls(org)
    listed = client.get(list_api, MARCH).json()
    assert listed["campaigns"][0]["figures"]["roi"] == "1.1429"
    assert listed["total"]["cost"] == "560.00" and listed["total"]["roi"] == "1.1429"
    rows = csv_rows(client.get(list_csv, MARCH))
    assert [(row["campaign"], row["cost (EUR)"], row["roi (%)"]) for row in rows] == [
        ("Spring", "560.00", "114.29"), ("Total (programme)", "560.00", "114.29")]
    list_html = client.get(list_page, MARCH).content.decode()
    assert "114.3 %" in list_html and "€560.00" in list_html and "€1,200.00" in list_html


@pytest.mark.django_db
def test_the_period_decides_what_counts(worked, org, manager, login):
    client = login(manager)
    april = {"period": "custom", "start": "2026-04-01", "end": "2026-04-30"}
    figures = client.get(urls(org, worked)[2], april).json()["figures"]
    assert (figures["revenue"], figures["cost"], figures["roi"], figures["shares"]) == ("0.00", "0.00", None, 0)


@pytest.mark.django_db
def test_internal_and_external_split(org, manager, login):
    s = Scenario(org)
    campaign = s.campaign(minutes_per_share=Decimal("6"))
    employee = s.ambassador(kind="internal", hourly_rate=Decimal("60.00"))
    partner = s.ambassador(kind="external", hourly_rate=Decimal("30.00"))
    employee_link, partner_link = s.link(campaign, employee), s.link(campaign, partner)
    s.cost(campaign, date(2026, 3, 2), "500.00")
    s.shares(employee_link, s.at(2026, 3, 3, 9), times=10)
    s.shares(partner_link, s.at(2026, 3, 3, 9), channel="x", times=4)
    employees_buyer = s.visitor().clicks(employee_link, s.at(2026, 3, 4, 9))
    partners_buyer = s.visitor().clicks(partner_link, s.at(2026, 3, 4, 9))
    s.process()
    employees_buyer.lead("a", at=s.at(2026, 3, 4, 10)).buys("1200.00")
    partners_buyer.lead("b", at=s.at(2026, 3, 4, 10)).buys("300.00")
    s.attribute()

    client = login(manager)
    page_url, csv_url, api_url = urls(org, campaign)
    data = client.get(api_url, MARCH).json()
    split = {row["kind"]: row for row in data["split"]}
    assert (split["internal"]["revenue"], split["internal"]["time_cost"], split["internal"]["shares"]) == (
        "1200.00", "60.00", 10)
    assert (split["external"]["revenue"], split["external"]["time_cost"], split["external"]["shares"]) == (
        "300.00", "12.00", 4)
    assert data["unsplit_spend"] == "500.00"
    assert data["figures"]["cost"] == "572.00"  # 500 + 60 + 12: own costs + unsplit spend
    assert sum(Decimal(row["own_cost"]) for row in data["split"]) + Decimal(data["unsplit_spend"]) == Decimal("572.00")
    assert data["figures"]["revenue"] == "1500.00"

    rows = {row["kind"]: unitless(row) for row in csv_rows(client.get(csv_url, MARCH | {"table": "split"}))}
    assert rows["internal"]["revenue"] == "1200.00" and rows["external"]["time_cost"] == "12.00"
    assert rows["campaign spend (not split)"]["own_cost"] == "500.00"
    assert rows["total (cost = the lines above)"]["own_cost"] == "572.00"  # 60.00 + 12.00 + 500.00
    html = client.get(page_url, MARCH).content.decode()
    assert "Campaign spend (not split)" in html and "not divided up" in html

    ambassadors = {row["kind"]: unitless(row)
                   for row in csv_rows(client.get(csv_url, MARCH | {"table": "ambassadors"}))}
    assert (ambassadors["external"]["hourly_rate"], ambassadors["external"]["time_cost"]) == ("30.00", "12.00")

    only_external = client.get(api_url, MARCH | {"kind": "external"}).json()
    assert [row["kind"] for row in only_external["split"]] == ["external"]
    assert only_external["figures"]["revenue"] == "300.00"


@pytest.mark.django_db
def test_no_cost_shows_a_dash_not_an_error(org, manager, login):
    s = Scenario(org)
    campaign = s.campaign("Free")
    buyer = s.visitor().clicks(s.link(campaign), s.at(2026, 3, 4, 9))
    s.process()
    buyer.lead("a", at=s.at(2026, 3, 4, 10)).buys("50.00")
    s.attribute()
    client = login(manager)
    page_url, csv_url, api_url = urls(org, campaign)
    page = client.get(page_url, MARCH)
    assert page.status_code == 200
    figures = page_figures(page.content.decode())
    assert figures["cost"] == "0.00" and figures["roi"] == "—" and figures["revenue_per_share"] == "—"
    assert "no cost in the period" in page.content.decode()
    assert client.get(api_url, MARCH).json()["figures"]["roi"] is None
    exported = {row["item"].split(" (")[0]: row["value"] for row in csv_rows(client.get(csv_url, MARCH))}
    assert exported["roi"] == "" and exported["revenue"] == "50.00"
    list_page = client.get(urls(org)[0], MARCH)
    assert list_page.status_code == 200 and 'class="num roi">—' in list_page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "field", "fragment"), [
    ({"period": "fortnight"}, "period", "Unknown period"),
    ({"period": "custom", "start": "2026-03-31", "end": "2026-03-01"}, "period", "before the start"),
    ({"model": "gut_feeling"}, "model", "Unknown model"),
    ({"campaign": "not-a-uuid"}, "campaign", "UUID"),
    ({"kind": "robot"}, "kind", "Kind must be"),
    ({"group": "x"}, "group", "number"),
])
def test_bad_parameters_answer_400_with_the_reason(org, manager, login, params, field, fragment):
    client = login(manager)
    page_url, csv_url, api_url = urls(org)
    page = client.get(page_url, params)
    assert page.status_code == 400 and fragment in page.content.decode()
    api = client.get(api_url, params)
    assert api.status_code == 400 and fragment in api.json()[field][0]
    assert client.get(csv_url, params).status_code == 400


@pytest.mark.django_db
def test_ambassadors_may_not_see_roi(worked, org, ambassador_user, login):
    client = login(ambassador_user)
    for url in (*urls(org), *urls(org, worked)):
        assert client.get(url, MARCH).status_code == 403, url


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN, Role.OWNER])
def test_managers_and_up_see_roi(worked, org, login, role):
    client = login(member(org, role))
    for url in (*urls(org), *urls(org, worked)):
        assert client.get(url, MARCH).status_code == 200, url


@pytest.mark.django_db
def test_another_organisations_reports_and_campaigns_are_404(worked, org, other_org, manager, login):
    outsider = member(other_org, Role.OWNER)
    client = login(outsider)
    for url in (*urls(org), *urls(org, worked)):
        assert client.get(url, MARCH).status_code == 404, url
    # Their own organisation's URLs with our campaign's id: 404 too (page, CSV and API).
    for url in urls(other_org, worked):
        assert client.get(url, MARCH).status_code == 404, url
    # A campaign id of another organisation as a filter: 400, never its numbers.
    response = client.get(urls(other_org)[2], {"campaign": str(worked.public_id)})
    assert response.status_code == 400 and "No campaign" in response.json()["campaign"][0]


@pytest.mark.django_db
def test_query_count_does_not_grow_with_campaigns_and_ambassadors(org, manager, login):
    client = login(manager)
    s = Scenario(org)

    def add(n):
        for _ in range(n):
            campaign = s.campaign(minutes_per_share=Decimal("5"))
            the_link = s.link(campaign)
            s.cost(campaign, date(2026, 3, 2), "100.00")
            s.shares(the_link, s.at(2026, 3, 3, 9), times=2)
            s.visitor().clicks(the_link, s.at(2026, 3, 3, 10))
        s.process()

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, MARCH)
            content(response)
        assert response.status_code == 200
        return len(queries)

    add(1)
    [count(url) for url in urls(org)]  # warm-up: the first request also loads the session, caches
    first = [count(url) for url in urls(org)]
    add(5)
    with tenant_scope(org):
        last_campaign = CampaignFactory._meta.model.objects.order_by("-pk").first()
    assert [count(url) for url in urls(org)] == first
    before = [count(url) for url in urls(org, last_campaign)]
    add(3)
    assert [count(url) for url in urls(org, last_campaign)] == before
