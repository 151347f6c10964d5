"""GET/PATCH /api/v1/o/<slug>/attribution-settings/ and /tracking-settings/: managers read, admins change."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy.models import Role
from tenancy.roles import MinimumRole

from ..services.attribution_settings import SettingsError, change_settings, settings_for
from ..services.tracking_settings import change_tracking, tracking_settings_for
from ..tasks import queue_settings_change
from .serializers import AttributionSettingsSerializer, TrackingSettingsSerializer


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


class TrackingSettingsView(APIView):
    """How visitors are tracked on the organisation's own site. PATCH `mode` (full, consent,
    cookieless), `cookie_days` (1–395) or `visitor_cookie`; `snippet_url` is the tag's address."""

    def get_permissions(self):
        minimum = Role.MANAGER if self.request.method in ("GET", "HEAD", "OPTIONS") else Role.ADMIN
        return [MinimumRole(minimum)()]

    @extend_schema(responses=TrackingSettingsSerializer)
    def get(self, request, org_slug):
        settings = tracking_settings_for(request.organization.pk)
        return Response(TrackingSettingsSerializer(settings, context={"request": request}).data)

    @extend_schema(request=TrackingSettingsSerializer, responses=TrackingSettingsSerializer)
    def patch(self, request, org_slug):
        serializer = TrackingSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            settings = change_tracking(request.organization.pk, **serializer.validated_data)
        except SettingsError as error:
            raise serializers.ValidationError({error.field: [error.message]}) from error
        return Response(TrackingSettingsSerializer(settings, context={"request": request}).data)
