"""API of the reports overview (the dashboard at /o/<slug>/reports/), managers and up:

GET /api/v1/o/<slug>/reports/overview/

Every figure the overview page shows, from the same selectors and with the same filters (period presets
or custom start/end, campaign, group, kind, model): the key figures of the period and of the period just
before with the change (summary.key_figures, the page's cards and its cost line), revenue against cost
over time with the break-even (selectors.timeline, the page's "Did the programme pay for itself?"), the
day-by-day series, the clicks per channel and the top ambassadors. Money is a decimal string in
`currency`; leads and customers are exact (4 places); ROI comes as a ratio and in percent, as in the ROI
API. A bad parameter answers 400 {parameter: [message]}."""

from __future__ import annotations

from dataclasses import fields

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.channels import Channel
from tenancy.models import Role
from tenancy.roles import MinimumRole
from tracking.models import AttributionModel
from tracking.selectors import active_version

from ..figures import ClickTotals
from ..forms import ParamError, report_filter
from ..selectors.base import ambassadors, click_sums
from ..selectors.summary import Figures, daily_series, key_figures, top_ambassadors
from ..selectors.timeline import timeline
from .leaderboard import FIELD_ERRORS, FILTER_PARAMETERS, MONEY, SHARE
from .pending_sales import awaiting_field, estimated_field, pending_sales_data
from .roi import CREDITED, PercentField

RATIO = {"max_digits": 16, "decimal_places": 4, "allow_null": True}
CHANGE = {"max_digits": 16, "decimal_places": 1, "allow_null": True}
MONEY_HELP = "In `currency`, exact to the cent."


class OverviewPeriodSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="7d, 30d, 90d, month, quarter or custom.")
    start = serializers.DateField(help_text="First day, in the organisation's time zone.")
    end = serializers.DateField(help_text="Last day, included.")
    label = serializers.CharField(help_text="As the page writes it.")
    time_zone = serializers.CharField(source="tz.key")


class OverviewPreviousPeriodSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="First day of the period compared with (same length, just before).")
    end = serializers.DateField(help_text="Last day, included.")


class OverviewKeyFiguresSerializer(serializers.Serializer):
    shares = serializers.IntegerField(help_text="Shares recorded in the period (a count).")
    clicks = serializers.IntegerField(help_text="Creditable clicks (no bots, previews or own clicks), a count.")
    unique_clicks = serializers.IntegerField(help_text="Unique visitors: clicks with no click by the same visitor "
                                                       "on the same link in the 24 hours before (a count).")
    leads = serializers.DecimalField(**SHARE, help_text=CREDITED)
    customers = serializers.DecimalField(**SHARE, help_text=CREDITED)
    revenue = serializers.DecimalField(**MONEY, help_text="Revenue credited under the model. " + MONEY_HELP)
    spend = serializers.DecimalField(**MONEY, help_text="The campaigns' cost ledger in the period. " + MONEY_HELP)
    rewards = serializers.DecimalField(**MONEY, help_text="Rewards earned in the period (money not canceled or "
                                                          "refunded + reward points × the point value). " + MONEY_HELP)
    time_cost = serializers.DecimalField(**MONEY, help_text="The ambassadors' time: Σ shares × minutes per share / "
                                                            "60 × hourly rate. " + MONEY_HELP)
    cost = serializers.DecimalField(**MONEY, help_text="spend + rewards + time_cost. " + MONEY_HELP)
    profit = serializers.DecimalField(**MONEY, help_text="revenue − cost. " + MONEY_HELP)
    roi = serializers.DecimalField(**RATIO, help_text="ROI as a ratio, (revenue − cost) / cost, 4 places: 1.4194 "
                                                      "means 141.94 %. Null when cost is 0.")
    roi_percent = PercentField(source="roi", help_text="ROI in percent, 2 places: 141.94 means 141.94 % (the page "
                                                       "rounds it to 141.9 %). Null when cost is 0.")
    cost_per_lead = serializers.DecimalField(**MONEY, allow_null=True, help_text="cost / leads, in `currency`; "
                                                                                 "null without leads.")


def _change_field(name: str) -> serializers.DecimalField:
    if name == "roi":
        return serializers.DecimalField(**CHANGE, help_text="Change in percentage points (ROI now − ROI before, "
                                                            "× 100), one decimal; null when either is null.")
    return serializers.DecimalField(**CHANGE, help_text="Change in %, one decimal: +12.5 means 12.5 % more than "
                                                        "the previous period; null when the previous period had 0.")


OverviewChangeSerializer = type("OverviewChangeSerializer", (serializers.Serializer,), {
    "__module__": __name__,
    "__doc__": "The change of each key figure against the previous period: (now − before) / |before| × 100, one "
               "decimal; ROI's in percentage points.",
    **{field.name: _change_field(field.name) for field in fields(Figures)}})


class OverviewCardSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The figure (a key of `current`).")
    label = serializers.CharField(help_text="The card's title on the page.")
    kind = serializers.ChoiceField(choices=["count", "share", "money", "ratio"],
                                   help_text="How it is formatted: count, share (credited, exact), money, "
                                             "ratio (ROI, shown in %).")
    display = serializers.CharField(help_text="The value as the page shows it (formatted, rounded).")
    previous_display = serializers.CharField(help_text="The previous period's value as the page shows it.")
    change_display = serializers.CharField(help_text="The change as the page shows it (% or pp for ROI).")


class OverviewTimelinePointSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="First day of the week or month (clipped to the period).")
    end = serializers.DateField(help_text="Last day, included.")
    revenue = serializers.DecimalField(**MONEY, help_text="Credited in this bucket. " + MONEY_HELP)
    cost = serializers.DecimalField(**MONEY, help_text="spend + rewards + time of this bucket. " + MONEY_HELP)
    cumulative_revenue = serializers.DecimalField(**MONEY, help_text="From the period's first day. " + MONEY_HELP)
    cumulative_cost = serializers.DecimalField(**MONEY, help_text="From the period's first day. " + MONEY_HELP)
    cumulative_roi = serializers.DecimalField(**RATIO, help_text="A ratio, 4 places; null while nothing was spent.")
    cumulative_roi_percent = PercentField(source="cumulative_roi", help_text="The same in %, 2 places.")
    broke_even = serializers.BooleanField(help_text="Cumulative revenue ≥ cumulative cost here.")


class OverviewTimelineSerializer(serializers.Serializer):
    grain = serializers.ChoiceField(choices=["week", "month"], help_text="Weeks (Monday–Sunday) up to 92 days, "
                                                                         "calendar months beyond.")
    points = OverviewTimelinePointSerializer(many=True)
    break_even = OverviewTimelinePointSerializer(allow_null=True, help_text="The first bucket whose cumulative "
                                                                            "revenue reaches its cumulative cost; "
                                                                            "null if none.")
    in_profit_at_end = serializers.BooleanField()


class OverviewDaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="A local day of the period (every day, zero-filled).")
    shares = serializers.IntegerField()
    clicks = serializers.IntegerField()
    unique_clicks = serializers.IntegerField()
    leads = serializers.DecimalField(**SHARE, help_text=CREDITED)
    customers = serializers.DecimalField(**SHARE, help_text=CREDITED)
    revenue = serializers.DecimalField(**MONEY, help_text=MONEY_HELP)


class OverviewChannelClicksSerializer(serializers.Serializer):
    channel = serializers.CharField()
    label = serializers.CharField()
    clicks = serializers.IntegerField(help_text="Creditable clicks through this channel (a count).")


class OverviewTopAmbassadorSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="1 = most revenue credited, then most leads, clicks, name.")
    id = serializers.CharField(help_text="The ambassador's public id ('' for a deleted ambassador).")
    name = serializers.CharField()
    kind = serializers.CharField()
    clicks = serializers.IntegerField()
    leads = serializers.DecimalField(**SHARE, help_text=CREDITED)
    customers = serializers.DecimalField(**SHARE, help_text=CREDITED)
    revenue = serializers.DecimalField(**MONEY, help_text=MONEY_HELP)


class OverviewSerializer(serializers.Serializer):
    period = OverviewPeriodSerializer()
    previous_period = OverviewPreviousPeriodSerializer()
    model = serializers.ChoiceField(choices=AttributionModel.values,
                                    help_text="The attribution model of leads, customers and revenue.")
    currency = serializers.CharField(help_text="The organisation's currency: every money figure is in it.")
    current = OverviewKeyFiguresSerializer(help_text="The period's key figures.")
    previous = OverviewKeyFiguresSerializer(help_text="The previous period's, same filters.")
    change = OverviewChangeSerializer()
    cards = OverviewCardSerializer(many=True, help_text="The page's cards in its order, with its formatting.")
    timeline = OverviewTimelineSerializer(help_text="Revenue vs cost over time and the break-even (the page's chart).")
    daily = OverviewDaySerializer(many=True, help_text="Day by day (the page's daily charts).")
    channels = OverviewChannelClicksSerializer(many=True, help_text="Clicks per channel, every channel (zeros "
                                                                    "included).")
    top_ambassadors = OverviewTopAmbassadorSerializer(many=True, help_text="Up to five: only ambassadors with "
                                                                           "clicks, leads or revenue in the period.")
    unallocated_spend = serializers.DecimalField(
        **MONEY, help_text="Under a kind or group filter: the period's spend of campaigns with no shares in it, which "
                           "no segment carries (not in current.cost; each segment's spend is its share of a "
                           "campaign's by its shares, largest remainder to the cent); 0 without such a filter. "
                           + MONEY_HELP)
    sales_awaiting_rate = awaiting_field()
    sales_estimated = estimated_field()


class OverviewView(APIView):
    """The reports overview: key figures against the previous period, revenue vs cost over time, day by
    day, clicks per channel and the top ambassadors — what the overview page shows, for the same filters."""

    permission_classes = [MinimumRole(Role.MANAGER)]

    @extend_schema(operation_id="reports_overview", parameters=FILTER_PARAMETERS,
                   responses={200: OverviewSerializer, 400: FIELD_ERRORS})
    def get(self, request, org_slug):
        organization = request.organization
        try:
            f = report_filter(organization, request.query_params, strict=True)
        except ParamError as error:
            raise serializers.ValidationError({error.field: [error.message]}) from None
        key = key_figures(f)
        by_channel = click_sums(f, ("channel",))
        people = ambassadors(f)
        top = [{"rank": rank, "id": people[row.ambassador_id].public_id if row.ambassador_id in people else "",
                "name": row.name, "kind": row.kind, "clicks": row.clicks, "leads": row.leads,
                "customers": row.customers, "revenue": row.revenue}
               for rank, row in enumerate(top_ambassadors(f), start=1)]
        data = {
            "period": f.period, "previous_period": f.period.previous(),
            "model": f.model or active_version(organization.pk)[1], "currency": organization.currency,
            "current": key.current, "previous": key.previous, "change": key.change,
            "cards": key.cards(organization), "timeline": timeline(f), "daily": daily_series(f),
            "channels": [{"channel": value, "label": label,
                          "clicks": by_channel.get((value,), ClickTotals.zero()).clicks}
                         for value, label in Channel.choices],
            "top_ambassadors": top, "unallocated_spend": key.unallocated_spend, **pending_sales_data(f),
        }
        return Response(OverviewSerializer(data).data)

