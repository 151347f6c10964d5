"""GET/POST/DELETE /api/v1/o/<slug>/reports/digest/: the signed-in manager's own e-mail digest
subscriptions in this organisation (weekly and/or monthly)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy.models import Role
from tenancy.roles import MinimumRole

from .. import digest
from ..models import Frequency


class DigestSubscriptionSerializer(serializers.Serializer):
    frequency = serializers.ChoiceField(choices=Frequency.choices,
                                        help_text="weekly: Mondays 07:00; monthly: the 1st at 07:00 "
                                                  "(the organisation's time zone).")
    last_period_end = serializers.DateField(read_only=True, allow_null=True,
                                            help_text="The last day of the last period sent (or skipped).")
    last_sent_at = serializers.DateTimeField(read_only=True, allow_null=True)
    next_send_at = serializers.SerializerMethodField(help_text="When the next digest goes out.")

    def get_next_send_at(self, subscription) -> str:
        moment = digest.next_send_time(subscription.frequency, subscription.organization.tzinfo)
        return serializers.DateTimeField().to_representation(moment)


class DigestSubscriptionsView(APIView):
    """Your digest subscriptions here. POST `{"frequency": "weekly"}` subscribes (idempotent);
    DELETE `?frequency=weekly` unsubscribes (without `frequency`: from both)."""

    permission_classes = [MinimumRole(Role.MANAGER)]

    @extend_schema(operation_id="report_digest_list", responses=DigestSubscriptionSerializer(many=True))
    def get(self, request, org_slug):
        subscriptions = digest.subscriptions_of(request.organization, request.user)
        return Response(DigestSubscriptionSerializer(subscriptions, many=True).data)

    @extend_schema(operation_id="report_digest_subscribe", request=DigestSubscriptionSerializer,
                   responses={201: DigestSubscriptionSerializer,
                              200: OpenApiResponse(DigestSubscriptionSerializer, description="Already subscribed.")})
    def post(self, request, org_slug):
        serializer = DigestSubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        frequency = serializer.validated_data["frequency"]
        existed = any(s.frequency == frequency for s in digest.subscriptions_of(request.organization, request.user))
        subscription = digest.subscribe(request.organization, request.user, frequency)
        return Response(DigestSubscriptionSerializer(subscription).data,
                        status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    @extend_schema(operation_id="report_digest_unsubscribe",
                   parameters=[OpenApiParameter("frequency", OpenApiTypes.STR, enum=Frequency.values, required=False,
                                                description="Which digest to stop; all of yours here if left out "
                                                            "(an empty or unknown value is a 400).")],
                   responses={204: None})
    def delete(self, request, org_slug):
        # Left out: every one of yours, as documented. Given, it must name one: an empty or unknown
        # value is a 400, never "all" (it used to unsubscribe from both).
        frequency = request.query_params.get("frequency")
        if len(request.query_params.getlist("frequency")) > 1 or (frequency is not None
                                                                  and frequency not in Frequency.values):
            raise serializers.ValidationError(
                {"frequency": [f"Frequency must be one of {', '.join(Frequency.values)}."]})
        digest.unsubscribe(request.organization, request.user, frequency)
        return Response(status=status.HTTP_204_NO_CONTENT)
