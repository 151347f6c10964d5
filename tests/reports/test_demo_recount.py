"""Acceptance: on the seeded demo, every leaderboard, ROI and funnel figure equals a recount
from the raw tables — clicks, shares, leads (customers), sales and the cost ledger.

The recount shares nothing with what it checks: no rollup, no Credit row, no report selector.
Credits are recomputed here from the raw clicks with the pure engine's weights and the rule
the issue states (split per ambassador to the unit, largest remainder; then each ambassador's
units across their links), so a bug in batching, rollups, versions or the selectors shows."""

import hashlib
from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command

from ambassadors.models import Ambassador
from campaigns.models import Campaign, CampaignCost, ShareEvent
from reports.filters import ReportFilter
from reports.periods import period_for
from reports.selectors.funnel import funnel
from reports.selectors.leaderboard import leaderboard
from reports.selectors.points import points_rules
from reports.selectors.roi import roi_list
from tenancy.models import Organization
from tenancy.scoping import tenant_scope
from tracking import attribution as engine
from tracking.models import Click, Customer, Sale

CENT = Decimal("0.01")


@pytest.fixture(params=["northwind", "globex"])
def demo(db, request):
    call_command("seed_demo")
    return Organization.objects.get(slug=request.param)


def split(weights: dict, total: int) -> dict:
    """Largest remainder, ties to the smaller key — written out again, not imported."""
    weight_sum = sum(weights.values())
    if not total or not weight_sum:
        return {}
    exact = {key: weight * total / weight_sum for key, weight in weights.items()}
    units = {key: int(value) for key, value in exact.items()}
    left = total - sum(units.values())
    for key in sorted(exact, key=lambda key: (-(exact[key] - units[key]), key))[:left]:
        units[key] += 1
    return {key: value for key, value in units.items() if value}


def recount_credits(org, model: str, window=timedelta(days=30)):
    """[(local day, ambassador_id, campaign_id, kind, units)], kind lead (1/10000), customer
    (1/10000) or sale (cents), recomputed from raw clicks, customers and sales."""
    tz = org.tzinfo
    with tenant_scope(org):
        own = {hashlib.sha256(e.strip().lower().encode()).hexdigest()
               for e in Ambassador.objects.values_list("email", flat=True)}
        clicks_of = defaultdict(list)
        for row in Click.objects.filter(is_bot=False, is_self=False).order_by("clicked_at", "id").values_list(
                "visitor_id", "ambassador_id", "link_id", "campaign_id", "clicked_at"):
            clicks_of[row[0]].append(row[1:])
        visitor_of_click = dict(Click.objects.values_list("click_id", "visitor_id"))
        sales_of = defaultdict(list)
        for sale in Sale.objects.filter(customer__isnull=False).order_by("occurred_at", "id"):
            sales_of[sale.customer_id].append(sale)
        customers = list(Customer.objects.all())
    out = []
    for customer in customers:
        if customer.email_hash in own:
            continue  # self-referral
        visitor = customer.visitor_id or visitor_of_click.get(customer.first_click_id)
        at = customer.first_lead_at
        touches = [t for t in clicks_of.get(visitor, []) if at - window <= t[3] <= at]
        if not touches:
            continue  # direct
        per_touch = engine.weights(model, [(t[0], t[3]) for t in touches], at, window=window)
        by_ambassador, by_link, campaign_of = defaultdict(int), defaultdict(lambda: defaultdict(int)), {}
        for (ambassador_id, link_id, campaign_id, _), (_, weight) in zip(touches, per_touch, strict=True):
            if weight:
                by_ambassador[ambassador_id] += weight
                by_link[ambassador_id][link_id] += weight
                campaign_of[link_id] = campaign_id

        def emit(day, kind, total, campaign_of=campaign_of, by_ambassador=by_ambassador, by_link=by_link):
            for ambassador_id, units in split(by_ambassador, total).items():
                for link_id, link_units in split(by_link[ambassador_id], units).items():
                    out.append((day, ambassador_id, campaign_of[link_id], kind, link_units))

        emit(at.astimezone(tz).date(), "lead", 10_000)
        paid = [sale for sale in sales_of[customer.pk] if sale.status == "paid"]
        if paid:
            emit(paid[0].occurred_at.astimezone(tz).date(), "customer", 10_000)
        for sale in paid:
            emit(sale.occurred_at.astimezone(tz).date(), "sale", int(sale.amount * 100))
    return out


def sums(rows, period, key_index):
    """{key: [leads, customers, revenue]} as Decimals, for rows inside the period."""
    totals = defaultdict(lambda: [Decimal("0.0000"), Decimal("0.0000"), Decimal("0.00")])
    for day, ambassador_id, campaign_id, kind, units in rows:
        if period.start <= day <= period.end:
            key = (ambassador_id, campaign_id)[key_index]
            index = {"lead": 0, "customer": 1, "sale": 2}[kind]
            totals[key][index] += Decimal(units).scaleb(-2 if index == 2 else -4)
    return totals


@pytest.mark.django_db
@pytest.mark.parametrize("period_key", ["30d", "90d"])
def test_leaderboard_roi_and_funnel_equal_a_recount_from_raw_data(demo, period_key):
    org = demo
    period = period_for(period_key, org.tzinfo)
    model = "linear"  # the demo's reporting model (the default)
    credits = recount_credits(org, model)
    by_ambassador, by_campaign = sums(credits, period, 0), sums(credits, period, 1)

    with tenant_scope(org):
        shares = defaultdict(int)
        shares_by_pair = defaultdict(int)
        for ambassador_id, campaign_id, at in ShareEvent.objects.values_list("ambassador_id", "campaign_id",
                                                                              "shared_at"):
            if period.start <= at.astimezone(org.tzinfo).date() <= period.end:
                shares[ambassador_id] += 1
                shares_by_pair[(campaign_id, ambassador_id)] += 1
        clicks, unique = defaultdict(int), defaultdict(int)
        clicks_by_campaign, unique_by_campaign = defaultdict(int), defaultdict(int)
        for ambassador_id, campaign_id, at, is_unique in Click.objects.filter(is_bot=False, is_self=False) \
                .values_list("ambassador_id", "campaign_id", "clicked_at", "is_unique"):
            if period.start <= at.astimezone(org.tzinfo).date() <= period.end:
                clicks[ambassador_id] += 1
                clicks_by_campaign[campaign_id] += 1
                unique[ambassador_id] += is_unique
                unique_by_campaign[campaign_id] += is_unique
        spend = defaultdict(Decimal)
        for campaign_id, day, amount in CampaignCost.objects.values_list("campaign_id", "date", "amount"):
            if period.start <= day <= period.end:
                spend[campaign_id] += amount
        rates = dict(Ambassador.objects.values_list("id", "hourly_rate"))
        minutes = dict(Campaign.objects.values_list("id", "minutes_per_share"))
        rules = points_rules(org.pk)

        f = ReportFilter(org.pk, period)
        board = {row.ambassador_id: row for row in leaderboard(f, "revenue")}
        roi = {row.campaign.pk: row.figures for row in roi_list(f) if row.campaign is not None}
        programme = funnel(f).programme

    # Leaderboard: every ambassador's figures, points from the rules.
    active = set(shares) | set(clicks) | set(by_ambassador)
    assert active <= set(board)
    for ambassador_id, row in board.items():
        leads, customers, revenue = by_ambassador.get(ambassador_id, [0, 0, 0])
        expected = (shares.get(ambassador_id, 0), clicks.get(ambassador_id, 0), unique.get(ambassador_id, 0),
                    Decimal(leads), Decimal(customers), Decimal(revenue))
        assert (row.shares, row.clicks, row.unique_clicks, row.leads, row.customers, row.revenue) == expected, row
        points = (rules.per_share * expected[0] + rules.per_unique_click * expected[2] + rules.per_lead * expected[3]
                  + rules.per_revenue_unit * expected[5]).quantize(CENT, ROUND_HALF_UP)
        assert row.points == points, row
    assert sum(row.revenue for row in board.values()) > 0  # the demo has credited revenue in the period

    # ROI per campaign: revenue, the cost ledger, the ambassadors' time, ROI.
    for campaign_id, figures in roi.items():
        leads, customers, revenue = by_campaign.get(campaign_id, [0, 0, 0])
        time = sum((Decimal(n) * minutes[c] * rates[a] / 60 for (c, a), n in shares_by_pair.items()
                    if c == campaign_id), Decimal(0)).quantize(CENT, ROUND_HALF_UP)
        cost = spend.get(campaign_id, Decimal("0.00")) + time
        assert (figures.revenue, figures.spend, figures.time_cost, figures.cost, figures.leads,
                figures.customers) == (Decimal(revenue), spend.get(campaign_id, Decimal("0.00")), time, cost,
                                       Decimal(leads), Decimal(customers)), campaign_id
        expected_roi = ((Decimal(revenue) - cost) / cost).quantize(Decimal("0.0001"), ROUND_HALF_UP) if cost else None
        assert figures.roi == expected_roi

    # Funnel of the programme.
    totals = [sum(values[i] for values in by_ambassador.values()) for i in range(3)]
    assert (programme.shares, programme.clicks, programme.unique, programme.leads, programme.customers,
            programme.revenue) == (sum(shares.values()), sum(clicks.values()), sum(unique.values()),
                                   *[Decimal(t) for t in totals])
