"""The reports dashboard: key figures of a period against the period before, hand-computed
for a small programme in New York time; top ambassadors; roles and tenancy."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from campaigns.models import Campaign, CampaignCost, CampaignStatus, ShareEvent, TrackedLink
from reports.filters import ReportFilter
from reports.periods import Period
from reports.selectors.summary import key_figures, top_ambassadors
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, OrganizationFactory, click_rollup, member
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import Click
from tracking.services import attribution
from tracking.services.conversions import record_lead, record_sale

NEW_YORK = ZoneInfo("America/New_York")
WEEK = ("2026-03-02", "2026-03-08")  # Monday–Sunday; the week before is 23 Feb – 1 Mar


def at(day: str, hour: int, tz=NEW_YORK) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=tz)


def build_programme(org) -> dict:
    """One campaign (6 minutes per share); Ada (internal, 60.00/h) and Ben (external, 30.00/h).

    This week (2–8 March):  shares Ada 3, Ben 2 → time 18.00 + 6.00; spend 100.00;
      clicks Ada 10 (8 unique), Ben 5 (5 unique); a lead from Ada's link who buys for 300.00,
      a lead from Ben's link who doesn't buy.
    The week before:  1 share by Ada → time 6.00; spend 50.00; 4 clicks (4 unique) for Ada;
      one lead from Ada's link buying for 100.00.
    """
    ada = AmbassadorFactory(organization=org, display_name="Ada Lovelace", hourly_rate=Decimal("60.00"))
    ben = AmbassadorFactory(organization=org, display_name="Ben Franklin", hourly_rate=Decimal("30.00"),
                            kind="external")
    with tenant_scope(org):
        campaign = Campaign.objects.create(organization=org, name="Spring", slug="spring",
                                           status=CampaignStatus.ACTIVE, minutes_per_share=Decimal("6.00"),
                                           destination_url="https://shop.example.com/spring")
        links = {person.pk: TrackedLink.objects.create(organization=org, campaign=campaign, ambassador=person,
                                                       code=f"Sum{person.pk:05d}") for person in (ada, ben)}
        for person, day, count in ((ada, "2026-03-03", 3), (ben, "2026-03-07", 2), (ada, "2026-02-24", 1)):
            for n in range(count):
                ShareEvent.objects.create(organization=org, link=links[person.pk], campaign=campaign,
                                          ambassador=person, channel="linkedin", shared_at=at(day, 9 + n))
        # 23:30 local on Sunday 1 March is still the week before (04:30 UTC on 2 March).
        ShareEvent.objects.filter(organization=org, shared_at=at("2026-02-24", 9)).update(
            shared_at=datetime(2026, 3, 1, 23, 30, tzinfo=NEW_YORK))
        CampaignCost.objects.create(organization=org, campaign=campaign, date="2026-03-03", amount=Decimal("100.00"))
        CampaignCost.objects.create(organization=org, campaign=campaign, date="2026-02-25", amount=Decimal("50.00"))
        for person, day, clicks, unique in ((ada, "2026-03-03", 10, 8), (ben, "2026-03-04", 5, 5),
                                            (ada, "2026-02-24", 4, 4)):
            click_rollup(organization=org, campaign_id=campaign.pk, ambassador_id=person.pk,
                                            channel="linkedin", day=day, total=clicks, clicks=clicks,
                                            unique_clicks=unique)
    for person, clicked, ext, sale in ((ada, at("2026-03-03", 10), "cus_1", ("300.00", at("2026-03-05", 15))),
                                       (ben, at("2026-03-04", 11), "cus_2", None),
                                       (ada, at("2026-02-24", 10), "cus_3", ("100.00", at("2026-02-25", 9)))):
        visitor = new_visitor_id()
        with tenant_scope(org):
            Click.objects.create(organization=org, click_id=new_click_id(), link_id=links[person.pk].pk,
                                 campaign_id=campaign.pk, ambassador_id=person.pk, clicked_at=clicked,
                                 day=clicked.date(), visitor_id=visitor, ip_hash="x" * 32, channel="linkedin")
        record_lead(org, visitor_id=visitor, customer_external_id=ext,
                    occurred_at=clicked.replace(hour=clicked.hour + 1))
        if sale:
            record_sale(org, customer_external_id=ext, amount=Decimal(sale[0]), currency=org.currency,
                        invoice_id=f"inv-{ext}", occurred_at=sale[1])
    attribution.attribute_pending(org.pk)
    return {"ada": ada, "ben": ben, "campaign": campaign}


@pytest.fixture
def ny_org(db):
    return OrganizationFactory(name="Gotham Goods", slug="gotham", time_zone="America/New_York", currency="USD")


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
        "revenue": "300.00", "cost": "124.00", "roi": "141.9 %"}
    assert cards["revenue"]["change_display"] == "+200.0 %"
    assert cards["roi"]["change_display"] == "+63.4 pp"
    page = response.content.decode()
    assert "141.9 %" in page and "+400.0 %" in page and "before: 56.00" in page
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
