"""Model comparison: per-ambassador credit moves between first and last touch, the totals
don't; switching the reporting model changes revenue per ambassador, never the total;
page == API == CSV; the campaign view; roles, tenancy, 400s and query counts."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenancy.models import Role
from tests.factories import member
from tests.support.responses import content, csv_rows, without_units
from tests.support.scenario import Scenario

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}

MODELS = ["first_touch", "last_touch", "linear", "time_decay", "position_based"]


def model_urls(org):
    return (f"/o/{org.slug}/reports/models/", f"/o/{org.slug}/reports/models.csv",
            f"/api/v1/o/{org.slug}/reports/models/")


@pytest.fixture
def journey(org):
    """One visitor clicks Ada's link (campaign A), then Bo's (campaign B), then buys for 300.00."""
    s = Scenario(org)
    first, second = s.campaign("A"), s.campaign("B")
    ada, bo = s.ambassador("Ada"), s.ambassador("Bo", kind="external")
    visitor = s.visitor().clicks(s.link(first, ada), s.at(2026, 3, 10, 9))
    visitor.clicks(s.link(second, bo), s.at(2026, 3, 11, 9))
    s.process()
    visitor.lead("c", at=s.at(2026, 3, 12, 9)).buys("300.00")
    s.attribute()
    return {"ada": ada, "bo": bo, "A": first, "B": second}


def per_row(data, model, what="revenue"):
    return {row["name"]: next(m[what] for m in row["models"] if m["model"] == model) for row in data["rows"]}


@pytest.mark.django_db
def test_credit_moves_between_models_but_totals_do_not(journey, org, manager, login):
    client = login(manager)
    data = client.get(model_urls(org)[2], MARCH).json()
    assert per_row(data, "first_touch") == {"Ada": "300.00", "Bo": "0.00"}
    assert per_row(data, "last_touch") == {"Ada": "0.00", "Bo": "300.00"}
    assert per_row(data, "linear") == {"Ada": "150.00", "Bo": "150.00"}
    assert per_row(data, "first_touch", "leads") == {"Ada": "1.0000", "Bo": "0.0000"}
    totals = {m["model"]: (m["leads"], m["revenue"]) for m in data["total"]["models"]}
    assert set(totals.values()) == {("1.0000", "300.00")} and list(totals) == MODELS
    assert data["total"]["revenue_spread"] == "0.00" and data["totals_may_differ"] is False
    ada = next(row for row in data["rows"] if row["name"] == "Ada")
    assert (ada["revenue_spread"], ada["best_model"], ada["worst_model"]) == ("300.00", "first_touch", "last_touch")

    by_campaign = client.get(model_urls(org)[2], MARCH | {"by": "campaign"}).json()
    assert per_row(by_campaign, "first_touch") == {"A": "300.00", "B": "0.00"}
    assert per_row(by_campaign, "last_touch") == {"A": "0.00", "B": "300.00"}
    assert {m["revenue"] for m in by_campaign["total"]["models"]} == {"300.00"}


@pytest.mark.django_db
def test_switching_the_reporting_model_changes_revenue_per_ambassador_never_the_total(journey, org, manager,
                                                                                       login):
    client = login(manager)
    api_url = model_urls(org)[2]
    roi_url = f"/api/v1/o/{org.slug}/reports/roi/"
    seen = {}
    for model in MODELS:
        data = client.get(api_url, MARCH | {"model": model}).json()
        assert data["reporting_model"] == model
        seen[model] = per_row(data, model)
        assert sum(Decimal(value) for value in seen[model].values()) == Decimal("300.00")
        assert client.get(roi_url, MARCH | {"model": model}).json()["total"]["revenue"] == "300.00"
        funnel = client.get(f"/api/v1/o/{org.slug}/reports/funnel/", MARCH | {"model": model}).json()
        assert funnel["programme"]["revenue"] == "300.00"
    assert seen["first_touch"] != seen["last_touch"]
    # The rows are sorted by the reporting model's revenue.
    assert [row["name"] for row in client.get(api_url, MARCH | {"model": "first_touch"}).json()["rows"]] == ["Ada",
                                                                                                              "Bo"]
    assert [row["name"] for row in client.get(api_url, MARCH | {"model": "last_touch"}).json()["rows"]] == ["Bo",
                                                                                                             "Ada"]


@pytest.mark.django_db
def test_a_filter_can_make_totals_differ_and_says_so(journey, org, manager, login):
    client = login(manager)
    data = client.get(model_urls(org)[2], MARCH | {"campaign": str(journey["A"].public_id)}).json()
    assert data["totals_may_differ"] is True
    assert {m["model"]: m["revenue"] for m in data["total"]["models"]}["last_touch"] == "0.00"
    html = client.get(model_urls(org)[0], MARCH | {"campaign": str(journey["A"].public_id)}).content.decode()
    assert "totals may differ between models" in html


@pytest.mark.django_db
@pytest.mark.parametrize("by", ["ambassador", "campaign"])
def test_page_api_and_csv_agree(journey, org, manager, login, by):
    client = login(manager)
    page_url, csv_url, api_url = model_urls(org)
    params = MARCH | {"by": by}
    data = client.get(api_url, params).json()
    rows = without_units(csv_rows(client.get(csv_url, params)))
    assert [row[by] for row in rows] == [row["name"] for row in data["rows"]] + ["Total"]
    for exported, row in zip(rows, [*data["rows"], data["total"]], strict=True):
        for m in row["models"]:
            assert exported[f"{m['model']}_revenue"] == m["revenue"]
            assert exported[f"{m['model']}_leads"] == m["leads"]
        assert exported["revenue_spread"] == row["revenue_spread"]
    html = client.get(page_url, params).content.decode()
    for row in data["rows"]:
        assert f'data-row="{row["id"]}"' in html
    assert 'data-model="first_touch"' in html and "300.00" in html


@pytest.mark.django_db
def test_bad_by_roles_and_tenancy(journey, org, other_org, ambassador_user, login, manager):
    client = login(manager)
    page_url, csv_url, api_url = model_urls(org)
    assert client.get(page_url, {"by": "colour"}).status_code == 400
    assert client.get(csv_url, {"by": "colour"}).status_code == 400
    assert client.get(api_url, {"by": "colour"}).json()["by"][0].startswith("Compare by")
    client = login(ambassador_user)
    for url in model_urls(org):
        assert client.get(url).status_code == 403
    client = login(member(other_org, Role.OWNER))
    for url in model_urls(org):
        assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_query_count_is_constant(org, manager, login):
    client = login(manager)
    s = Scenario(org)

    def add(n):
        for i in range(n):
            campaign = s.campaign()
            buyer = s.visitor().clicks(s.link(campaign), s.at(2026, 3, 5, 9))
            s.process()
            buyer.lead(f"x{campaign.pk}-{i}", at=s.at(2026, 3, 5, 10)).buys("10.00")
            s.attribute()

    def count(by):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(model_urls(org)[0], MARCH | {"by": by})
            content(response)
        assert response.status_code == 200
        return len(queries)

    add(1)
    count("ambassador")
    before = (count("ambassador"), count("campaign"))
    add(4)
    assert (count("ambassador"), count("campaign")) == before
