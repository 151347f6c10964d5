"""GET/PATCH /api/v1/o/<slug>/attribution-settings/: managers read, admins change."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy.models import Role
from tenancy.roles import MinimumRole

from .models import AttributionModel
from .services.attribution_settings import MAX_DAYS, MIN_DAYS, SettingsError, change_settings, settings_for
from .tasks import queue_settings_change


class RecomputeSerializer(serializers.Serializer):
    window_days = serializers.IntegerField(source="pending_window_days")
    half_life_days = serializers.IntegerField(source="pending_half_life_days")
    done = serializers.IntegerField(source="recompute_done", help_text="Customers recomputed so far.")
    total = serializers.IntegerField(source="recompute_total")
    started_at = serializers.DateTimeField(source="recompute_started_at")


class AttributionSettingsSerializer(serializers.Serializer):
    reporting_model = serializers.ChoiceField(choices=AttributionModel.choices, required=False,
                                              help_text="The model reports show; switching is instant.")
    window_days = serializers.IntegerField(min_value=MIN_DAYS, max_value=MAX_DAYS, required=False,
                                           help_text="The attribution window in use, in days.")
    half_life_days = serializers.IntegerField(min_value=MIN_DAYS, max_value=MAX_DAYS, required=False,
                                              help_text="The time-decay half-life in use, in days.")
    recompute = serializers.SerializerMethodField(
        help_text="While new credits for a changed window or half-life are being computed: the values being "
                  "applied and the progress; null otherwise. Reports use the values in use until it finishes.")
    last_recomputed_at = serializers.DateTimeField(read_only=True, allow_null=True)

    @extend_schema_field(RecomputeSerializer(allow_null=True))
    def get_recompute(self, settings) -> dict | None:
        return RecomputeSerializer(settings).data if settings.recomputing else None


class AttributionSettingsView(APIView):
    """The organisation's attribution settings. PATCH `reporting_model` (instant), `window_days`
    or `half_life_days`; a new window or half-life starts a background recompute (see `recompute`)."""

    def get_permissions(self):
        minimum = Role.MANAGER if self.request.method in ("GET", "HEAD", "OPTIONS") else Role.ADMIN
        return [MinimumRole(minimum)()]

    @extend_schema(responses=AttributionSettingsSerializer)
    def get(self, request, org_slug):
        return Response(AttributionSettingsSerializer(settings_for(request.organization.pk)).data)

    @extend_schema(request=AttributionSettingsSerializer, responses=AttributionSettingsSerializer)
    def patch(self, request, org_slug):
        serializer = AttributionSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            change = change_settings(request.organization.pk, **serializer.validated_data)
        except SettingsError as error:
            raise serializers.ValidationError({error.field: [error.message]}) from error
        queue_settings_change(change)
        return Response(AttributionSettingsSerializer(change.settings).data)
