"""API twin of the drill-down page: GET /api/v1/o/<slug>/ambassadors/<public_id>/performance/
(managers and up). The same query parameters, selector and figures as the page and its CSV
(reports.selectors.ambassador): exact values (money to the cent, credited leads and customers to
4 places) as decimal strings; what is not known per channel is null."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from ..selectors.ambassador import GRAINS, MAX_DAYS_BY_DAY, GrainError, ambassador_by_public_id, ambassador_performance
from .roi import FILTER_PARAMETERS, Count4, Money, PeriodSerializer, _ReportView

PARAMETERS = [
    *[parameter for parameter in FILTER_PARAMETERS if parameter.name not in ("group", "kind")],
    OpenApiParameter("grain", str, enum=list(GRAINS),
                     description=f"Buckets of `periods`: day (periods up to {MAX_DAYS_BY_DAY} days), week (Monday to "
                                 "Sunday) or month. Default: day up to 14 days, week up to 120, month beyond."),
]


class PerformanceFiguresSerializer(serializers.Serializer):
    shares = serializers.IntegerField(help_text="Share buttons used in the period.")
    clicks = serializers.IntegerField(help_text="Creditable clicks (no bots, link previews or own clicks).")
    unique_clicks = serializers.IntegerField(help_text="Unique visitors per link and 24 hours.")
    leads = Count4(allow_null=True, help_text="Leads credited under the model (exact, 4 places); null per channel.")
    customers = Count4(allow_null=True, help_text="Customers credited under the model (exact, 4 places); null per "
                                                  "channel.")
    revenue = Money(allow_null=True, help_text="Revenue credited under the model, in `currency`; null per channel.")
    points = serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=True, allow_null=True,
                                      help_text="The leaderboard's activity points (under the organisation's "
                                                "reporting model); null per channel.")
    time_cost = Money(help_text="The ROI's time cost: shares × the campaign's minutes per share / 60 × the "
                                "ambassador's hourly rate, in `currency`.")
    earned = Money(allow_null=True, help_text="Money earned in the rewards ledger in `currency`, not canceled or "
                                              "refunded (held included), by the day earned; null per channel.")
    reward_points = serializers.IntegerField(allow_null=True, help_text="Reward points of the ledger, not canceled "
                                                                        "or refunded; null per channel.")


class PerformanceLineSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The bucket's first day (ISO), the campaign's id, or the channel.")
    label = serializers.CharField()
    figures = PerformanceFiguresSerializer()


class PerformanceAmbassadorSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    hourly_rate = Money()


class PerformanceSerializer(serializers.Serializer):
    period = PeriodSerializer(source="filter.period")
    model = serializers.CharField(help_text="The model leads, customers and revenue are credited under.")
    reporting_model = serializers.CharField(help_text="The model points follow.")
    currency = serializers.CharField()
    grain = serializers.ChoiceField(choices=list(GRAINS))
    ambassador = PerformanceAmbassadorSerializer()
    totals = PerformanceFiguresSerializer()
    periods = PerformanceLineSerializer(many=True, source="by_period",
                                        help_text="Every bucket of the period, zero-filled.")
    campaigns = PerformanceLineSerializer(many=True, source="by_campaign")
    channels = PerformanceLineSerializer(many=True, source="by_channel",
                                         help_text="Shares, clicks and time per channel; credits and earnings of "
                                                   "one ambassador are not split by channel (null).")
    other_currencies = serializers.DictField(child=Money(), help_text="Money earned in other currencies (never "
                                                                      "added to `earned`).")


class AmbassadorPerformanceView(_ReportView):
    """One ambassador's performance: totals, by period, campaign and channel."""

    @extend_schema(operation_id="reports_ambassador_performance", parameters=PARAMETERS,
                   responses=PerformanceSerializer)
    def get(self, request, org_slug, public_id):
        ambassador = ambassador_by_public_id(request.organization.pk, public_id)
        if ambassador is None:
            raise Http404("No such ambassador.")  # DRF's 404, also for another organisation's
        f = self.report_filter(request)
        try:
            grain = request.query_params.get("grain")
            if grain == "":  # given empty: not the default (leave it out)
                raise GrainError("May not be empty: leave the parameter out for the default.")
            if len(request.query_params.getlist("grain")) > 1:
                raise GrainError("Give this parameter once.")
            performance = ambassador_performance(f, ambassador.pk, grain=grain)
        except GrainError as error:
            raise ValidationError({"grain": [str(error)]}) from None
        return Response(PerformanceSerializer(performance).data)
