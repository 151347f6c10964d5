"""The reports dashboard: key figures of a period against the period before, hand-computed
for a small programme in New York time (tests/support/programmes.py); top ambassadors; roles and
tenancy."""

from datetime import date
from decimal import Decimal

import pytest

from reports.filters import ReportFilter
from reports.periods import Period
from reports.selectors.summary import key_figures, top_ambassadors
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import member
from tests.support.programmes import WEEK, build_programme


@pytest.fixture
def programme(ny_org):
    return build_programme(ny_org)


def _week(org) -> Period:
    return Period(date.fromisoformat(WEEK[0]), date.fromisoformat(WEEK[1]), org.tzinfo)


def week_filter(org) -> ReportFilter:
    return ReportFilter(org.pk, _week(org))


def test_key_figures_worked_by_hand(ny_org, programme):
    with tenant_scope(ny_org):
        figures = key_figures(week_filter(ny_org))
    now, before = figures.current, figures.previous
    assert (now.shares, now.clicks, now.unique_clicks) == (5, 15, 13)
    assert (now.leads, now.customers, now.revenue) == (Decimal("2"), Decimal("1"), Decimal("300.00"))
    assert (now.spend, now.time_cost, now.cost) == (Decimal("100.00"), Decimal("24.00"), Decimal("124.00"))
    assert now.roi == Decimal("1.4194")  # (300 − 124) / 124
    assert (before.shares, before.clicks, before.leads, before.revenue, before.cost) == (
        1, 4, Decimal("1"), Decimal("100.00"), Decimal("56.00"))
    assert before.roi == Decimal("0.7857")  # (100 − 56) / 56
    assert figures.change["shares"] == Decimal("400.0")
    assert figures.change["revenue"] == Decimal("200.0")
    assert figures.change["cost"] == Decimal("121.4")
    assert figures.change["customers"] == Decimal("0.0")
    assert figures.change["roi"] == Decimal("63.4")  # percentage points


def test_top_ambassadors_by_revenue_then_leads(ny_org, programme):
    with tenant_scope(ny_org):
        top = top_ambassadors(week_filter(ny_org))
    assert [(row.name, row.clicks, row.leads, row.revenue) for row in top] == [
        ("Ada Lovelace", 10, Decimal("1"), Decimal("300.00")), ("Ben Franklin", 5, Decimal("1"), Decimal("0.00"))]


def test_change_is_none_when_there_is_nothing_to_compare_with(ny_org, programme):
    with tenant_scope(ny_org):
        figures = key_figures(ReportFilter(ny_org.pk, _week(ny_org).previous()))
    assert figures.change["shares"] is None and figures.previous.shares == 0


DASHBOARD_QUERY = {"period": "custom", "start": WEEK[0], "end": WEEK[1]}


def test_the_dashboard_shows_the_key_figures_and_the_change(ny_org, programme, login):
    manager = member(ny_org, Role.MANAGER)
    response = login(manager).get(f"/o/{ny_org.slug}/reports/", DASHBOARD_QUERY)
    assert response.status_code == 200
    cards = {card["name"]: card for card in response.context["cards"]}
    assert {name: cards[name]["display"] for name in cards} == {
        "shares": "5", "clicks": "15", "unique_clicks": "13", "leads": "2", "customers": "1",
        "revenue": "$300.00", "cost": "$124.00", "roi": "141.9 %"}  # the org's currency, USD
    assert cards["revenue"]["change_display"] == "+200.0 %"
    assert cards["roi"]["change_display"] == "+63.4 pp"
    page = response.content.decode()
    assert "141.9 %" in page and "+400.0 %" in page and "before: $56.00" in page
    assert page.index("Ada Lovelace") < page.index("Ben Franklin")
    assert "<svg" in page and "<title id=\"chart-clicks-title\">" in page  # the daily chart, with a title
    assert "Total 15; highest 10 on 3 Mar 2026." in page
    assert f'href="/o/{ny_org.slug}/reports/digest/"' in page
    # The funnel and the channel split, drawn from the same figures.
    funnel = {bar["label"]: bar["value"] for bar in response.context["funnel_chart"]["bars"]}
    assert funnel == {"Shares": 5, "Clicks": 15, "Unique visitors": 13, "Leads": 2, "Customers": 1}
    channels = {bar["label"]: bar["value"] for bar in response.context["channels_chart"]["bars"]}
    assert sum(channels.values()) == 15 and channels["LinkedIn"] == 15
    assert '<title id="dash-funnel-title">' in page and '<title id="dash-channels-title">' in page


def test_a_bad_period_is_a_400_that_says_why(ny_org, login):
    manager = member(ny_org, Role.MANAGER)
    response = login(manager).get(f"/o/{ny_org.slug}/reports/", {"period": "custom", "start": "2026-02-30"})
    assert response.status_code == 400
    assert "is not a date" in response.content.decode()


def test_the_dashboard_is_for_managers(ny_org, login, client):
    ambassador = member(ny_org, Role.AMBASSADOR, ambassador=True)
    assert login(ambassador).get(f"/o/{ny_org.slug}/reports/").status_code == 403
    for role in (Role.MANAGER, Role.ADMIN, Role.OWNER):
        client.force_login(member(ny_org, role))
        assert client.get(f"/o/{ny_org.slug}/reports/").status_code == 200


def test_another_organisations_manager_gets_404(ny_org, other_org, login):
    outsider = member(other_org, Role.MANAGER)
    assert login(outsider).get(f"/o/{ny_org.slug}/reports/").status_code == 404
