from django_filters import rest_framework as filters
from django_scopes import scopes_disabled
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from common.api_fields import StrictModelSerializer
from common.service_errors import TAKEN, conflict_errors
from tenancy.models import Role
from tenancy.roles import MinimumRole

from .models import Ambassador, AmbassadorGroup, Kind, SocialProfile, Status
from .services import groups, programme


class SocialProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = SocialProfile
        fields = ["network", "handle", "url", "followers"]


class AmbassadorSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    groups = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    social_profiles = SocialProfileSerializer(many=True, read_only=True)

    class Meta:
        model = Ambassador
        fields = ["id", "email", "display_name", "title", "kind", "status", "hourly_rate", "groups",
                  "social_profiles", "created_at", "joined_at"]
        read_only_fields = fields


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)


class GroupSerializer(StrictModelSerializer):
    class Meta:
        model = AmbassadorGroup
        fields = ["id", "name", "description"]


class AmbassadorFilter(filters.FilterSet):
    # Declared, not generated from Meta.fields: generation queries the scoped manager at import.
    status = filters.ChoiceFilter(choices=Status.choices)
    kind = filters.ChoiceFilter(choices=Kind.choices)
    group = filters.CharFilter(field_name="groups__name", lookup_expr="iexact")

    class Meta:
        model = Ambassador
        fields: list[str] = []


class AmbassadorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The organisation's ambassadors (managers and up)."""

    serializer_class = AmbassadorSerializer
    permission_classes = [MinimumRole(Role.MANAGER)]
    filterset_class = AmbassadorFilter
    lookup_field = "public_id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            with scopes_disabled():
                return Ambassador.objects.none()
        return Ambassador.objects.prefetch_related("groups", "social_profiles").order_by("display_name")

    @extend_schema(request=StatusSerializer, responses={
        200: AmbassadorSerializer,
        409: OpenApiResponse(description="The ambassador's status can't become this one now (the message says).")})
    @action(detail=True, methods=["post"], permission_classes=[MinimumRole(Role.ADMIN)])
    def status(self, request, org_slug=None, public_id=None, **kwargs):  # kwargs: format (status.json)
        """Approve, pause, reactivate or remove an ambassador (admins)."""
        ambassador = self.get_object()
        body = StatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with conflict_errors(fields=("status",)):
            programme.set_status(ambassador, body.validated_data["status"])
        return Response(AmbassadorSerializer(ambassador).data)


class GroupViewSet(viewsets.ModelViewSet):
    """Ambassador groups: managers read, admins write."""

    serializer_class = GroupSerializer

    def get_permissions(self):
        minimum = Role.MANAGER if self.request.method in ("GET", "HEAD", "OPTIONS") else Role.ADMIN
        return [MinimumRole(minimum)()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            with scopes_disabled():
                return AmbassadorGroup.objects.none()
        return AmbassadorGroup.objects.order_by("name")

    def perform_create(self, serializer):
        with conflict_errors(codes=(TAKEN,)):  # a name another group has: 409
            serializer.instance = groups.create_group(organization=self.request.organization,
                                                      **serializer.validated_data)

    def perform_update(self, serializer):
        with conflict_errors(codes=(TAKEN,)):
            groups.update_group(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        groups.delete_group(instance)
