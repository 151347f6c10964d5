"""Provider connections on the REST API, under /api/v1/o/<org_slug>/integrations/ (admins):

    GET    integrations/connections/                     the organisation's connections (0 to 2)
    POST   integrations/connections/                     connect a provider: provider, signing_secret, settings
    GET    integrations/connections/<provider>/          one connection
    PATCH  integrations/connections/<provider>/          enabled, signing_secret (replaces it), settings (merged)
    DELETE integrations/connections/<provider>/          delete it and its event log (its leads and sales stay)
    GET    integrations/connections/<provider>/events/   its last 50 events, newest first

A connection is named by its provider (one per organisation and provider). The signing secret is
the admin's to enter and is never sent back, only `secret_last4`. Bodies are JSON objects checked
strictly (a number where text is expected, an unknown setting: a 400 naming the field)."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_fields import StrictBooleanField, StrictCharField
from common.service_errors import api_errors
from integrations.models import InboundOutcome, Provider
from tenancy.drf import SafeJSONParser
from tenancy.models import Role
from tenancy.roles import MinimumRole

from . import selectors, services

FIELD_ERRORS = OpenApiResponse(
    {"type": "object", "properties": {"detail": {"type": "string"}},
     "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    description="The bad field → messages, e.g. {\"signing_secret\": [\"…\"]} ({\"detail\": \"…\"} for a body "
                "that isn't JSON).")
NOT_FOUND = OpenApiResponse(
    {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
    description="This organisation has no connection to that provider.")
PROVIDER_PARAMETER = OpenApiParameter("provider", OpenApiTypes.STR, OpenApiParameter.PATH, enum=Provider.values)
SETTINGS_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "description": "HubSpot only (Stripe has none): deal_stage (the won stage's internal id, default closedwon), "
                   "click_property (default amb_cid), amount_property (default amount), currency_property "
                   "(default deal_currency_code): internal names of 1–100 letters, digits, _ or -; "
                   "default_amount: a decimal string such as \"1200.00\" or \"\" for none.",
    "properties": {name: {"type": "string", "maxLength": 100} for name in services.HUBSPOT_DEFAULTS},
}


@extend_schema_field(SETTINGS_SCHEMA)
class SettingsField(serializers.JSONField):
    """A JSON object of strings; the service checks the names and values."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return data


class ConnectionSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(choices=Provider.choices, read_only=True)
    enabled = serializers.BooleanField(read_only=True)
    receiving_url = serializers.SerializerMethodField(
        help_text="Paste this into the provider (Stripe: the endpoint URL; HubSpot: the app's target URL). Its "
                  "token is the credential: keep it private.")
    secret_last4 = serializers.SerializerMethodField(help_text="The last 4 characters of the signing secret.")
    settings = serializers.JSONField(read_only=True, help_text="HubSpot's settings, defaults filled in; {} for Stripe.")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_receiving_url(self, connection) -> str:
        return selectors.receiving_url(connection)

    def get_secret_last4(self, connection) -> str:
        return connection.signing_secret[-4:] if len(connection.signing_secret) > 8 else ""


class ConnectionCreateSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(choices=Provider.choices)
    signing_secret = StrictCharField(max_length=services.MAX_SECRET_LENGTH, write_only=True,
                                     help_text="Stripe: the endpoint's signing secret (whsec_…); HubSpot: the app's "
                                               "client secret.")
    settings = SettingsField(required=False, help_text=SETTINGS_SCHEMA["description"])


class ConnectionUpdateSerializer(serializers.Serializer):
    enabled = StrictBooleanField(required=False, help_text="false: the receiving URL answers 503 (the provider "
                                                           "retries) until it is true again.")
    signing_secret = StrictCharField(max_length=services.MAX_SECRET_LENGTH, required=False, write_only=True,
                                     help_text="A new signing secret, replacing the stored one.")
    settings = SettingsField(required=False, help_text=SETTINGS_SCHEMA["description"])


class InboundEventSerializer(serializers.Serializer):
    event_id = serializers.CharField(help_text="The provider's event id (Stripe evt_…, HubSpot eventId).")
    event_type = serializers.CharField()
    received_at = serializers.DateTimeField()
    outcome = serializers.ChoiceField(choices=InboundOutcome.choices)
    detail = serializers.CharField(help_text="What it made, or why nothing.")


def _body(serializer_class, request) -> dict:
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ConnectionAPIView(APIView):
    permission_classes = [MinimumRole(Role.ADMIN)]
    parser_classes = [SafeJSONParser]

    def connection(self, request, provider):
        connection = selectors.connection_of(request.organization, provider)
        if connection is None:
            raise Http404("No such connection.")
        return connection


class ConnectionsView(ConnectionAPIView):
    """The organisation's provider connections; POST connects a provider."""

    @extend_schema(operation_id="inbound_connection_list", responses={200: ConnectionSerializer(many=True)})
    def get(self, request, org_slug):
        return Response(ConnectionSerializer(selectors.connections_of(request.organization), many=True).data)

    @extend_schema(operation_id="inbound_connection_create", request=ConnectionCreateSerializer,
                   responses={201: ConnectionSerializer, 400: FIELD_ERRORS})
    def post(self, request, org_slug):
        values = _body(ConnectionCreateSerializer, request)
        with api_errors():
            connection = services.create_connection(request.organization, **values)
        return Response(ConnectionSerializer(connection).data, status=status.HTTP_201_CREATED)


class ConnectionView(ConnectionAPIView):
    """One provider connection (its secret is never sent back)."""

    @extend_schema(operation_id="inbound_connection_detail", parameters=[PROVIDER_PARAMETER],
                   responses={200: ConnectionSerializer, 404: NOT_FOUND})
    def get(self, request, org_slug, provider):
        return Response(ConnectionSerializer(self.connection(request, provider)).data)

    @extend_schema(operation_id="inbound_connection_update", parameters=[PROVIDER_PARAMETER],
                   request=ConnectionUpdateSerializer,
                   responses={200: ConnectionSerializer, 400: FIELD_ERRORS, 404: NOT_FOUND})
    def patch(self, request, org_slug, provider):
        connection = self.connection(request, provider)
        values = _body(ConnectionUpdateSerializer, request)
        with api_errors():
            connection = services.update_connection(connection, **values)
        return Response(ConnectionSerializer(connection).data)

    @extend_schema(operation_id="inbound_connection_delete", parameters=[PROVIDER_PARAMETER],
                   responses={204: None, 404: NOT_FOUND})
    def delete(self, request, org_slug, provider):
        services.delete_connection(self.connection(request, provider))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConnectionEventsView(ConnectionAPIView):
    """The connection's last 50 events, newest first, with what each made."""

    @extend_schema(operation_id="inbound_connection_events", parameters=[PROVIDER_PARAMETER],
                   responses={200: InboundEventSerializer(many=True), 404: NOT_FOUND})
    def get(self, request, org_slug, provider):
        connection = self.connection(request, provider)
        return Response(InboundEventSerializer(selectors.recent_events(connection), many=True).data)
