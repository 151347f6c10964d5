"""Issue 17: every shown breakdown of a campaign's ROI adds up to its shown total, to the cent, and
segments (a kind or group filter) carry their share of the spend, so their costs add up exactly to
the campaign's (reports.roi: round once per campaign, hand the cents out by largest remainder).

What a finance reader adds up: the ambassadors' time lines against the time cost, the kinds' own
costs plus the spend against the cost, the campaign rows against the programme's total row, and
internal + external (or group A + group B) + the unallocated spend against the unfiltered cost."""

from datetime import date, datetime, time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ambassadors.models import Kind
from reports.filters import ReportFilter
from reports.periods import Period
from reports.roi import allocate, costs, largest_remainder
from reports.selectors.roi import campaign_roi, roi_list
from reports.selectors.summary import figures
from tenancy.scoping import tenant_scope
from tests.factories import (
    AmbassadorFactory,
    CampaignFactory,
    CostFactory,
    GroupFactory,
    LinkFactory,
    OrganizationFactory,
    ShareEventFactory,
)

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
CENT = Decimal("0.01")


def march(org, **filters) -> ReportFilter:
    return ReportFilter(org.pk, Period(*MARCH, org.tzinfo), **filters)


def at(org, day: date):
    return datetime.combine(day, time(12), tzinfo=org.tzinfo)


def in_cents(value: Decimal) -> bool:
    return value == value.quantize(CENT)


# --- the rule itself, over plain values ----------------------------------------------------------

def test_the_issues_time_lines_now_add_up():
    """17.075 + 15.27875 + 16.67 = 49.02375, shown 49.02: rounded per line they were 17.08 + 15.28 +
    16.67 = 49.03. By largest remainder the spare cent goes to 15.27875 (remainder 0.00875 > 0.005)."""
    lines = largest_remainder({1: Decimal("17.075"), 2: Decimal("15.27875"), 3: Decimal("16.67")})
    assert lines == {1: Decimal("17.07"), 2: Decimal("15.28"), 3: Decimal("16.67")}
    assert sum(lines.values()) == Decimal("49.02")


def test_ties_go_to_the_lower_key_and_negative_lines_add_up():
    assert largest_remainder({2: Decimal("0.005"), 1: Decimal("0.005")}) == {1: Decimal("0.01"), 2: Decimal("0.00")}
    lines = largest_remainder({1: Decimal("-0.005"), 2: Decimal("-0.005")})
    assert sum(lines.values()) == Decimal("-0.01")


@settings(max_examples=25, deadline=None)
@given(amount=st.integers(-10**7, 10**7), weights=st.dictionaries(st.integers(1, 9), st.integers(0, 20), max_size=5))
def test_allocated_spend_adds_up(amount, weights):
    amount = Decimal(amount) / 100
    parts = allocate(amount, weights)
    if sum(weights.values()):
        assert sum(parts.values()) == amount and all(in_cents(part) for part in parts.values())
    else:
        assert parts == {}


pairs = st.dictionaries(st.tuples(st.integers(1, 3), st.integers(1, 6)), st.integers(0, 12), max_size=12)
money_st = st.integers(0, 10**6).map(lambda cents: Decimal(cents) / 100)


@settings(max_examples=25, deadline=None)
@given(shares=pairs, rates=st.dictionaries(st.integers(1, 6), money_st, min_size=6, max_size=6),
       rewards=st.dictionaries(st.tuples(st.integers(1, 3), st.integers(1, 6)),
                               st.integers(-10**5, 10**6).map(lambda n: Decimal(n) / 1000), max_size=8),
       spend=st.dictionaries(st.integers(1, 3), money_st, max_size=3),
       minutes=st.sampled_from([Decimal("1.5"), Decimal("2.25"), Decimal("5"), Decimal("7")]),
       internal=st.sets(st.integers(1, 6)))
def test_costs_lines_and_segments_add_up(shares, rates, rewards, spend, minutes, internal):
    """costs(): each campaign's lines add up to its rounded rewards and time, and the two
    segments' rounded costs plus the unallocated spend add up to the campaign's rounded cost."""
    inputs = {"minutes": dict.fromkeys((1, 2, 3), minutes), "spend": spend, "rewards": rewards, "rates": rates,
              "shares": shares}
    whole = costs(**inputs)
    external = set(rates) - internal
    segments = [costs(**inputs, segment=internal), costs(**inputs, segment=external)]
    for campaign_id, cost in whole.by_campaign.items():
        shown = cost.rounded()
        lines = whole.lines(campaign_id)
        assert sum((line.time for line in lines.values()), Decimal(0)) == shown.time
        assert sum((line.rewards for line in lines.values()), Decimal(0)) == shown.rewards
        parts = [segment.by_campaign[campaign_id].rounded() for segment in segments]
        unallocated = segments[0].unallocated.get(campaign_id, Decimal(0))
        assert segments[1].unallocated.get(campaign_id, Decimal(0)) == unallocated
        assert sum((part.spend for part in parts), Decimal(0)) + unallocated == shown.spend
        assert sum((part.rewards for part in parts), Decimal(0)) == shown.rewards
        assert sum((part.time for part in parts), Decimal(0)) == shown.time


# --- through the selectors, as the pages, CSV and API show them ----------------------------------

campaign_st = st.fixed_dictionaries({
    "minutes": st.sampled_from([Decimal("1.5"), Decimal("2.25"), Decimal("5"), Decimal("7")]),
    # costs on both edges of March, and outside it
    "costs": st.lists(st.tuples(st.sampled_from([date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 17),
                                                 date(2026, 3, 31), date(2026, 4, 1)]),
                                st.integers(1, 300000)), max_size=3),
    "shares": st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5),
                                 st.sampled_from([date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 31)])),
                       max_size=5),
})
ambassador_st = st.tuples(st.sampled_from([Kind.INTERNAL, Kind.EXTERNAL]), st.integers(0, 1),
                          st.integers(100, 30000))


@pytest.mark.django_db
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(people=st.lists(ambassador_st, min_size=1, max_size=4), plans=st.lists(campaign_st, min_size=1, max_size=2))
def test_every_breakdown_adds_up_under_every_filter(people, plans):
    org = OrganizationFactory()
    groups = [GroupFactory(organization=org, name="A"), GroupFactory(organization=org, name="B")]
    ambassadors = []
    for kind, group, rate in people:
        ambassador = AmbassadorFactory(organization=org, kind=kind, hourly_rate=Decimal(rate) / 100)
        with tenant_scope(org):
            ambassador.groups.add(groups[group])  # each in one group: the groups partition them
        ambassadors.append(ambassador)
    the_campaigns = []
    for plan in plans:
        campaign = CampaignFactory(organization=org, minutes_per_share=plan["minutes"])
        for day, cents in plan["costs"]:
            CostFactory(organization=org, campaign=campaign, date=day, amount=Decimal(cents) / 100)
        links = {}
        for index, times, day in plan["shares"]:
            if index < len(ambassadors):
                if index not in links:
                    links[index] = LinkFactory(organization=org, campaign=campaign, ambassador=ambassadors[index])
                link = links[index]
                for _ in range(times):
                    ShareEventFactory(organization=org, link=link, shared_at=at(org, day))
        the_campaigns.append(campaign)

    filters = {"all": {}, Kind.INTERNAL: {"kind": Kind.INTERNAL}, Kind.EXTERNAL: {"kind": Kind.EXTERNAL},
               "A": {"group_id": groups[0].pk}, "B": {"group_id": groups[1].pk}}
    with tenant_scope(org):
        details = {name: {c.pk: campaign_roi(march(org, **kw), c.pk) for c in the_campaigns}
                   for name, kw in filters.items()}
        lists = {name: roi_list(march(org, **kw)) for name, kw in filters.items()}
        dashboard = {name: figures(march(org, **kw)) for name, kw in filters.items()}

    for name, by_campaign in details.items():
        for detail in by_campaign.values():
            fig = detail.figures
            assert fig.cost == fig.spend + fig.rewards + fig.time_cost, name
            assert sum((line.time_cost for line in detail.ambassadors), Decimal(0)) == fig.time_cost, name
            assert sum((s.own_cost for s in detail.split), Decimal(0)) + detail.unsplit_spend == fig.cost, name
            assert sum((s.time_cost for s in detail.split), Decimal(0)) == fig.time_cost, name
        rows = lists[name]
        for part in ("spend", "rewards", "time_cost", "cost"):
            assert sum((getattr(row.figures, part) for row in rows[:-1]), Decimal(0)) == getattr(rows[-1].figures,
                                                                                                  part), (name, part)
        # the dashboard's cost is the ROI list's total row (one cost function)
        assert dashboard[name].cost == rows[-1].figures.cost, name
        # the list and the detail page show the same figures for a campaign
        for row in rows[:-1]:
            assert row.figures.cost == by_campaign[row.campaign.pk].figures.cost, name

    for campaign in the_campaigns:
        whole = details["all"][campaign.pk]
        for pair in ((Kind.INTERNAL, Kind.EXTERNAL), ("A", "B")):
            parts = [details[name][campaign.pk] for name in pair]
            unallocated = parts[0].unallocated_spend
            assert parts[1].unallocated_spend == unallocated
            assert sum((part.figures.cost for part in parts), Decimal(0)) + unallocated == whole.figures.cost, pair
            assert sum((part.figures.spend for part in parts), Decimal(0)) + unallocated == whole.figures.spend, pair
            assert unallocated in (Decimal(0), whole.figures.spend)
    for pair in ((Kind.INTERNAL, Kind.EXTERNAL), ("A", "B")):
        totals = [lists[name][-1] for name in pair]
        assert (sum((row.figures.cost for row in totals), Decimal(0)) + totals[0].unallocated_spend
                == lists["all"][-1].figures.cost), pair


@pytest.mark.django_db
def test_the_issues_campaign_adds_up(org):
    """The issue's campaign, by hand: minutes per share 1.5, so time = shares × rate / 40.
    Ann (internal) 10 × 68.30 / 40 = 17.075, Bob (internal) 5 × 122.23 / 40 = 15.27875, Cy
    (external) 4 × 166.70 / 40 = 16.67: exactly 49.02375, shown 49.02. Lines: 17.07 + 15.28 + 16.67
    = 49.02 (the spare cent goes to Bob's larger remainder); internal 32.35 + external 16.67 = 49.02;
    cost 1250.52 + 49.02 = 1299.54 = own costs 49.02 + spend 1250.52.
    Filtered, the spend 1250.52 goes by shares (10:5:4 of 19): exactly 658.1684…, 329.0842…,
    263.2674… → 658.16, 329.08, 263.26 and the two spare cents to Ann and Cy: 658.17 + 329.08 +
    263.27. Internal 987.25 + 32.35 = 1019.60, external 263.27 + 16.67 = 279.94; together 1299.54."""
    campaign = CampaignFactory(organization=org, minutes_per_share=Decimal("1.5"))
    CostFactory(organization=org, campaign=campaign, date=date(2026, 3, 1), amount=Decimal("1000.00"))
    CostFactory(organization=org, campaign=campaign, date=date(2026, 3, 31), amount=Decimal("250.52"))
    CostFactory(organization=org, campaign=campaign, date=date(2026, 4, 1), amount=Decimal("99.00"))  # after
    for name, kind, rate, times in (("Ann", Kind.INTERNAL, "68.30", 10), ("Bob", Kind.INTERNAL, "122.23", 5),
                                    ("Cy", Kind.EXTERNAL, "166.70", 4)):
        person = AmbassadorFactory(organization=org, display_name=name, kind=kind, hourly_rate=Decimal(rate))
        link = LinkFactory(organization=org, campaign=campaign, ambassador=person)
        for _ in range(times):
            ShareEventFactory(organization=org, link=link, shared_at=at(org, date(2026, 3, 10)))

    with tenant_scope(org):
        detail = campaign_roi(march(org), campaign.pk)
        internal = campaign_roi(march(org, kind=Kind.INTERNAL), campaign.pk)
        external = campaign_roi(march(org, kind=Kind.EXTERNAL), campaign.pk)

    assert {line.name: line.time_cost for line in detail.ambassadors} == {
        "Ann": Decimal("17.07"), "Bob": Decimal("15.28"), "Cy": Decimal("16.67")}
    assert detail.figures.time_cost == Decimal("49.02")
    assert {s.kind: s.own_cost for s in detail.split} == {Kind.INTERNAL: Decimal("32.35"),
                                                          Kind.EXTERNAL: Decimal("16.67")}
    assert detail.unsplit_spend == Decimal("1250.52")
    assert detail.figures.cost == Decimal("1299.54")

    assert (internal.figures.spend, internal.figures.time_cost, internal.figures.cost) == (
        Decimal("987.25"), Decimal("32.35"), Decimal("1019.60"))
    assert (external.figures.spend, external.figures.time_cost, external.figures.cost) == (
        Decimal("263.27"), Decimal("16.67"), Decimal("279.94"))
    assert internal.figures.cost + external.figures.cost == detail.figures.cost
    assert internal.unallocated_spend == external.unallocated_spend == Decimal(0)


@pytest.mark.django_db
def test_spend_without_shares_stays_unallocated(org, manager, login):
    """A campaign with 300.00 of spend and no share in March: under a filter no segment carries
    it; it is shown on its own line (the detail's and the list's unallocated_spend)."""
    campaign = CampaignFactory(organization=org, minutes_per_share=Decimal("5"))
    CostFactory(organization=org, campaign=campaign, date=date(2026, 3, 5), amount=Decimal("300.00"))
    AmbassadorFactory(organization=org, kind=Kind.INTERNAL)
    with tenant_scope(org):
        whole = campaign_roi(march(org), campaign.pk)
        internal = campaign_roi(march(org, kind=Kind.INTERNAL), campaign.pk)
        rows = roi_list(march(org, kind=Kind.INTERNAL))
    assert whole.figures.cost == Decimal("300.00") and whole.unallocated_spend == Decimal(0)
    assert internal.figures.cost == Decimal("0.00") and internal.unallocated_spend == Decimal("300.00")
    assert rows[-1].figures.cost == Decimal("0.00") and rows[-1].unallocated_spend == Decimal("300.00")

    client = login(manager)
    query = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31", "kind": "internal"}
    detail_api = client.get(f"/api/v1/o/{org.slug}/reports/roi/{campaign.public_id}/", query).json()
    assert (detail_api["figures"]["cost"], detail_api["unallocated_spend"]) == ("0.00", "300.00")
    assert client.get(f"/api/v1/o/{org.slug}/reports/roi/", query).json()["unallocated_spend"] == "300.00"
    page = client.get(f"/o/{org.slug}/reports/roi/{campaign.public_id}/", query).content.decode()
    assert 'data-figure="unallocated_spend"' in page and "largest remainder" in page
    listed = client.get(f"/o/{org.slug}/reports/roi/", query).content.decode()
    assert 'data-figure="unallocated_spend"' in listed
    # The overview too: its cost is the segment's, the spend no segment carries on its own line.
    overview = client.get(f"/api/v1/o/{org.slug}/reports/overview/", query).json()
    assert (overview["current"]["cost"], overview["unallocated_spend"]) == ("0.00", "300.00")
    unfiltered = {key: value for key, value in query.items() if key != "kind"}
    assert client.get(f"/api/v1/o/{org.slug}/reports/overview/", unfiltered).json()["unallocated_spend"] == "0.00"
    assert 'data-figure="unallocated_spend"' in client.get(f"/o/{org.slug}/reports/", query).content.decode()


# --- with leads, sales (some refunded) and rewards: every breakdown of revenue, credits and cost ---

CHANNELS = ["linkedin", "x", "email"]
touch_st = st.tuples(st.integers(0, 1), st.integers(0, 3), st.sampled_from(CHANNELS))  # campaign, ambassador, channel
buyer_st = st.fixed_dictionaries({
    "touches": st.lists(touch_st, min_size=1, max_size=3),  # several: the sale is split (linear model)
    "amount": st.integers(1, 99999),  # cents
    "day": st.sampled_from([6, 17, 31, 32]),  # 32: 1 April, after the period
    "refunded": st.booleans(),
})
reward_st = st.tuples(st.integers(0, 1), st.integers(0, 3), st.integers(-500, 20000),
                      st.sampled_from(["pending", "approved", "held", "canceled", "refunded"]))
MONEY_PARTS = ("revenue", "spend", "rewards", "time_cost", "cost")
CREDIT_PARTS = ("revenue", "leads", "customers")


def _sum(items, name: str) -> Decimal:
    return sum((Decimal(getattr(item, name)) for item in items), Decimal(0))


def _build_with_sales(people, plans, buyers, rewards):
    """An organisation built the way production builds one (tests.support.scenario): the people in
    two groups, the campaigns' costs and shares, buyers who click one or several links (and
    channels), become leads and buy (some refunded), then attribution; rewards as earnings entries."""
    from rewards.models import EarningEntry
    from tests.factories import RewardRuleFactory
    from tests.support.scenario import Scenario
    from tracking.services.conversions import record_sale

    org = OrganizationFactory()
    s = Scenario(org)
    groups = [GroupFactory(organization=org, name="A"), GroupFactory(organization=org, name="B")]
    ambassadors = []
    for kind, group, rate in people:
        ambassador = s.ambassador(kind=kind, hourly_rate=Decimal(rate) / 100)
        with tenant_scope(org):
            ambassador.groups.add(groups[group])
        ambassadors.append(ambassador)
    the_campaigns = [s.campaign(minutes_per_share=plan["minutes"]) for plan in plans]
    links = {}

    def link(campaign_index: int, ambassador_index: int):
        key = (campaign_index % len(the_campaigns), ambassador_index % len(ambassadors))
        if key not in links:
            links[key] = s.link(the_campaigns[key[0]], ambassadors[key[1]])
        return links[key]

    for index, plan in enumerate(plans):
        for day, cents in plan["costs"]:
            s.cost(the_campaigns[index], day, Decimal(cents) / 100)
        for who, times, day in plan["shares"]:
            if times:
                s.shares(link(index, who), at(org, day), times=times)
    visitors = []
    for n, buyer in enumerate(buyers):
        visitor = s.visitor()
        for minute, (campaign_index, who, channel) in enumerate(buyer["touches"]):
            visitor.clicks(link(campaign_index, who), s.at(2026, 3, 5, 9, minute + n * 5), channel=channel)
        visitors.append(visitor)
    s.process()
    for n, (visitor, buyer) in enumerate(zip(visitors, buyers, strict=True)):
        day = date(2026, 3, buyer["day"]) if buyer["day"] <= 31 else date(2026, 4, 1)
        visitor.lead(f"cus_{n}", at=s.at(2026, 3, 5, 12, n)).buys(Decimal(buyer["amount"]) / 100,
                                                                   at=at(org, day))
        if buyer["refunded"]:
            with tenant_scope(org):
                record_sale(org, customer_external_id=f"cus_{n}", amount=Decimal(buyer["amount"]) / 100,
                            currency=org.currency, invoice_id=f"inv-cus_{n}", occurred_at=at(org, day),
                            status="refunded")
    s.attribute()
    rule = RewardRuleFactory(organization=org)
    with tenant_scope(org):
        EarningEntry.objects.bulk_create([
            EarningEntry(organization=org, rule=rule, ambassador=ambassadors[who % len(ambassadors)], cause=f"t:{n}",
                         event="sale", campaign=the_campaigns[campaign_index % len(the_campaigns)], unit="money",
                         currency=org.currency, amount=Decimal(cents) / 100, status=status,
                         earned_at=at(org, date(2026, 3, 12)), approve_after=at(org, date(2026, 4, 12)))
            for n, (campaign_index, who, cents, status) in enumerate(rewards)])
    return org, groups, the_campaigns


@pytest.mark.django_db
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(people=st.lists(ambassador_st, min_size=1, max_size=4), plans=st.lists(campaign_st, min_size=1, max_size=2),
       buyers=st.lists(buyer_st, min_size=1, max_size=4), rewards=st.lists(reward_st, max_size=4))
def test_every_breakdown_of_revenue_credits_and_cost_adds_up_with_sales(people, plans, buyers, rewards):
    """For every filter (none, each kind, each group, each campaign) under the linear model (sales
    split between touches, so cents and fractions of leads are handed out): the lines of every
    breakdown — per ambassador, per kind, per campaign, per channel — add up to the shown total
    for revenue, leads, customers and the costs; the kinds and the groups add up to the whole
    (cost: plus the unallocated spend), and a campaign filter shows that campaign's row."""
    from reports.selectors.channels import channel_split
    from reports.selectors.summary import ambassador_rows

    org, groups, the_campaigns = _build_with_sales(people, plans, buyers, rewards)
    filters = {"all": {}, Kind.INTERNAL: {"kind": Kind.INTERNAL}, Kind.EXTERNAL: {"kind": Kind.EXTERNAL},
               "A": {"group_id": groups[0].pk}, "B": {"group_id": groups[1].pk},
               **{f"campaign {c.pk}": {"campaign_ids": (c.pk,)} for c in the_campaigns}}
    seen = {}
    with tenant_scope(org):
        for name, kw in filters.items():
            f = march(org, model="linear", **kw)
            rows = roi_list(f)
            details = {c.pk: campaign_roi(f, c.pk) for c in the_campaigns if kw.get("campaign_ids", (c.pk,)) == (c.pk,)}
            seen[name] = (rows, details, channel_split(f), figures(f), ambassador_rows(f, only_active_or_busy=False))

    for name, (rows, details, channels, dashboard, people_rows) in seen.items():
        *campaign_rows, total = rows
        fig = total.figures
        for part in (*MONEY_PARTS, "leads", "customers", "shares"):  # per campaign
            assert _sum((row.figures for row in campaign_rows), part) == getattr(fig, part), (name, part)
        for part in CREDIT_PARTS:  # per channel, per ambassador, and the dashboard: the same totals
            assert _sum(channels.rows, part) == getattr(fig, part), (name, "channel", part)
            assert _sum(people_rows, part) == getattr(fig, part), (name, "ambassador", part)
            assert getattr(dashboard, part) == getattr(fig, part), (name, "dashboard", part)
        assert (dashboard.cost, dashboard.spend, dashboard.rewards, dashboard.time_cost) == (
            fig.cost, fig.spend, fig.rewards, fig.time_cost), name
        for row in campaign_rows:
            detail = details[row.campaign.pk]
            shown = detail.figures
            assert (shown.revenue, shown.cost, shown.leads, shown.customers) == (
                row.figures.revenue, row.figures.cost, row.figures.leads, row.figures.customers), name
            assert shown.cost == shown.spend + shown.rewards + shown.time_cost, name
            for part, line_part in (("time_cost", "time_cost"), ("revenue", "revenue"), ("leads", "leads")):
                assert _sum(detail.ambassadors, line_part) == getattr(shown, part), (name, "ambassador", part)
            for part in ("revenue", "rewards", "time_cost", "leads", "customers", "shares"):
                assert _sum(detail.split, part) == getattr(shown, part), (name, "kind", part)
            assert _sum(detail.split, "own_cost") + detail.unsplit_spend == shown.cost, name

    whole_rows, whole_details = seen["all"][0], seen["all"][1]
    whole = whole_rows[-1].figures
    event("revenue" if whole.revenue else "no revenue")  # --hypothesis-show-statistics: what was exercised
    lines = [line.leads for detail in whole_details.values() for line in detail.ambassadors]
    event("a lead split" if any(leads != leads.to_integral_value() for leads in lines) else "no lead split")
    event("unallocated spend" if seen[Kind.INTERNAL][0][-1].unallocated_spend else "all spend allocated")
    for pair in ((Kind.INTERNAL, Kind.EXTERNAL), ("A", "B")):  # the segments partition the ambassadors
        totals = [seen[name][0][-1] for name in pair]
        for part in ("revenue", "leads", "customers", "rewards", "time_cost", "shares"):
            assert _sum((t.figures for t in totals), part) == getattr(whole_rows[-1].figures, part), (pair, part)
        assert (_sum((t.figures for t in totals), "cost") + totals[0].unallocated_spend
                == whole_rows[-1].figures.cost), pair
        for campaign in the_campaigns:
            parts = [seen[name][1][campaign.pk] for name in pair]
            whole = whole_details[campaign.pk].figures
            assert _sum((p.figures for p in parts), "cost") + parts[0].unallocated_spend == whole.cost, pair
            assert _sum((p.figures for p in parts), "revenue") == whole.revenue, pair
    for campaign in the_campaigns:  # a campaign filter shows the campaign's row of the whole list
        row = next(row for row in whole_rows[:-1] if row.campaign.pk == campaign.pk)
        assert seen[f"campaign {campaign.pk}"][0][-1].figures == row.figures
