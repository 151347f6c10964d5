"""The channel split (reports.selectors.channels, issue 15): clicks, unique visitors, leads,
customers and revenue per channel; on the ROI page, the funnel, their CSVs and the API; tenancy;
a bad `channel` answered 400 with a message.

Acceptance: on the seeded demo, the per-channel credits add up to the campaign totals exactly
(leads and customers to 1/10,000, revenue to the cent), per campaign and in total, under every
model; and the channel rollup equals the Credit rows summed per channel."""

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Q, Sum

from campaigns.models import Campaign
from reports.filters import ReportFilter
from reports.periods import period_for
from reports.selectors.channels import CHANNELS, ChannelError, channel_param, channel_split
from reports.selectors.roi import roi_list
from tenancy.models import Organization
from tenancy.scoping import tenant_scope
from tests.support.responses import csv_rows
from tracking.models import AttributionModel, Credit, DailyChannelClicks
from tracking.selectors import active_version

MODELS = AttributionModel.values


# --- acceptance: the demo ------------------------------------------------------------------------

@pytest.fixture(params=["northwind", "globex"])
def demo(db, request):
    call_command("seed_demo")
    return Organization.objects.get(slug=request.param)


@pytest.mark.django_db
def test_on_the_demo_the_channels_add_up_to_the_campaign_totals_exactly(demo):
    period = period_for("90d", demo.tzinfo)
    with tenant_scope(demo):
        campaigns = list(Campaign.objects.filter(organization=demo))
        version, _ = active_version(demo.pk)
        checked_campaigns = 0
        for model in MODELS:
            f = ReportFilter(demo.pk, period, model=model)
            rows = roi_list(f)
            by_campaign = {row.campaign.pk: row.figures for row in rows if not row.is_total}
            programme = rows[-1].figures

            split = channel_split(f)
            assert split.total.leads == programme.leads  # Decimal: exact to 1/10,000
            assert split.total.customers == programme.customers
            assert split.total.revenue == programme.revenue  # to the cent
            assert sum((r.leads for r in split.rows), Decimal(0)) == programme.leads
            assert sum((r.revenue for r in split.rows), Decimal(0)) == programme.revenue

            for campaign in campaigns:
                one = channel_split(replace(f, campaign_ids=(campaign.pk,)))
                figures = by_campaign[campaign.pk]
                assert (one.total.leads, one.total.customers, one.total.revenue) == (
                    figures.leads, figures.customers, figures.revenue), (model, campaign.name)
                assert sum((r.revenue for r in one.rows), Decimal(0)) == figures.revenue
                checked_campaigns += bool(figures.leads)

            # The rollup read equals the Credit rows summed per channel (no rollup in between).
            raw = (Credit.objects.filter(organization=demo, version=version, model=model,
                                         converted_at__gte=period.start_at, converted_at__lt=period.end_at)
                   .values("channel").order_by()
                   .annotate(leads=Sum("lead_share", filter=Q(kind="lead")),
                             revenue=Sum("amount", filter=Q(kind="sale"))))
            recount = {row["channel"]: (row["leads"] or 0, row["revenue"] or 0) for row in raw}
            shown = {row.channel: (row.leads, row.revenue) for row in split.rows if row.leads or row.revenue}
            assert shown == {key: value for key, value in recount.items() if any(value)}
        assert checked_campaigns  # the demo has credited campaigns in the period
        # The demo's conversions came through several channels, and none is unknown.
        assert len({row.channel for row in channel_split(ReportFilter(demo.pk, period)).rows if row.revenue}) > 1
        assert Credit.objects.filter(organization=demo, channel="unknown").count() == 0


# --- the selector on a small programme -----------------------------------------------------------

@pytest.fixture
def programme(org):
    """Two campaigns; clicks and conversions through LinkedIn and X (one lead through both)."""
    from tests.factories import AmbassadorFactory, CampaignFactory, ClickFactory, LinkFactory
    from tests.support.tracking import NOW, lead, sale
    from tracking.ids import new_click_id, new_visitor_id
    from tracking.services import attribution, rollups
    from tracking.services.rollups import ClickRow, click_deltas

    with tenant_scope(org):
        first, second = CampaignFactory(organization=org), CampaignFactory(organization=org)
        anna, ben = AmbassadorFactory(organization=org), AmbassadorFactory(organization=org)
        anna_link = LinkFactory(organization=org, campaign=first, ambassador=anna)
        ben_link = LinkFactory(organization=org, campaign=second, ambassador=ben)

    def touch(link, visitor, at, channel):
        click = ClickFactory(organization=org, link=link, visitor_id=visitor, clicked_at=at,
                             click_id=new_click_id(at.timestamp()), channel=channel)
        row = ClickRow(org.pk, click.click_id, link.pk, link.campaign_id, link.ambassador_id, at, click.day,
                       visitor, "x" * 32, "", "", channel, False, False, "", False, True, "", "", "")
        with tenant_scope(org):
            rollups.add_clicks(org.pk, click_deltas([row]))

    one, two, three = new_visitor_id(), new_visitor_id(), new_visitor_id()
    touch(anna_link, one, NOW - timedelta(days=3), "linkedin")
    touch(anna_link, one, NOW - timedelta(days=2), "x")
    lead(org, one, at=NOW - timedelta(days=1), ext="c1")
    sale(org, ext="c1", amount="300.00", invoice="i1", at=NOW - timedelta(hours=20))
    touch(ben_link, two, NOW - timedelta(days=2), "x")
    lead(org, two, at=NOW - timedelta(days=1), ext="c2")
    sale(org, ext="c2", amount="50.00", invoice="i2", at=NOW - timedelta(hours=20))
    touch(ben_link, three, NOW - timedelta(days=2), "linkedin")  # a click, no lead
    with tenant_scope(org):
        attribution.attribute_pending(org.pk)
    return {"org": org, "first": first, "second": second, "anna": anna, "ben": ben}


def test_channel_param_accepts_the_vocabulary_and_refuses_anything_else():
    assert channel_param(None) is None and channel_param("") is None
    assert channel_param("linkedin") == "linkedin" and channel_param("unknown") == "unknown"
    with pytest.raises(ChannelError) as error:
        channel_param("myspace")
    assert error.value.field == "channel" and "linkedin" in error.value.message and "myspace" in error.value.message


@pytest.mark.django_db
def test_the_split_under_linear_and_last_touch(programme):
    org = programme["org"]
    f = ReportFilter(org.pk, period_for("30d", org.tzinfo), model="linear")
    with tenant_scope(org):
        split = channel_split(f)
        rows = {row.channel: row for row in split.rows}
        assert list(rows) == [c for c in CHANNELS if c != "unknown"]  # every known channel, in order
        assert (rows["linkedin"].clicks, rows["x"].clicks) == (2, 2)
        assert (rows["linkedin"].leads, rows["x"].leads) == (Decimal("0.5000"), Decimal("1.5000"))
        assert (rows["linkedin"].revenue, rows["x"].revenue) == (Decimal("150.00"), Decimal("200.00"))
        assert rows["x"].share_of_revenue == Decimal("0.5714")  # 200 / 350
        assert rows["x"].revenue_per_click == Decimal("100.00")
        assert rows["facebook"].revenue_per_click is None  # no click: nothing to divide by
        assert (split.total.leads, split.total.customers, split.total.revenue) == (
            Decimal("2.0000"), Decimal("2.0000"), Decimal("350.00"))

        last = {row.channel: row for row in channel_split(replace(f, model="last_touch")).rows}
        assert (last["linkedin"].revenue, last["x"].revenue) == (Decimal("0.00"), Decimal("350.00"))

        only_first = channel_split(replace(f, campaign_ids=(programme["first"].pk,)))
        assert only_first.total.revenue == Decimal("300.00") and only_first.total.clicks == 2

        just_x = channel_split(f, channel="x")
        assert [row.channel for row in just_x.rows] == ["x"]
        assert just_x.total.revenue == Decimal("200.00") and just_x.rows[0].share_of_revenue == Decimal("0.5714")


@pytest.mark.django_db
def test_a_group_or_kind_filter_reads_the_credits_and_gives_the_same_figures(programme):
    """With a kind filter the split reads Credit rows and DailyClickRollup (the channel rollups
    have no ambassador); for a kind that covers everyone, the figures are the same."""
    org = programme["org"]
    kind = programme["anna"].kind
    assert programme["ben"].kind == kind
    f = ReportFilter(org.pk, period_for("30d", org.tzinfo), model="time_decay")
    with tenant_scope(org):
        plain, by_kind = channel_split(f), channel_split(replace(f, kind=kind))
        other = channel_split(replace(f, kind="external" if kind == "internal" else "internal"))
    assert by_kind.rows == plain.rows
    assert other.total.revenue == Decimal("0.00") and other.total.clicks == 0


@pytest.mark.django_db
def test_the_click_rollup_per_channel_follows_click_processing(programme):
    org = programme["org"]
    with tenant_scope(org):
        per_channel = defaultdict(int)
        for channel, clicks in DailyChannelClicks.objects.values_list("channel", "clicks"):
            per_channel[channel] += clicks
    assert dict(per_channel) == {"linkedin": 2, "x": 2}


# --- pages, CSV, API ---------------------------------------------------------------------------

def _urls(org):
    return (f"/o/{org.slug}/reports/roi/", f"/o/{org.slug}/reports/channels.csv",
            f"/api/v1/o/{org.slug}/reports/channels/", f"/o/{org.slug}/reports/funnel/",
            f"/o/{org.slug}/reports/funnel.csv", f"/api/v1/o/{org.slug}/reports/funnel/")


@pytest.mark.django_db
def test_the_roi_page_csv_and_api_show_the_same_split(programme, manager, login):
    org = programme["org"]
    client = login(manager)
    page_url, csv_url, api_url, *_ = _urls(org)
    query = {"period": "30d", "model": "linear"}

    html = client.get(page_url, query).content.decode()
    assert 'id="roi-channels"' in html and 'data-channel="linkedin"' in html
    assert "ROI is worked out per campaign" in html  # why there is no ROI per channel
    assert 'data-chart-spec="channel-split-data"' in html and 'id="channel-split-data"' in html  # the chart's JSON

    data = client.get(api_url, query).json()
    rows = {row["channel"]: row for row in data["channels"]}
    assert rows["x"]["revenue"] == "200.00" and rows["x"]["leads"] == "1.5000" and rows["x"]["clicks"] == 2
    assert rows["x"]["share_of_revenue"] == "0.5714" and rows["facebook"]["revenue_per_click"] is None
    assert data["total"]["revenue"] == "350.00" and data["total"]["leads"] == "2.0000"
    assert data["channel"] is None and data["currency"] == org.currency and "per campaign" in data["roi_note"]

    exported = {row["channel"]: row for row in csv_rows(client.get(csv_url, query))}
    assert exported["x"][f"revenue ({org.currency})"] == "200.00"
    assert exported["x"]["leads (credited)"] == "1.5000"
    assert exported["x"]["share_of_revenue (%)"] == "57.14"
    assert exported["total"][f"revenue ({org.currency})"] == "350.00"

    one = client.get(api_url, query | {"channel": "linkedin"}).json()
    assert [row["channel"] for row in one["channels"]] == ["linkedin"] and one["total"]["revenue"] == "150.00"
    assert [row["channel"] for row in csv_rows(client.get(csv_url, query | {"channel": "linkedin"}))] == [
        "linkedin", "total"]
    assert 'data-channel="facebook"' not in client.get(page_url, query | {"channel": "linkedin"}).content.decode()


@pytest.mark.django_db
def test_the_funnel_page_csv_and_api_carry_conversions_per_channel(programme, manager, login):
    org = programme["org"]
    client = login(manager)
    *_, page_url, csv_url, api_url = _urls(org)
    query = {"period": "30d", "model": "linear"}
    channels = {row["channel"]: row for row in client.get(api_url, query).json()["channels"]}
    assert (channels["x"]["revenue"], channels["x"]["leads"]) == ("200.00", "1.5000")
    assert (channels["linkedin"]["revenue"], channels["linkedin"]["customers"]) == ("150.00", "0.5000")
    exported = {row["channel"]: row for row in csv_rows(client.get(csv_url, query | {"table": "channels"}))}
    revenue = next(name for name in exported["x"] if name.split(" (")[0] == "revenue")
    assert exported["x"][revenue] == "200.00"
    html = client.get(page_url, query).content.decode()
    assert "aren't recorded per channel" not in html


@pytest.mark.django_db
def test_an_unknown_channel_is_a_400_that_says_what_is_accepted(programme, manager, login):
    org = programme["org"]
    client = login(manager)
    page_url, csv_url, api_url, *_ = _urls(org)
    answer = client.get(api_url, {"channel": "myspace"})
    assert answer.status_code == 400
    assert "myspace" in answer.json()["channel"][0] and "linkedin" in answer.json()["channel"][0]
    assert client.get(api_url, {"period": "forever"}).status_code == 400
    exported = client.get(csv_url, {"channel": "<script>"})
    assert exported.status_code == 400 and "Unknown channel" in exported.content.decode()
    assert "<script>" not in exported.content.decode()
    page = client.get(page_url, {"channel": "myspace"}).content.decode()
    assert "Unknown channel" in page and 'id="channels-table"' not in page


@pytest.mark.django_db
def test_another_organisation_sees_nothing_of_this_split(programme, other_org, login):
    """A manager of another organisation gets 404 on this organisation's split (page, CSV, API),
    and its own split has nothing of this one's."""
    from tenancy.models import Role
    from tests.factories import member

    org = programme["org"]
    rival = member(other_org, Role.MANAGER, email="manager@rival.test")
    client = login(rival)
    for url in _urls(org):
        assert client.get(url).status_code == 404, url
    data = client.get(f"/api/v1/o/{other_org.slug}/reports/channels/").json()
    assert data["total"]["clicks"] == 0 and data["total"]["revenue"] == "0.00"
    exported = csv_rows(client.get(f"/o/{other_org.slug}/reports/channels.csv"))
    assert {row[f"revenue ({other_org.currency})"] for row in exported} == {"0.00"}


@pytest.mark.django_db
def test_an_ambassador_may_not_see_the_split(programme, ambassador_user, login):
    client = login(ambassador_user)
    org = programme["org"]
    page_url, csv_url, api_url, *_ = _urls(org)
    assert client.get(csv_url).status_code in (403, 404)
    assert client.get(api_url).status_code in (403, 404)


@pytest.mark.django_db
def test_one_ambassadors_credits_per_channel_for_the_drill_down(programme):
    from reports.selectors.channels import channel_credits

    org = programme["org"]
    f = ReportFilter(org.pk, period_for("30d", org.tzinfo), model="linear")
    with tenant_scope(org):
        anna = channel_credits(f, ambassador_id=programme["anna"].pk)
        ben = channel_credits(f, ambassador_id=programme["ben"].pk)
    assert {key: value.revenue for key, value in anna.items()} == {"linkedin": Decimal("150.00"),
                                                                   "x": Decimal("150.00")}
    assert {key: value.leads for key, value in ben.items()} == {"x": Decimal("1.0000")}
