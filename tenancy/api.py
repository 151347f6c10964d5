from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

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
