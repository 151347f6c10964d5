"""API of the channel split (reports.selectors.channels), under /api/v1/o/<slug>/reports/channels/:
clicks, unique visitors, leads, customers and revenue per channel, with the same query
parameters as the other reports plus `channel` (one of the channels, or absent for all; anything
else is a 400 saying which values are accepted). Money and ratios are decimal strings; a ratio
with nothing to divide by is null."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from ..selectors.channels import CHANNELS, WHY_NO_CHANNEL_ROI, ChannelError, channel_param, channel_split
from .roi import FILTER_PARAMETERS, Count4, Money, PeriodSerializer, Ratio, _ReportView

CHANNEL_PARAMETER = OpenApiParameter(
    "channel", str, enum=list(CHANNELS),
    description="Keep one channel (default: every channel). “unknown”: credits whose click is not known.")


class ChannelRowSerializer(serializers.Serializer):
    channel = serializers.CharField(help_text="The channel's key; '' for the total.")
    label = serializers.CharField()
    clicks = serializers.IntegerField(help_text="Creditable clicks (no bots, previews or own clicks).")
    unique_visitors = serializers.IntegerField(source="unique_clicks", help_text=(
        "Clicks with no click by the same visitor on the same link in the 24 hours before."))
    leads = Count4(help_text="Leads credited through this channel (exact, 4 places): a multi-touch lead is divided "
                             "between the channels of its touches as between ambassadors.")
    customers = Count4(help_text="Paying customers credited through this channel (exact, 4 places).")
    revenue = Money(help_text="Revenue credited through this channel, in `currency`.")
    share_of_revenue = Ratio(help_text="This channel's revenue / every channel's, a ratio (4 places): 0.25 means "
                                       "25 %.")
    revenue_per_click = Money(allow_null=True, help_text="revenue / clicks, in `currency`; null without clicks.")
    leads_per_click = Ratio(help_text="leads / clicks, a ratio (4 places); null without clicks.")


class ChannelSplitSerializer(serializers.Serializer):
    period = PeriodSerializer()
    model = serializers.CharField()
    currency = serializers.CharField()
    channel = serializers.CharField(allow_null=True, help_text="The channel asked for, or null for every channel.")
    channels = ChannelRowSerializer(many=True, source="rows", help_text=(
        "One row per channel (unknown only when it has anything), or the one asked for."))
    total = ChannelRowSerializer(help_text="The rows together: equal to the campaigns' totals of the same filter.")
    roi_note = serializers.CharField(help_text="Why there is no ROI per channel.")


class ChannelsView(_ReportView):
    """Clicks, unique visitors, leads, customers and revenue per channel (no ROI: spend and rewards
    are recorded per campaign and ambassador, not per channel)."""

    @extend_schema(operation_id="reports_channels", parameters=[*FILTER_PARAMETERS, CHANNEL_PARAMETER],
                   responses=ChannelSplitSerializer)
    def get(self, request, org_slug):
        f = self.report_filter(request)
        try:
            channel = channel_param(request.query_params.get("channel"))
        except ChannelError as error:
            raise ValidationError({error.field: [error.message]}) from None
        if request.query_params.get("channel") == "":  # given empty: not "every channel" (leave it out)
            raise ValidationError({"channel": ["May not be empty: leave the parameter out for every channel."]})
        if len(request.query_params.getlist("channel")) > 1:
            raise ValidationError({"channel": ["Give this parameter once."]})
        split = channel_split(f, channel=channel)
        data = self.envelope(request, f) | {"channel": channel, "rows": split.rows, "total": split.total,
                                            "roi_note": WHY_NO_CHANNEL_ROI}
        return Response(ChannelSplitSerializer(data).data)
