from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .api_keys import ApiKeyScopedView
from .models import ApiKey
from .selectors import memberships_of


class MembershipSerializer(serializers.Serializer):
    organization = serializers.CharField(source="organization.name")
    slug = serializers.CharField(source="organization.slug")
    role = serializers.CharField()


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    memberships = MembershipSerializer(many=True)


class MeView(APIView):
    """Who am I, and in which organisations with which role."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer({"email": request.user.email, "memberships": memberships_of(request.user)}).data)


class ApiKeyInfoSerializer(serializers.Serializer):
    organization = serializers.CharField(help_text="The slug of the key's organisation.")
    name = serializers.CharField()
    prefix = serializers.CharField()
    active_keys = serializers.IntegerField(help_text="How many unrevoked keys the organisation has.")


class ApiKeyInfoView(ApiKeyScopedView):
    """Which organisation and key this API key is: check a key before wiring it up."""

    @extend_schema(responses=ApiKeyInfoSerializer, operation_id="api_key_info")
    def get(self, request):
        key = request.auth
        return Response(ApiKeyInfoSerializer({
            "organization": key.organization.slug,
            "name": key.name,
            "prefix": key.prefix,
            # A plain tenant query: it works (and sees only this organisation's keys)
            # because ApiKeyScopedView runs the handler in the key's tenant scope.
            "active_keys": ApiKey.objects.filter(revoked_at__isnull=True).count(),
        }).data)
