"""API of the leaderboard reports (the same selectors and numbers as the page and its CSV):

GET /api/v1/o/<slug>/reports/leaderboard/        ranked rows (managers and up)
GET /api/v1/o/<slug>/reports/leaderboard/fair/   per group / kind, averages per active ambassador
GET/PATCH /api/v1/o/<slug>/points-rules/         managers read, admins change

Parameters as on the page: period (7d, 30d, 90d, month, quarter, custom + start/end), metric,
model, campaign (repeatable), group, kind. A bad one answers 400 {field: [message]}."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ambassadors.models import Kind
from common.api_fields import StrictDecimalField
from common.pagination import whole_number
from tenancy.models import Role
from tenancy.roles import MinimumRole
from tracking.models import AttributionModel

from ..forms import ParamError, metric_param, report_filter
from ..periods import PRESETS
from ..selectors.leaderboard import METRICS, fair_view, leaderboard_page
from ..selectors.points import points_model, points_rules
from ..services import RulesError, update_points_rules

MONEY = {"max_digits": 14, "decimal_places": 2}
SHARE = {"max_digits": 14, "decimal_places": 4}

FILTER_PARAMETERS = [
    OpenApiParameter("period", OpenApiTypes.STR, enum=list(PRESETS), description="Default 30d (ending today, local)."),
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day of a custom period (included)."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day of a custom period (included)."),
    OpenApiParameter("model", OpenApiTypes.STR, enum=AttributionModel.values,
                     description="Default: the organisation's reporting model."),
    OpenApiParameter("campaign", OpenApiTypes.UUID, many=True, description="Campaign id(s) (repeatable)."),
    OpenApiParameter("group", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                     description="Ambassador group id."),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=Kind.values),
]


CREDITED = ("Credited under the model, exact (4 places): multi-touch attribution divides one conversion between "
            "ambassadors, so this can be a fraction; the pages round it to one decimal.")
REVENUE = "Credited revenue in the organisation's currency (the ROI API's `currency`), exact to the cent."


DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_PAGE = 100, 1000, 10_000_000


class LeaderboardPeriodSerializer(serializers.Serializer):
    key = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField(help_text="Included.")
    label = serializers.CharField()


class LeaderRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="Equal values share a rank (1, 2, 2, 4).")
    previous_rank = serializers.IntegerField(allow_null=True, help_text="In the previous period; null if the "
                                                                         "ambassador had no activity then.")
    movement = serializers.IntegerField(allow_null=True, help_text="previous_rank − rank: +2 is up two places.")
    ambassador_id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    shares = serializers.IntegerField()
    clicks = serializers.IntegerField(help_text="Creditable clicks (no bots, no self-clicks).")
    unique_clicks = serializers.IntegerField()
    leads = serializers.DecimalField(**SHARE, help_text=CREDITED)
    customers = serializers.DecimalField(**SHARE, help_text=CREDITED)
    revenue = serializers.DecimalField(**MONEY, help_text=REVENUE)
    points = serializers.DecimalField(**MONEY, help_text="Under the organisation's reporting model and points rules.")


class LeaderboardTotalsSerializer(serializers.Serializer):
    ambassadors = serializers.IntegerField()
    shares = serializers.IntegerField()
    clicks = serializers.IntegerField()
    unique_clicks = serializers.IntegerField()
    leads = serializers.DecimalField(**SHARE)
    customers = serializers.DecimalField(**SHARE)
    revenue = serializers.DecimalField(**MONEY, help_text="The same under every model.")
    points = serializers.DecimalField(**MONEY)


class LeaderboardSerializer(serializers.Serializer):
    period = LeaderboardPeriodSerializer()
    model = serializers.CharField(help_text="The attribution model of leads, customers and revenue.")
    metric = serializers.ChoiceField(choices=list(METRICS.items()))
    page = serializers.IntegerField(source="page.number", help_text="This page, from 1.")
    page_size = serializers.IntegerField(source="page.per_page")
    pages = serializers.IntegerField(source="page.pages", help_text="Pages of page_size rows (at least 1).")
    count = serializers.IntegerField(source="page.count", help_text="Rows on the whole leaderboard.")
    rows = LeaderRowSerializer(many=True, source="page.rows", help_text="This page's rows, best first.")
    totals = LeaderboardTotalsSerializer(source="page.totals", help_text="The whole leaderboard's, every page.")


class FairGroupRowSerializer(serializers.Serializer):
    section = serializers.ChoiceField(choices=["group", "kind", "all"])
    key = serializers.CharField(help_text="The group id (\"none\": no group), the kind, or \"all\".")
    name = serializers.CharField()
    ambassadors = serializers.IntegerField()
    active = serializers.IntegerField(help_text="Shared or got a creditable click in the period.")
    shares = serializers.IntegerField()
    clicks = serializers.IntegerField()
    leads = serializers.DecimalField(**SHARE, help_text=CREDITED)
    revenue = serializers.DecimalField(**MONEY, help_text=REVENUE)
    points = serializers.DecimalField(**MONEY)
    avg_shares = serializers.DecimalField(**MONEY, allow_null=True, help_text="Per active ambassador.")
    avg_clicks = serializers.DecimalField(**MONEY, allow_null=True)
    avg_leads = serializers.DecimalField(**MONEY, allow_null=True)
    avg_revenue = serializers.DecimalField(**MONEY, allow_null=True, help_text="Per active ambassador, in the "
                                                                               "organisation's currency.")
    avg_points = serializers.DecimalField(**MONEY, allow_null=True)


class FairViewSerializer(serializers.Serializer):
    period = LeaderboardPeriodSerializer()
    model = serializers.CharField(help_text="The attribution model of leads, customers and revenue.")
    rows = FairGroupRowSerializer(many=True)


# A 400 names the bad parameter (or field) itself: {"period": ["…"]}, not {"field": […]}.
FIELD_ERRORS = OpenApiResponse(
    {"type": "object", "additionalProperties": {"anyOf": [{"type": "array", "items": {"type": "string"}},
                                                          {"type": "string"}]}},
    description="The bad parameter → messages, e.g. {\"period\": [\"…\"]} ({\"detail\": \"…\"} for a body "
                "that isn't JSON).")


def _filter(request, *, with_metric: bool):
    try:
        f = report_filter(request.organization, request.query_params, strict=True)
        metric = metric_param(request.query_params, strict=True) if with_metric else None
    except ParamError as error:
        raise serializers.ValidationError({error.field: [error.message]}) from None
    return f, metric


def _period(f) -> dict:
    return {"key": f.period.key, "start": f.period.start, "end": f.period.end, "label": f.period.label}


class LeaderboardView(APIView):
    """Ambassadors ranked by a metric, with the previous period's rank and the movement."""

    permission_classes = [MinimumRole(Role.MANAGER)]

    @extend_schema(parameters=[*FILTER_PARAMETERS, OpenApiParameter("metric", OpenApiTypes.STR, enum=list(METRICS),
                                                                    description="Default points."),
                               OpenApiParameter("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                                                description="From 1 (default 1); past the last page, the last page "
                                                            "is served."),
                               OpenApiParameter("page_size", {"type": "integer", "minimum": 1,
                                                              "maximum": MAX_PAGE_SIZE},
                                                description=f"Rows per page, 1–{MAX_PAGE_SIZE} "
                                                            f"(default {DEFAULT_PAGE_SIZE}).")],
                   responses={200: LeaderboardSerializer, 400: FIELD_ERRORS})
    def get(self, request, org_slug):
        f, metric = _filter(request, with_metric=True)
        params = request.query_params
        page = leaderboard_page(f, metric, whole_number(params, "page", minimum=1, maximum=MAX_PAGE, default=1),
                                whole_number(params, "page_size", minimum=1, maximum=MAX_PAGE_SIZE,
                                             default=DEFAULT_PAGE_SIZE))
        data = {"period": _period(f), "model": f.model or points_model(f), "metric": metric, "page": page}
        return Response(LeaderboardSerializer(data).data)


class FairView(APIView):
    """Groups and kinds compared by averages per active ambassador (shared or was clicked)."""

    permission_classes = [MinimumRole(Role.MANAGER)]

    @extend_schema(parameters=FILTER_PARAMETERS, responses={200: FairViewSerializer, 400: FIELD_ERRORS})
    def get(self, request, org_slug):
        f, _ = _filter(request, with_metric=False)
        data = {"period": _period(f), "model": f.model or points_model(f), "rows": fair_view(f)}
        return Response(FairViewSerializer(data).data)


class PointsRulesSerializer(serializers.Serializer):
    per_share = StrictDecimalField(max_digits=8, decimal_places=2, min_value=0, required=False)
    per_unique_click = StrictDecimalField(max_digits=8, decimal_places=2, min_value=0, required=False,
                                          help_text="Bot and self clicks are never unique: they earn nothing.")
    per_lead = StrictDecimalField(max_digits=8, decimal_places=2, min_value=0, required=False)
    per_revenue_unit = StrictDecimalField(max_digits=8, decimal_places=4, min_value=0, required=False,
                                          help_text="Points per 1.00 of revenue credited.")
    updated_at = serializers.DateTimeField(read_only=True)


class PointsRulesView(APIView):
    """The organisation's points rules; points are computed from events with them when read."""

    def get_permissions(self):
        minimum = Role.MANAGER if self.request.method in ("GET", "HEAD", "OPTIONS") else Role.ADMIN
        return [MinimumRole(minimum)()]

    @extend_schema(responses=PointsRulesSerializer)
    def get(self, request, org_slug):
        return Response(PointsRulesSerializer(points_rules(request.organization.pk)).data)

    @extend_schema(request=PointsRulesSerializer,
                   responses={200: PointsRulesSerializer, 400: FIELD_ERRORS})
    def patch(self, request, org_slug):
        serializer = PointsRulesSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            rules = update_points_rules(request.organization.pk, **serializer.validated_data)
        except RulesError as error:
            raise serializers.ValidationError(error.errors) from None
        return Response(PointsRulesSerializer(rules).data)
