"""ROI with real rewards: reports.selectors.roi.reward_sums reads the earnings ledger (money not
canceled or refunded, held included, in the organisation's currency, + points × the point value,
by the local day earned), and every report shows it through the one cost function: the ROI list
and detail pages, their CSV exports and API, the dashboard and the managers' digest.

The programme is tests/support/programmes.py's (New York, the week of 2–8 March 2026: spend
100.00, time 24.00, revenue 300.00); the ledger below is worked by hand:

  Ada (internal): 30.00 approved + 5.00 held + 200 points pending × 0.05 (10.00) − 3.00 (a
    correction) + 7.00 at 23:30 on Sunday 8 March (still the week, 04:30 UTC on the 9th)
    + 1.00 paid = 50.00; not counted: 100.00 canceled, 50.00 refunded, 99.00 USD, 500.00 with
    no campaign, 1,000.00 at midnight starting Monday 9 March, 2,000.00 on Sunday 1 March
    (the week before);
  Ben (external): 12.34 pending + 1 point (0.05) = 12.39.
  Rewards 62.39; cost = 100.00 + 62.39 + 24.00 = 186.39; profit 113.61; ROI 0.6095."""

import re
from datetime import date, datetime
from decimal import Decimal

import pytest

from reports.digest import build_digest
from reports.filters import ReportFilter
from reports.models import ReportSubscription
from reports.periods import Period
from reports.selectors.roi import campaign_roi, reward_sums, roi_list
from reports.selectors.summary import key_figures
from rewards.services import ledger
from rewards.services.settings import update_settings
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory, GroupFactory, PayoutItemFactory, member
from tests.support.points import earn, money_rule, points_rule
from tests.support.programmes import NEW_YORK, WEEK, build_programme
from tests.support.responses import content, without_units
from tests.support.responses import csv_rows as csv_with_units


def csv_rows(response):
    return without_units(csv_with_units(response))

QUERY = {"period": "custom", "start": WEEK[0], "end": WEEK[1]}


def ny(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:{minute:02d}").replace(tzinfo=NEW_YORK)


@pytest.fixture
def programme(ny_org):
    built = build_programme(ny_org)
    ada, ben, campaign = built["ada"], built["ben"], built["campaign"]
    money, points = money_rule(ny_org), points_rule(ny_org)
    with tenant_scope(ny_org):
        update_settings(ny_org.pk, actor=None, point_value="0.05")

    def entry(who, amount, when, *, unit="money", **fields):
        fields.setdefault("campaign", campaign)
        return earn(who, amount, unit=unit, rule=points if unit == "points" else money, earned_at=when, **fields)

    entry(ada, "30.00", ny("2026-03-05", 15), status="approved")
    entry(ada, "5.00", ny("2026-03-05", 15), status="held")
    entry(ada, 200, ny("2026-03-03", 10), unit="points", status="pending")
    entry(ada, "-3.00", ny("2026-03-06", 9), status="pending")
    entry(ada, "7.00", ny("2026-03-08", 23, 30), status="approved")
    paid_item = PayoutItemFactory(organization=ny_org, ambassador=ada, currency="USD", amount="1.00")
    entry(ada, "1.00", ny("2026-03-04", 8), status="paid", payout_item=paid_item)
    entry(ada, "100.00", ny("2026-03-05", 15), status="canceled")
    entry(ada, "50.00", ny("2026-03-05", 15), status="refunded")
    entry(ada, "99.00", ny("2026-03-05", 15), status="approved", currency="EUR")
    entry(ada, "500.00", ny("2026-03-05", 15), status="approved", campaign=None)
    entry(ada, "1000.00", ny("2026-03-09", 0), status="approved")
    entry(ada, "2000.00", ny("2026-03-01", 23, 59), status="approved")
    built["ben_pending"] = entry(ben, "12.34", ny("2026-03-04", 12), status="pending")
    entry(ben, 1, ny("2026-03-04", 12), unit="points", status="approved")
    return built


def week(org, **fields) -> ReportFilter:
    return ReportFilter(org.pk, Period(date.fromisoformat(WEEK[0]), date.fromisoformat(WEEK[1]), org.tzinfo),
                        **fields)


def test_rewards_are_the_ledgers_money_and_points_by_local_day_earned(ny_org, programme):
    campaign, ada, ben = programme["campaign"], programme["ada"], programme["ben"]
    with tenant_scope(ny_org):
        assert reward_sums(week(ny_org)) == {(campaign.pk, ada.pk): Decimal("50.00"),
                                             (campaign.pk, ben.pk): Decimal("12.39")}
        group = GroupFactory(organization=ny_org, name="Partners")
        ben.groups.add(group)
        assert reward_sums(week(ny_org, group_id=group.pk)) == {(campaign.pk, ben.pk): Decimal("12.39")}
        assert reward_sums(week(ny_org, kind="internal")) == {(campaign.pk, ada.pk): Decimal("50.00")}
        other = CampaignFactory(organization=ny_org)
        assert reward_sums(week(ny_org, campaign_ids=(other.pk,))) == {}
        previous = week(ny_org).with_period(week(ny_org).period.previous())
        assert reward_sums(previous) == {(campaign.pk, ada.pk): Decimal("2000.00")}


def test_the_roi_selectors_count_them_once_with_the_internal_external_split(ny_org, programme):
    with tenant_scope(ny_org):
        programme_row = roi_list(week(ny_org))[-1].figures
        detail = campaign_roi(week(ny_org), programme["campaign"].pk)
    for figures in (programme_row, detail.figures):
        assert (figures.spend, figures.rewards, figures.time_cost, figures.cost, figures.profit, figures.roi) == (
            Decimal("100.00"), Decimal("62.39"), Decimal("24.00"), Decimal("186.39"), Decimal("113.61"),
            Decimal("0.6095"))
    split = {part.kind: part for part in detail.split}
    assert (split["internal"].rewards, split["internal"].own_cost) == (Decimal("50.00"), Decimal("68.00"))
    assert (split["external"].rewards, split["external"].own_cost) == (Decimal("12.39"), Decimal("18.39"))


def test_every_report_shows_the_same_rewards(ny_org, programme, login):
    manager = member(ny_org, Role.MANAGER, email="manager@gotham.test")
    client = login(manager)
    slug, campaign = ny_org.slug, programme["campaign"]

    roi_page = content(client.get(f"/o/{slug}/reports/roi/", QUERY))
    assert re.search(r"<td[^>]*class=\"num\">\$62\.39</td><td[^>]*class=\"num\">\$24\.00</td>", roi_page)
    roi_csv = csv_rows(client.get(f"/o/{slug}/reports/roi.csv", QUERY))
    assert [row["rewards"] for row in roi_csv] == ["62.39", "62.39"]  # Spring, then the programme
    roi_api = client.get(f"/api/v1/o/{slug}/reports/roi/", QUERY).json()
    assert roi_api["total"]["rewards"] == "62.39" and roi_api["campaigns"][0]["figures"]["rewards"] == "62.39"

    detail_page = content(client.get(f"/o/{slug}/reports/roi/{campaign.public_id}/", QUERY))
    assert 'data-figure="rewards">$62.39<' in detail_page and 'data-figure="cost"><strong>$186.39<' in detail_page
    figures_csv = csv_rows(client.get(f"/o/{slug}/reports/roi/{campaign.public_id}.csv", QUERY | {"table": "figures"}))
    assert {row["item"]: row["value"] for row in figures_csv}["rewards (USD)"] == "62.39"
    split_csv = csv_rows(client.get(f"/o/{slug}/reports/roi/{campaign.public_id}.csv", QUERY | {"table": "split"}))
    assert {row["kind"]: row["rewards"] for row in split_csv[:2]} == {"internal": "50.00", "external": "12.39"}
    detail_api = client.get(f"/api/v1/o/{slug}/reports/roi/{campaign.public_id}/", QUERY).json()
    assert detail_api["figures"]["rewards"] == "62.39" and detail_api["figures"]["cost"] == "186.39"
    assert {part["kind"]: part["rewards"] for part in detail_api["split"]} == {"internal": "50.00",
                                                                               "external": "12.39"}

    dashboard = client.get(f"/o/{slug}/reports/", QUERY)
    assert dashboard.context["figures"].current.rewards == Decimal("62.39")
    assert dashboard.context["figures"].previous.rewards == Decimal("2000.00")
    assert "+ rewards $62.39" in content(dashboard)
    cards = {card["name"]: card["display"] for card in dashboard.context["cards"]}
    assert cards["cost"] == "$186.39"

    with tenant_scope(ny_org):
        mail = build_digest(ReportSubscription(organization=ny_org, user=manager, frequency="weekly"),
                            week(ny_org).period)
    assert "+ rewards $62.39" in mail.body and "+ rewards $62.39" in mail.alternatives[0][0]


def test_the_rewards_follow_the_ledger_and_the_point_value(ny_org, programme):
    with tenant_scope(ny_org):
        assert key_figures(week(ny_org)).current.rewards == Decimal("62.39")
        ledger.cancel(programme["ben_pending"], None, "Duplicate lead")  # canceled: no longer a cost
        assert key_figures(week(ny_org)).current.rewards == Decimal("50.05")
        update_settings(ny_org.pk, actor=None, point_value="0.1")  # the value in force counts for every period
        assert key_figures(week(ny_org)).current.rewards == Decimal("60.10")  # 40.00 money + 201 × 0.10
        update_settings(ny_org.pk, actor=None, point_value="0")
        assert key_figures(week(ny_org)).current.rewards == Decimal("40.00")


def test_money_in_another_currency_is_left_out_of_the_roi_and_shown_on_the_settings_page(ny_org, programme, login):
    admin = member(ny_org, Role.ADMIN, email="admin@gotham.test")
    page = content(login(admin).get(f"/o/{ny_org.slug}/manage/rewards/settings/"))
    assert "Rewards earned in other currencies than USD" in page and "99.00 EUR" in page
    with tenant_scope(ny_org):
        assert key_figures(week(ny_org)).current.rewards == Decimal("62.39")  # the 99.00 EUR is not in it
