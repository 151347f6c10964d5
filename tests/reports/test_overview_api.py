"""The overview API (GET /api/v1/o/<slug>/reports/overview/) equals the overview page (/o/<slug>/reports/)
for the same filters: one test walks both, for the programme worked by hand in tests/support/programmes.py,
and checks every figure the page shows — the cards (exact values from the view's context, and the text in
the HTML as the page formats the API's value), the cost line, revenue vs cost over time, the daily
charts, the channels and the top ambassadors. Then 400s, another organisation (404) and roles (403)."""

import html
import json
import re
from decimal import Decimal

import pytest

from reports.figures import format_money, locale_of, roi_percent
from reports.selectors.summary import change_display, display
from tenancy.models import Role
from tests.factories import member
from tests.support.programmes import WEEK, build_programme
from tests.support.tracking import api as api_key_client

CUSTOM_WEEK = {"period": "custom", "start": WEEK[0], "end": WEEK[1]}
FILTERS = [
    {},  # the default, 30 days ending today
    CUSTOM_WEEK,
    CUSTOM_WEEK | {"kind": "external"},
    CUSTOM_WEEK | {"kind": "internal", "model": "linear"},
    {"period": "custom", "start": "2026-01-01", "end": "2026-06-30", "model": "first_touch"},  # months
    CUSTOM_WEEK | {"campaign": "<the campaign>"},
    {"period": "quarter", "model": "position_based"},
]


@pytest.fixture
def programme(ny_org):
    return build_programme(ny_org)


def api_url(org) -> str:
    return f"/api/v1/o/{org.slug}/reports/overview/"


def page_url(org) -> str:
    return f"/o/{org.slug}/reports/"


def exact(value):
    return None if value is None else Decimal(str(value))


def page_cards(text: str) -> dict[str, tuple[str, str, str]]:
    """name → (value, change, before) as the page's HTML writes them."""
    found = re.findall(r'data-figure="(\w+)">\s*<div class="label">[^<]*</div>\s*<div class="value">([^<]*)</div>'
                       r'.*?<span class="delta">([^<]*)</span>.*?<small>before: ([^<]*)</small>', text, re.S)
    return {name: tuple(html.unescape(part) for part in parts) for name, *parts in found}


def chart_spec(text: str, chart_id: str) -> dict:
    data_id = re.search(rf'id="{chart_id}" data-chart-spec="([^"]+)"', text).group(1)
    return json.loads(re.search(rf'<script id="{data_id}" type="application/json">(.*?)</script>', text, re.S).group(1))


@pytest.mark.django_db
@pytest.mark.parametrize("params", FILTERS,
                         ids=["default", "custom", "kind", "kind-linear", "half-year", "campaign", "quarter"])
def test_the_overview_api_equals_the_overview_page(ny_org, programme, login, params):
    if "campaign" in params:
        params = params | {"campaign": str(programme["campaign"].public_id)}
    client = login(member(ny_org, Role.MANAGER))
    page = client.get(page_url(ny_org), params)
    response = client.get(api_url(ny_org), params)
    assert page.status_code == 200 and response.status_code == 200, response.content
    api, context, text = response.json(), page.context, page.content.decode()

    # The envelope: the page's period, the one compared with, the model and the currency.
    assert (api["period"]["start"], api["period"]["end"]) == (str(context["period"].start), str(context["period"].end))
    assert api["period"]["label"] == context["period"].label and html.escape(api["period"]["label"]) in text
    assert (api["previous_period"]["start"], api["previous_period"]["end"]) == (
        str(context["previous"].start), str(context["previous"].end))
    assert api["model"] == (params.get("model") or context["reporting_model"])
    assert api["currency"] == ny_org.currency == context["currency"]

    # Every figure of both periods and every change, exactly.
    figures = context["figures"]
    for name, value in api["current"].items():
        if name == "roi_percent":
            assert exact(value) == roi_percent(figures.current.roi)
            assert exact(api["previous"][name]) == roi_percent(figures.previous.roi)
            continue
        assert exact(value) == exact(getattr(figures.current, name)), name
        assert exact(api["previous"][name]) == exact(getattr(figures.previous, name)), name
        assert exact(api["change"][name]) == exact(figures.change[name]), name

    # The cards: the page's text is the API's value formatted the page's way.
    shown = page_cards(text)
    assert [card["name"] for card in api["cards"]] == [card["name"] for card in context["cards"]] == list(shown)
    for card in api["cards"]:
        name, kind = card["name"], card["kind"]
        unit = "pp" if kind == "ratio" else "%"
        expected = (display(exact(api["current"][name]), kind, ny_org),
                    change_display(exact(api["change"][name]), unit),
                    display(exact(api["previous"][name]), kind, ny_org))
        assert shown[name] == expected == (card["display"], card["change_display"], card["previous_display"]), name

    # The cost line under the cards: spend, time and (when any) rewards, in the page's money format.
    locale = locale_of(ny_org)
    money = lambda amount: format_money(exact(amount), ny_org.currency, locale=locale)  # noqa: E731
    assert f"Cost = spend {money(api['current']['spend'])} + ambassadors' time " \
           f"{money(api['current']['time_cost'])}" in html.unescape(text)
    if exact(api["current"]["rewards"]):
        assert f"+ rewards {money(api['current']['rewards'])}" in html.unescape(text)

    # Revenue vs cost over time (the chart's data) and the break-even said under it.
    spec = chart_spec(text, "overview-timeline")
    series = {line["label"]: [exact(value) for value in line["values"]] for line in spec["series"]}
    points = api["timeline"]["points"]
    for label, key in (("Revenue", "revenue"), ("Cost", "cost"), ("Cumulative revenue", "cumulative_revenue"),
                       ("Cumulative cost", "cumulative_cost"), ("Cumulative ROI", "cumulative_roi_percent")):
        assert series[label] == [exact(point[key]) for point in points], label
    if points:  # the running totals end on the period's figures
        assert exact(points[-1]["cumulative_revenue"]) == exact(api["current"]["revenue"])
        assert exact(points[-1]["cumulative_cost"]) == exact(api["current"]["cost"])
    if api["timeline"]["break_even"]:
        point = api["timeline"]["break_even"]
        assert f"cumulative revenue {money(point['cumulative_revenue'])} reached cumulative cost " \
               f"{money(point['cumulative_cost'])}" in html.unescape(text)

    # Day by day: the page's three charts.
    charts = {chart["name"]: chart for chart in context["charts"]}
    for name, key in (("clicks", "clicks"), ("leads", "leads"), ("revenue", "revenue")):
        assert [(str(bar["day"]), exact(bar["value"])) for bar in charts[name]["bars"]] == [
            (day["day"], exact(day[key])) for day in api["daily"]], name
        assert exact(charts[name]["total"]) == sum((exact(day[key]) for day in api["daily"]), Decimal(0))

    # The funnel chart (the current figures) and the channels chart.
    funnel = {bar["label"]: exact(bar["value"]) for bar in context["funnel_chart"]["bars"]}
    assert funnel == {"Shares": exact(api["current"]["shares"]), "Clicks": exact(api["current"]["clicks"]),
                      "Unique visitors": exact(api["current"]["unique_clicks"]),
                      "Leads": exact(api["current"]["leads"]), "Customers": exact(api["current"]["customers"])}
    assert {bar["label"]: bar["value"] for bar in context["channels_chart"]["bars"]} == {
        channel["label"]: channel["clicks"] for channel in api["channels"]}

    # The top ambassadors, in order.
    assert [(row.name, row.kind, row.clicks, row.leads, row.customers, row.revenue) for row in context["top"]] == [
        (row["name"], row["kind"], row["clicks"], exact(row["leads"]), exact(row["customers"]), exact(row["revenue"]))
        for row in api["top_ambassadors"]]
    assert [row["rank"] for row in api["top_ambassadors"]] == list(range(1, len(api["top_ambassadors"]) + 1))


@pytest.mark.django_db
def test_the_hand_worked_week_in_the_api(ny_org, programme, login):
    client = login(member(ny_org, Role.MANAGER))
    api = client.get(api_url(ny_org), CUSTOM_WEEK).json()
    now = api["current"]
    assert (now["shares"], now["clicks"], now["unique_clicks"]) == (5, 15, 13)
    assert (now["leads"], now["customers"], now["revenue"]) == ("2.0000", "1.0000", "300.00")
    assert (now["spend"], now["time_cost"], now["cost"], now["profit"]) == ("100.00", "24.00", "124.00", "176.00")
    assert (now["roi"], now["roi_percent"], now["cost_per_lead"]) == ("1.4194", "141.94", "62.00")
    assert api["previous"]["cost"] == "56.00" and api["change"]["roi"] == "63.4"
    assert api["change"]["revenue"] == "200.0" and api["change"]["customers"] == "0.0"
    assert [row["name"] for row in api["top_ambassadors"]] == ["Ada Lovelace", "Ben Franklin"]
    assert api["top_ambassadors"][0]["id"] == str(programme["ada"].public_id)
    assert api["period"] == {"key": "custom", "start": WEEK[0], "end": WEEK[1], "label": "2 Mar 2026 – 8 Mar 2026",
                             "time_zone": "America/New_York"}


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "field", "fragment"), [
    ({"period": "fortnight"}, "period", "Unknown period"),
    ({"period": "custom", "start": "2026-03-31", "end": "2026-03-01"}, "period", "before the start"),
    ({"period": "custom", "start": "2026-02-30", "end": "2026-03-01"}, "start", "is not a date"),
    ({"model": "gut_feeling"}, "model", "Unknown model"),
    ({"campaign": "not-a-uuid"}, "campaign", "UUID"),
    ({"kind": "robot"}, "kind", "Kind must be"),
    ({"group": "x"}, "group", "number"),
])
def test_bad_parameters_answer_400_naming_the_parameter(ny_org, login, params, field, fragment):
    client = login(member(ny_org, Role.MANAGER))
    page = client.get(page_url(ny_org), params)
    api = client.get(api_url(ny_org), params)
    assert page.status_code == api.status_code == 400
    assert api["Content-Type"].startswith("application/json")
    errors = api.json()
    assert field in errors, errors
    assert fragment.lower() in errors[field][0].lower(), errors


@pytest.mark.django_db
def test_another_organisations_overview_is_404(ny_org, programme, other_org, login):
    client = login(member(other_org, Role.OWNER))
    assert client.get(api_url(ny_org), CUSTOM_WEEK).status_code == 404
    # Their own overview with our campaign as a filter: a 400, never our numbers.
    response = client.get(api_url(other_org), {"campaign": str(programme["campaign"].public_id)})
    assert response.status_code == 400 and "campaign" in response.json()


@pytest.mark.django_db
def test_ambassadors_may_not_read_the_overview(ny_org, programme, login):
    client = login(member(ny_org, Role.AMBASSADOR, ambassador=True))
    assert client.get(api_url(ny_org), CUSTOM_WEEK).status_code == 403


@pytest.mark.django_db
def test_an_api_key_is_answered_as_by_the_other_report_apis(ny_org, programme, other_org):
    """Report APIs need a member's role (tenancy.roles.MinimumRole reads the membership): an organisation
    API key, which has none, gets the ROI API's answer, and another organisation's key never our figures."""
    roi_url = f"/api/v1/o/{ny_org.slug}/reports/roi/"
    for client in (api_key_client(ny_org), api_key_client(other_org)):
        overview, roi = client.get(api_url(ny_org), CUSTOM_WEEK), client.get(roi_url, CUSTOM_WEEK)
        assert overview.status_code == roi.status_code and overview.status_code in (401, 403, 404)
        assert overview["Content-Type"].startswith("application/json") and "300.00" not in overview.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN, Role.OWNER])
def test_managers_and_up_read_the_overview(ny_org, programme, login, role):
    assert login(member(ny_org, role)).get(api_url(ny_org), CUSTOM_WEEK).status_code == 200
