"""GET/PATCH /api/v1/o/<slug>/attribution-settings/: managers read, admins change."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy.models import Role
from tenancy.roles import MinimumRole

from ..services.attribution_settings import SettingsError, change_settings, settings_for
from ..tasks import queue_settings_change
from .serializers import AttributionSettingsSerializer


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
