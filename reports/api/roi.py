"""API of campaign ROI, the funnel and the model comparison (managers and up), under
/api/v1/o/<slug>/reports/. Same query parameters, selectors and rounding as the pages and CSVs;
money and ratios are decimal strings, a ratio with nothing to divide by is null. Money is in the
envelope's `currency`; ROI comes both as a ratio (`roi`, kept for existing clients) and in percent
(`roi_percent`, the unit every page, CSV and the digest use); credited leads and customers are exact."""

from __future__ import annotations

from dataclasses import replace

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy.models import Role
from tenancy.roles import MinimumRole
from tracking.models import AttributionModel
from tracking.selectors import active_version

from ..figures import percent_of
from ..forms import ParamError, by_param, report_filter
from ..periods import PRESETS
from ..selectors.base import campaign_by_public_id
from ..selectors.comparison import BY, model_comparison
from ..selectors.funnel import funnel
from ..selectors.lead_modes import lead_modes
from ..selectors.roi import campaign_roi, roi_list
from .pending_sales import awaiting_field, estimated_field, pending_sales_data


def Money(**kwargs):  # noqa: N802
    return serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=True, **kwargs)


def Ratio(**kwargs):  # noqa: N802
    return serializers.DecimalField(max_digits=16, decimal_places=4, coerce_to_string=True, allow_null=True, **kwargs)


def Count4(**kwargs):  # noqa: N802
    """Leads and customers: fractional under the split models (4 places)."""
    kwargs.setdefault("help_text", CREDITED)
    return serializers.DecimalField(max_digits=16, decimal_places=4, coerce_to_string=True, **kwargs)


CREDITED = ("Credited (exact, 4 places): multi-touch attribution divides one conversion between the ambassadors "
            "whose links the visitor clicked, so this can be a fraction; the pages round it to one decimal.")


class PercentField(serializers.DecimalField):
    """A ratio of the selectors given in percent, exactly (the ratio's 4 places become 2)."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=18, decimal_places=2, coerce_to_string=True, allow_null=True, **kwargs)

    def to_representation(self, value):
        return super().to_representation(percent_of(value))


FILTER_PARAMETERS = [
    OpenApiParameter("period", str, enum=list(PRESETS), description="Default 30d; custom needs start and end."),
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (custom period), in the org's time zone."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, included (custom period)."),
    OpenApiParameter("model", str, enum=list(AttributionModel.values),
                     description="Attribution model (default: the organisation's reporting model)."),
    OpenApiParameter("campaign", OpenApiTypes.UUID, many=True, description="Campaign id(s) to limit the report to."),
    OpenApiParameter("group", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                     description="Ambassador group id."),
    OpenApiParameter("kind", str, enum=["internal", "external"], description="Kind of ambassador."),
]


class PeriodSerializer(serializers.Serializer):
    key = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField(help_text="Included.")
    time_zone = serializers.CharField(source="tz.key")


class RoiFiguresSerializer(serializers.Serializer):
    revenue = Money(help_text="Revenue credited under the model.")
    spend = Money(help_text="The campaign cost ledger in the period. Under a kind or group filter, the segment's "
                            "share of it: each campaign's spend allocated in proportion to the segment's shares of "
                            "the campaign in the period (largest remainder to the cent), so the segments' costs add "
                            "up to the campaign's.")
    rewards = Money(help_text="Rewards earned in the period (by the day earned): money not canceled or "
                                "refunded (held included) + reward points × the point value.")
    time_cost = Money(help_text="Σ shares × minutes per share / 60 × the ambassador's hourly rate, summed exactly "
                                "and rounded once to the cent (per campaign; a total is the sum of its campaigns').")
    cost = Money(help_text="spend + rewards + time_cost, each rounded once to the cent: the parts add up exactly. "
                           "Breakdowns (per ambassador, per kind) get their cents by largest remainder.")
    profit = Money(help_text="revenue − cost")
    roi = Ratio(help_text="ROI as a ratio, (revenue − cost) / cost, 4 places: 9.1239 means 912.39 %. Null when "
                          "cost is 0. Kept for existing clients; roi_percent is the figure the pages show.")
    roi_percent = PercentField(source="roi", help_text="ROI in percent, (revenue − cost) / cost × 100, 2 places: "
                                                       "912.39 means 912.39 % (the pages round it to 912.4 %). Null "
                                                       "when cost is 0.")
    leads = Count4()
    customers = Count4()
    shares = serializers.IntegerField()
    cost_per_lead = Money(allow_null=True)
    cost_per_customer = Money(allow_null=True)
    revenue_per_share = Money(allow_null=True)


class CampaignRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    status = serializers.CharField()
    minutes_per_share = serializers.DecimalField(max_digits=8, decimal_places=2, coerce_to_string=True)


class RoiRowSerializer(serializers.Serializer):
    campaign = CampaignRefSerializer()
    figures = RoiFiguresSerializer()


class RoiListSerializer(serializers.Serializer):
    period = PeriodSerializer()
    model = serializers.CharField()
    currency = serializers.CharField()
    campaigns = RoiRowSerializer(many=True)
    total = RoiFiguresSerializer(help_text="The programme: every campaign above together (the sum of their rounded "
                                           "figures, so the rows add up to it).")
    unallocated_spend = Money(help_text="Under a kind or group filter: spend of campaigns with no shares in the "
                                        "period, allocated to no segment (in no row's cost); 0 without a filter.")
    sales_awaiting_rate = awaiting_field()
    sales_estimated = estimated_field()


class KindSplitSerializer(serializers.Serializer):
    kind = serializers.CharField()
    revenue = Money()
    rewards = Money()
    time_cost = Money()
    own_cost = Money(help_text="rewards + time_cost (spend is not split by kind). The ambassadors' cents come from "
                               "the campaign's rounded rewards and time by largest remainder, so the kinds' own "
                               "costs + unsplit_spend add up exactly to figures.cost.")
    leads = Count4()
    customers = Count4()
    shares = serializers.IntegerField()
    revenue_per_share = Money(allow_null=True)


class AmbassadorTimeSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    kind = serializers.CharField()
    shares = serializers.IntegerField()
    hourly_rate = Money()
    time_cost = Money()
    leads = Count4()
    revenue = Money()


class CampaignRoiSerializer(serializers.Serializer):
    period = PeriodSerializer()
    model = serializers.CharField()
    currency = serializers.CharField()
    campaign = CampaignRefSerializer()
    figures = RoiFiguresSerializer()
    split = KindSplitSerializer(many=True, help_text="Internal and external ambassadors' own part.")
    unsplit_spend = Money(help_text="Campaign-level spend, not attributable to a kind of ambassador (figures.spend: "
                                    "under a kind or group filter, the segment's share of the spend by its shares).")
    unallocated_spend = Money(help_text="Under a kind or group filter: the campaign's spend when it has no shares in "
                                        "the period (allocated to no segment, not in figures.cost); 0 otherwise.")
    ambassadors = AmbassadorTimeSerializer(many=True, help_text="Each ambassador's time_cost: the campaign's rounded "
                                           "time handed out by largest remainder (ties: the lower ambassador id), so "
                                           "the lines add up exactly to figures.time_cost.")
    sales_awaiting_rate = awaiting_field()
    sales_estimated = estimated_field()


class RatesSerializer(serializers.Serializer):
    clicks = Ratio(help_text="clicks / shares: clicks per share (a ratio, 4 places; not a percentage).")
    unique = Ratio(help_text="unique visitors / clicks, a ratio (4 places): 0.9193 means 91.93 %.")
    leads = Ratio(help_text="leads / unique visitors, a ratio (4 places): 0.0512 means 5.12 %.")
    customers = Ratio(help_text="customers / leads, a ratio (4 places): 0.25 means 25 %.")
    revenue = Money(allow_null=True, help_text="revenue / customers: money per customer, in `currency`.")


class FunnelFiguresSerializer(serializers.Serializer):
    shares = serializers.IntegerField()
    clicks = serializers.IntegerField(help_text="Creditable clicks (no bots, previews or own clicks).")
    unique = serializers.IntegerField(help_text="Clicks with no click by the same visitor on the same link in the "
                                                "24 hours before.")
    leads = Count4()
    customers = Count4()
    revenue = Money()
    rates = RatesSerializer()


class CampaignFunnelSerializer(serializers.Serializer):
    campaign = CampaignRefSerializer()
    figures = FunnelFiguresSerializer()


class ChannelSerializer(serializers.Serializer):
    channel = serializers.CharField()
    shares = serializers.IntegerField()
    clicks = serializers.IntegerField()
    unique = serializers.IntegerField()
    clicks_per_share = Ratio(help_text="clicks / shares (a ratio, not a percentage).")
    share_of_clicks = Ratio(help_text="This channel's clicks / all clicks, a ratio (4 places): 0.25 means 25 %.")
    leads = Count4(help_text="Leads credited through this channel (exact, 4 places): credits keep the channel of "
                             "their touch, and a multi-touch lead is divided between its touches' channels.")
    customers = Count4(help_text="Paying customers credited through this channel (exact, 4 places).")
    revenue = Money(help_text="Revenue credited through this channel, in `currency`.")


class DaySerializer(serializers.Serializer):
    day = serializers.DateField()
    shares = serializers.IntegerField()
    clicks = serializers.IntegerField()
    unique = serializers.IntegerField()
    leads = Count4()
    customers = Count4()
    revenue = Money()


class LeadModeSerializer(serializers.Serializer):
    mode = serializers.CharField(help_text="full, consent, cookieless or unknown (the lead didn't say).")
    label = serializers.CharField()
    leads = serializers.IntegerField(help_text="Leads (customers whose first lead is in the period) that came "
                                               "through this mode, whatever their campaign.")
    share = Ratio(help_text="Of all the period's leads, a ratio (4 places): 0.25 means 25 %; null without leads.")


class FunnelSerializer(serializers.Serializer):
    period = PeriodSerializer()
    model = serializers.CharField()
    currency = serializers.CharField()
    programme = FunnelFiguresSerializer()
    campaigns = CampaignFunnelSerializer(many=True, source="by_campaign")
    channels = ChannelSerializer(many=True)
    daily = DaySerializer(many=True, help_text="Every local day of the period, zero-filled.")
    lead_modes = LeadModeSerializer(many=True, help_text="The share of the period's leads per tracking mode (all "
                                                         "leads, not only credited ones; filters other than the "
                                                         "period don't apply).")


class ModelFiguresSerializer(serializers.Serializer):
    model = serializers.CharField()
    leads = Count4()
    revenue = Money()
    leads_change = serializers.DecimalField(max_digits=16, decimal_places=4, coerce_to_string=True,
                                            help_text="Versus the reporting model.")
    revenue_change = Money(help_text="Versus the reporting model.")


class ComparisonRowSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", help_text="Ambassador or campaign id ('' for the total).")
    name = serializers.CharField()
    kind = serializers.CharField(help_text="internal / external for ambassadors, '' otherwise.")
    models = ModelFiguresSerializer(many=True)
    leads_spread = serializers.DecimalField(max_digits=16, decimal_places=4, coerce_to_string=True)
    revenue_spread = Money(help_text="Best model's revenue − worst model's.")
    best_model = serializers.CharField()
    worst_model = serializers.CharField()


class ComparisonSerializer(serializers.Serializer):
    period = PeriodSerializer()
    by = serializers.ChoiceField(choices=list(BY))
    reporting_model = serializers.CharField()
    currency = serializers.CharField()
    rows = ComparisonRowSerializer(many=True)
    total = ComparisonRowSerializer()
    totals_may_differ = serializers.BooleanField(
        source="filtered", help_text="True with a campaign, group or kind filter: a model may credit a "
                                     "conversion outside the filter, so totals can differ between models.")


class _ReportView(APIView):
    permission_classes = [MinimumRole(Role.MANAGER)]

    def report_filter(self, request):
        try:
            return report_filter(request.organization, request.query_params, strict=True)
        except ParamError as error:
            raise ValidationError({error.field: [error.message]}) from None

    def by(self, request) -> str:
        try:
            return by_param(request.query_params, strict=True)
        except ParamError as error:
            raise ValidationError({error.field: [error.message]}) from None

    def envelope(self, request, f) -> dict:
        return {"period": f.period, "model": f.model or active_version(request.organization.pk)[1],
                "currency": request.organization.currency}


class RoiListView(_ReportView):
    """Campaign ROI: one row per campaign and the programme total."""

    @extend_schema(operation_id="reports_roi", parameters=FILTER_PARAMETERS, responses=RoiListSerializer)
    def get(self, request, org_slug):
        f = self.report_filter(request)
        rows = roi_list(f)
        data = self.envelope(request, f) | {"campaigns": rows[:-1], "total": rows[-1].figures,
                                            "unallocated_spend": rows[-1].unallocated_spend, **pending_sales_data(f)}
        return Response(RoiListSerializer(data).data)


class RoiDetailView(_ReportView):
    """One campaign's ROI, its internal/external split and each ambassador's time."""

    @extend_schema(operation_id="reports_roi_campaign", parameters=FILTER_PARAMETERS,
                   responses=CampaignRoiSerializer)
    def get(self, request, org_slug, public_id):
        campaign = campaign_by_public_id(request.organization.pk, public_id)
        if campaign is None:
            raise Http404("No such campaign.")  # DRF's 404
        f = self.report_filter(request)
        detail = campaign_roi(f, campaign.pk)
        data = self.envelope(request, f) | {"campaign": campaign, "figures": detail.figures, "split": detail.split,
                                            "unsplit_spend": detail.unsplit_spend,
                                            "unallocated_spend": detail.unallocated_spend,
                                            "ambassadors": detail.ambassadors,
                                            **pending_sales_data(replace(f, campaign_ids=(campaign.pk,)))}
        return Response(CampaignRoiSerializer(data).data)


def _funnel_figures(figures) -> dict:
    return {"shares": figures.shares, "clicks": figures.clicks, "unique": figures.unique, "leads": figures.leads,
            "customers": figures.customers, "revenue": figures.revenue, "rates": figures.rates}


class FunnelView(_ReportView):
    """The funnel (programme and per campaign), the channel breakdown and the daily series."""

    @extend_schema(operation_id="reports_funnel", parameters=FILTER_PARAMETERS, responses=FunnelSerializer)
    def get(self, request, org_slug):
        f = self.report_filter(request)
        result = funnel(f)
        data = self.envelope(request, f) | {
            "programme": _funnel_figures(result.programme),
            "by_campaign": [{"campaign": row.campaign, "figures": _funnel_figures(row.figures)}
                            for row in result.by_campaign],
            "channels": result.channels, "daily": result.daily, "lead_modes": lead_modes(f)}
        return Response(FunnelSerializer(data).data)


class ModelsView(_ReportView):
    """Leads and revenue under all five models side by side, per ambassador or per campaign."""

    @extend_schema(operation_id="reports_models", parameters=[
        *FILTER_PARAMETERS, OpenApiParameter("by", str, enum=list(BY), description="Rows: ambassador (default) "
                                                                                   "or campaign.")],
        responses=ComparisonSerializer)
    def get(self, request, org_slug):
        f = self.report_filter(request)
        by = self.by(request)
        comparison = model_comparison(f, by)
        data = {"period": f.period, "by": by, "reporting_model": comparison.reporting_model,
                "currency": request.organization.currency, "rows": comparison.rows, "total": comparison.total,
                "filtered": comparison.filtered}
        return Response(ComparisonSerializer(data).data)
