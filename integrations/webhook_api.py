"""Webhook endpoints on the REST API, under /api/v1/o/<org_slug>/webhooks/ (admins):

    GET    webhooks/                                      the organisation's endpoints (paged)
    POST   webhooks/                                      a new one; its `secret` is in this answer only
    GET    webhooks/<id>/                                 one endpoint (never its secret)
    PATCH  webhooks/<id>/                                 change url, description, events, enabled
    DELETE webhooks/<id>/                                 delete it, its deliveries and their log
    POST   webhooks/<id>/rotate-secret/                   a new secret, in this answer only; the old one
                                                          keeps signing for 24 hours
    POST   webhooks/<id>/test/                            send a test event now; the attempt as logged
    GET    webhooks/<id>/deliveries/                      the last 30 days' deliveries, newest first
                                                          (?status=, ?event_type=, paged), with attempts
    POST   webhooks/<id>/deliveries/<msg_id>/replay/      send one delivery again
    POST   webhooks/<id>/replay/                          send again every delivery between since and until

`id` is the endpoint's public id; a delivery is named by its endpoint and its message's id (the
`webhook-id` header the receiver saw). Another organisation's endpoint is a 404 like one that
doesn't exist. Bodies are JSON only, checked strictly (a number where text is expected is a 400);
a 400 names the field: {"url": ["…"]}."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_fields import StrictBooleanField, StrictCharField
from common.events import EVENT_TYPES
from common.query import QueryIntegerField, read_query
from common.service_errors import api_errors
from tenancy.drf import SafeJSONParser
from tenancy.models import Role
from tenancy.roles import MinimumRole

from .models import DeliveryStatus
from .selectors import LOG_DAYS, deliveries_of, delivery_of, endpoint_of, endpoints_of
from .services import endpoints as endpoint_service
from .services.delivery import TEST_EVENT_TYPE, replay, replay_range, send_test

DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET = 50, 200, 1_000_000
MAX_REPLAY_DAYS = LOG_DAYS
LOGGED_EVENT_TYPES = (*EVENT_TYPES, TEST_EVENT_TYPE)  # the log also has the test events

FIELD_ERRORS = OpenApiResponse(
    {"type": "object", "additionalProperties": {}},
    description="The bad field or parameter → messages, e.g. {\"url\": [\"…\"]}; a list's item nests its messages "
                "under its index ({\"events\": {\"0\": [\"…\"]}}); {\"detail\": \"…\"} for a body or address that "
                "can't be read.")
NOT_FOUND = OpenApiResponse(
    {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
    description="No such endpoint (or delivery) in this organisation.")


class EventTypesField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.ChoiceField(choices=EVENT_TYPES), allow_empty=False,
                         max_length=len(EVENT_TYPES) * 2, **kwargs)


# --- answers ---------------------------------------------------------------------------------------

class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    url = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), read_only=True,
                                   help_text="The event types sent here.")
    enabled = serializers.BooleanField(read_only=True)
    disabled_reason = serializers.CharField(read_only=True,
                                            help_text="Why it is disabled (410 Gone, too many failures, an admin); "
                                                      "empty while enabled.")
    consecutive_failures = serializers.IntegerField(read_only=True,
                                                    help_text="Failed attempts since the last success; at 20 the "
                                                              "endpoint is disabled.")
    previous_secret_expires_at = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="After a rotation: until when the previous secret also signs (both signatures are sent).")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True,
                                   help_text="The signing secret (whsec_…): only in this answer, never again.")


class RotatedSecretSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    secret = serializers.CharField(read_only=True, help_text="The new signing secret: only in this answer.")
    previous_secret_expires_at = serializers.DateTimeField(
        read_only=True, help_text="The previous secret keeps signing until then (24 hours).")


class AttemptSerializer(serializers.Serializer):
    attempted_at = serializers.DateTimeField()
    trigger = serializers.ChoiceField(choices=["schedule", "replay", "test"], help_text="What made this attempt.")
    duration_ms = serializers.IntegerField()
    request_headers = serializers.DictField(child=serializers.CharField(),
                                            help_text="As sent, without the signature.")
    request_body = serializers.CharField(help_text="Truncated.")
    response_status = serializers.IntegerField(allow_null=True, help_text="null: no answer (see error).")
    response_headers = serializers.DictField(child=serializers.CharField())
    response_body = serializers.CharField(help_text="Truncated.")
    error = serializers.CharField(help_text="Why there was no answer (timeout, refused, unsafe address); or empty.")


class TestAttemptSerializer(AttemptSerializer):
    succeeded = serializers.SerializerMethodField(help_text="The endpoint answered 2xx.")

    def get_succeeded(self, attempt) -> bool:
        return attempt.response_status is not None and 200 <= attempt.response_status < 300


class DeliverySerializer(serializers.Serializer):
    id = serializers.CharField(source="message.msg_id", help_text="The message's id: the webhook-id header.")
    event_type = serializers.ChoiceField(source="message.event_type", choices=LOGGED_EVENT_TYPES,
                                         help_text=f"{TEST_EVENT_TYPE}: a test event.")
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField(help_text="Attempts so far.")
    next_attempt_at = serializers.DateTimeField(allow_null=True, help_text="While pending: when it is tried next.")
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    payload = serializers.JSONField(source="message.payload", help_text="The envelope {type, timestamp, data}.")
    log = AttemptSerializer(many=True, help_text="Its attempts, newest first.")


def page_of(name: str, item: serializers.Serializer):
    return inline_serializer(name, {
        "count": serializers.IntegerField(help_text="Items in the whole list."),
        "limit": serializers.IntegerField(),
        "offset": serializers.IntegerField(),
        "results": item,
    })


# --- input -----------------------------------------------------------------------------------------

class EndpointCreateSerializer(serializers.Serializer):
    url = StrictCharField(max_length=endpoint_service.MAX_URL_LENGTH, trim_whitespace=False,
                          help_text="http(s) URL events are POSTed to; internal addresses are refused.")
    description = StrictCharField(max_length=endpoint_service.MAX_DESCRIPTION_LENGTH, required=False,
                                  allow_blank=True, default="")
    events = EventTypesField(help_text="At least one event type.")


class EndpointUpdateSerializer(serializers.Serializer):
    url = StrictCharField(max_length=endpoint_service.MAX_URL_LENGTH, required=False, trim_whitespace=False)
    description = StrictCharField(max_length=endpoint_service.MAX_DESCRIPTION_LENGTH, required=False,
                                  allow_blank=True)
    events = EventTypesField(required=False)
    enabled = StrictBooleanField(required=False, help_text="true re-enables a disabled endpoint (its failures are "
                                                           "forgotten); false stops deliveries.")


class ReplayRangeSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="From this time (included), ISO 8601.")
    until = serializers.DateTimeField(help_text="To this time (excluded), ISO 8601; at most "
                                                f"{MAX_REPLAY_DAYS} days after since.")

    def validate(self, attrs):
        if attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        if (attrs["until"] - attrs["since"]).days >= MAX_REPLAY_DAYS:
            raise serializers.ValidationError({"until": [f"At most {MAX_REPLAY_DAYS} days after since."]})
        return attrs


class PageParamsSerializer(serializers.Serializer):
    # ASCII digits only: DRF's IntegerField would take "1.0" and " 5" (common.query).
    limit = QueryIntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
    offset = QueryIntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


class DeliveryFiltersSerializer(PageParamsSerializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)
    event_type = serializers.ChoiceField(choices=LOGGED_EVENT_TYPES, required=False)


PAGE_PARAMETERS = [
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                     description=f"Items per page, 1–{MAX_LIMIT} (default {DEFAULT_LIMIT})."),
    OpenApiParameter("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
                     description=f"Items to skip, 0–{MAX_OFFSET} (default 0)."),
]


def _query(serializer_class, request) -> dict:
    return read_query(serializer_class, request)  # a parameter given twice is a 400 too


def _page(queryset, params, item_serializer, **kwargs) -> dict:
    offset, limit = params["offset"], params["limit"]
    return {"count": queryset.count(), "limit": limit, "offset": offset,
            "results": item_serializer(queryset[offset:offset + limit], many=True, **kwargs).data}


def _body(serializer_class, request, **kwargs) -> dict:
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class WebhookAPIView(APIView):
    permission_classes = [MinimumRole(Role.ADMIN)]
    parser_classes = [SafeJSONParser]

    def endpoint(self, request, endpoint_id):
        endpoint = endpoint_of(request.organization, endpoint_id)
        if endpoint is None:
            raise Http404("No such webhook endpoint.")
        return endpoint


class WebhookEndpointsView(WebhookAPIView):
    """The organisation's webhook endpoints, oldest first; POST adds one."""

    @extend_schema(operation_id="webhook_endpoint_list", parameters=PAGE_PARAMETERS,
                   responses={200: page_of("WebhookEndpointPage", WebhookEndpointSerializer(many=True)),
                              400: FIELD_ERRORS})
    def get(self, request, org_slug):
        params = _query(PageParamsSerializer, request)
        return Response(_page(endpoints_of(request.organization), params, WebhookEndpointSerializer))

    @extend_schema(operation_id="webhook_endpoint_create", request=EndpointCreateSerializer,
                   responses={201: OpenApiResponse(WebhookEndpointWithSecretSerializer,
                                                   description="Created; `secret` is shown in this answer only."),
                              400: FIELD_ERRORS})
    def post(self, request, org_slug):
        values = _body(EndpointCreateSerializer, request)
        with api_errors():
            endpoint, secret = endpoint_service.create_endpoint(request.organization, created_by=request.user,
                                                                **values)
        data = dict(WebhookEndpointSerializer(endpoint).data, secret=secret)
        response = Response(data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class WebhookEndpointView(WebhookAPIView):
    """One webhook endpoint (its secret is never shown again)."""

    @extend_schema(operation_id="webhook_endpoint_detail", responses={200: WebhookEndpointSerializer, 404: NOT_FOUND})
    def get(self, request, org_slug, endpoint_id):
        return Response(WebhookEndpointSerializer(self.endpoint(request, endpoint_id)).data)

    @extend_schema(operation_id="webhook_endpoint_update", request=EndpointUpdateSerializer,
                   responses={200: WebhookEndpointSerializer, 400: FIELD_ERRORS, 404: NOT_FOUND})
    def patch(self, request, org_slug, endpoint_id):
        endpoint = self.endpoint(request, endpoint_id)
        values = _body(EndpointUpdateSerializer, request)
        with api_errors():
            endpoint = endpoint_service.update_endpoint(endpoint, **values)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(operation_id="webhook_endpoint_delete", responses={204: None, 404: NOT_FOUND})
    def delete(self, request, org_slug, endpoint_id):
        endpoint_service.delete_endpoint(self.endpoint(request, endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RotateSecretView(WebhookAPIView):
    """A new signing secret, shown in this answer only; the previous one keeps signing for 24 hours."""

    @extend_schema(operation_id="webhook_endpoint_rotate_secret", request=None,
                   responses={200: RotatedSecretSerializer, 404: NOT_FOUND})
    def post(self, request, org_slug, endpoint_id):
        endpoint = self.endpoint(request, endpoint_id)
        secret = endpoint_service.rotate_secret(endpoint)
        response = Response({"id": str(endpoint.public_id), "secret": secret,
                             "previous_secret_expires_at": serializers.DateTimeField().to_representation(
                                 endpoint.previous_secret_expires_at)})
        response["Cache-Control"] = "no-store"
        return response


class SendTestView(WebhookAPIView):
    """Send a test event to the endpoint now (whatever its events); the attempt as logged."""

    @extend_schema(operation_id="webhook_endpoint_test", request=None,
                   responses={200: TestAttemptSerializer, 404: NOT_FOUND})
    def post(self, request, org_slug, endpoint_id):
        attempt = send_test(self.endpoint(request, endpoint_id))
        return Response(TestAttemptSerializer(attempt).data)


class DeliveriesView(WebhookAPIView):
    """The endpoint's deliveries of the last 30 days (LOG_DAYS), newest first, each with its attempts."""

    @extend_schema(operation_id="webhook_delivery_list",
                   parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=DeliveryStatus.values),
                               OpenApiParameter("event_type", OpenApiTypes.STR, enum=list(LOGGED_EVENT_TYPES)),
                               *PAGE_PARAMETERS],
                   responses={200: page_of("WebhookDeliveryPage", DeliverySerializer(many=True)), 400: FIELD_ERRORS,
                              404: NOT_FOUND})
    def get(self, request, org_slug, endpoint_id):
        endpoint = self.endpoint(request, endpoint_id)
        params = _query(DeliveryFiltersSerializer, request)
        deliveries = deliveries_of(endpoint, status=params.get("status"), event_type=params.get("event_type"))
        return Response(_page(deliveries, params, DeliverySerializer))


class ReplayDeliveryView(WebhookAPIView):
    """Send one delivery again (a new attempt, the same webhook-id)."""

    @extend_schema(operation_id="webhook_delivery_replay", request=None,
                   parameters=[OpenApiParameter("msg_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                                                description="The message's id (msg_…), as in the webhook-id "
                                                            "header and the log.")],
                   responses={202: OpenApiResponse(DeliverySerializer, description="Queued to be sent again."),
                              400: FIELD_ERRORS, 404: NOT_FOUND})
    def post(self, request, org_slug, endpoint_id, msg_id):
        delivery = delivery_of(self.endpoint(request, endpoint_id), msg_id)
        if delivery is None:
            raise Http404("No such delivery.")
        delivery = replay(delivery)
        fresh = deliveries_of(delivery.endpoint).filter(pk=delivery.pk).first() or delivery
        return Response(DeliverySerializer(fresh).data, status=status.HTTP_202_ACCEPTED)


class ReplayRangeView(WebhookAPIView):
    """Send again every delivery to this endpoint created between since and until."""

    @extend_schema(operation_id="webhook_endpoint_replay", request=ReplayRangeSerializer,
                   responses={202: OpenApiResponse(inline_serializer("WebhookReplayed", {
                       "replayed": serializers.IntegerField(help_text="Deliveries queued to be sent again.")}),
                       description="Queued."), 400: FIELD_ERRORS, 404: NOT_FOUND})
    def post(self, request, org_slug, endpoint_id):
        endpoint = self.endpoint(request, endpoint_id)
        values = _body(ReplayRangeSerializer, request)
        replayed = replay_range(endpoint, values["since"], values["until"])
        return Response({"replayed": replayed}, status=status.HTTP_202_ACCEPTED)
