"""The server-side tracking API: POST /api/v1/track/lead and /api/v1/track/sale.

Machine endpoints authenticated by an organisation API key (tenancy.api_keys); the
organisation is the key's. Errors are 400 with field messages; bodies over 64 kB are 413."""

import json
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http.request import RawPostDataException
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from common import ratelimits
from tenancy.api_keys import ApiKeyScopedView
from tenancy.drf import SafeJSONParser

from .ids import is_valid_id
from .models import SaleStatus
from .services.conversions import ConversionError, record_lead, record_sale
from .tasks import queue_attribution

MAX_BODY_BYTES = 64 * 1024
MAX_METADATA_BYTES = 8 * 1024
CLOCK_SKEW = timedelta(minutes=5)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"Request body too large: at most {MAX_BODY_BYTES // 1024} kB."
    default_code = "payload_too_large"


# --- fields -------------------------------------------------------------------------------------

class AmountField(serializers.DecimalField):
    """A decimal string such as "49.90": more than 0, at most 2 decimal places. JSON numbers
    are refused, since a float can't hold most amounts exactly."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", 'A decimal string, e.g. "49.90": more than 0, at most 2 decimal places.')
        super().__init__(max_digits=14, decimal_places=2, min_value=Decimal("0.01"), **kwargs)
        self.error_messages.update({
            "invalid": 'A valid decimal amount is required, as a string such as "49.90".',
            "min_value": "The amount must be greater than 0.",
            "max_decimal_places": "The amount can have at most 2 decimal places.",
            "max_digits": "The amount is too large: at most 12 digits before the decimal point.",
            "max_whole_digits": "The amount is too large: at most 12 digits before the decimal point.",
        })
        # DRF adds its own MinValueValidator message; ours is the one above.
        for validator in self.validators:
            if getattr(validator, "limit_value", None) == Decimal("0.01"):
                validator.message = self.error_messages["min_value"]

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(
                'Send the amount as a decimal string, e.g. "49.90", not a JSON number (which loses precision).')
        return super().to_internal_value(data)


class OccurredAtField(serializers.DateTimeField):
    """ISO 8601 with a time zone offset; not in the future (5 minutes of clock skew allowed)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "ISO 8601 with a time zone, e.g. 2026-03-01T12:00:00Z; default now. "
                                       "Not in the future.")
        super().__init__(**kwargs)

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            raise serializers.ValidationError(
                "Include a time zone offset, e.g. 2026-03-01T12:00:00Z or 2026-03-01T13:00:00+01:00.")
        return super().enforce_timezone(value)

    def to_internal_value(self, value):
        result = super().to_internal_value(value)
        if result > timezone.now() + CLOCK_SKEW:
            raise serializers.ValidationError("occurred_at cannot be in the future.")
        return result


class TrackIdField(serializers.CharField):
    def __init__(self, kind, **kwargs):
        self.kind = kind
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        super().__init__(max_length=22, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value and not is_valid_id(value):
            raise serializers.ValidationError(f"Not a valid {self.kind}: 22 characters of A–Z, a–z, 0–9, - and _.")
        return value or None


def _validate_metadata(value):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise serializers.ValidationError("metadata must be a JSON object.")
    if len(json.dumps(value, separators=(",", ":"))) > MAX_METADATA_BYTES:
        raise serializers.ValidationError(f"metadata is too large: at most {MAX_METADATA_BYTES // 1024} kB "
                                          "serialised.")
    return value


# --- serializers ----------------------------------------------------------------------------------

class LeadRequestSerializer(serializers.Serializer):
    click_id = TrackIdField("click id", help_text="The amb_cid of the visitor's click (URL, cookie or form field).")
    visitor_id = TrackIdField("visitor id")
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True, max_length=254,
                                   help_text="Stored normalised (trimmed, lower case) and hashed only.")
    customer_external_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=255,
                                                 help_text="The customer's id in your own system.")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    occurred_at = OccurredAtField()
    metadata = serializers.JSONField(required=False, allow_null=True,
                                     help_text="A JSON object, at most 8 kB serialised. Replaces the stored one.")

    def validate_metadata(self, value):
        return _validate_metadata(value)

    def validate(self, attrs):
        for name in ("email", "customer_external_id"):
            attrs[name] = attrs.get(name) or None
        if not any(attrs.get(name) for name in ("click_id", "visitor_id", "email", "customer_external_id")):
            raise serializers.ValidationError(
                "Send at least one of click_id, visitor_id, email or customer_external_id.")
        return attrs


class CustomerSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    external_id = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    visitor_id = serializers.CharField(allow_null=True)
    first_click_id = serializers.CharField(allow_null=True)
    first_lead_at = serializers.DateTimeField()
    last_lead_at = serializers.DateTimeField()
    metadata = serializers.JSONField()
    created_at = serializers.DateTimeField()


class SaleRequestSerializer(serializers.Serializer):
    customer_external_id = serializers.CharField(max_length=255, help_text="The customer's id in your own system.")
    amount = AmountField()
    currency = serializers.CharField(max_length=3, help_text="Must be the organisation's currency.")
    invoice_id = serializers.CharField(max_length=255, help_text="The idempotency key: the same invoice_id twice "
                                                                 "returns the stored sale.")
    occurred_at = OccurredAtField()
    status = serializers.ChoiceField(choices=SaleStatus.choices, default=SaleStatus.PAID,
                                     help_text="refunded marks an existing sale (same invoice_id) refunded.")

    def validate_currency(self, value):
        expected = self.context["organization"].currency
        if value.strip().upper() != expected:
            raise serializers.ValidationError(f"Currency must be {expected}, this organisation's currency.")
        return expected


class SaleSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    invoice_id = serializers.CharField()
    customer = serializers.UUIDField(source="customer.public_id", allow_null=True, default=None,
                                     help_text="The customer's id; null until its lead arrives.")
    customer_external_id = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    refunded_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


# --- views ----------------------------------------------------------------------------------------

class TrackView(ApiKeyScopedView):
    parser_classes = [SafeJSONParser]
    ratelimit_group = ""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authenticated and scoped first: no hint to strangers
        # Per API key and endpoint (RATELIMIT_TRACK_API): 429, {"detail": …} and Retry-After.
        wait = ratelimits.hit(self.ratelimit_group, request.auth.prefix, settings.RATELIMIT_TRACK_API)
        if wait is not None:
            raise exceptions.Throttled(wait=wait, detail=f"Too many requests with this API key: at most "
                                                         f"{settings.RATELIMIT_TRACK_API} on this endpoint.")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > MAX_BODY_BYTES:
            raise PayloadTooLarge()
        try:
            body = request._request.body  # also catches a body longer than its Content-Length said
        except RawPostDataException:
            return
        except RequestDataTooBig:  # above DATA_UPLOAD_MAX_MEMORY_SIZE, with no Content-Length
            raise PayloadTooLarge() from None
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge()

    def validated(self, serializer_class, request):
        serializer = serializer_class(data=request.data, context={"organization": request.auth.organization})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @staticmethod
    def refused(error: ConversionError):
        raise serializers.ValidationError({error.field: [error.message]})


ERRORS = {400: OpenApiResponse(description="Invalid input: field messages."),
          401: OpenApiResponse(description="Missing, unknown or revoked API key."),
          413: OpenApiResponse(description="Body over 64 kB."),
          429: OpenApiResponse(description="Too many requests with this API key (RATELIMIT_TRACK_API); "
                                           "Retry-After says when to try again.")}


class TrackLeadView(TrackView):
    """Record a lead. The first lead of a customer creates it (201); a later lead for the same
    customer (same customer_external_id, else same e-mail) updates it (200), never duplicates."""
    ratelimit_group = "track-lead"

    @extend_schema(operation_id="track_lead", request=LeadRequestSerializer,
                   responses={201: CustomerSerializer, 200: CustomerSerializer, **ERRORS})
    def post(self, request):
        data = self.validated(LeadRequestSerializer, request)
        try:
            customer, created = record_lead(request.auth.organization, **data)
        except ConversionError as error:
            self.refused(error)
        queue_attribution(request.auth.organization.pk)
        return Response(CustomerSerializer(customer).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class TrackSaleView(TrackView):
    """Record a sale, once per invoice_id: 201 when stored, 200 with the stored sale when that
    invoice_id exists already. status=refunded marks the existing sale refunded."""
    ratelimit_group = "track-sale"

    @extend_schema(operation_id="track_sale", request=SaleRequestSerializer,
                   responses={201: SaleSerializer, 200: SaleSerializer, **ERRORS})
    def post(self, request):
        data = self.validated(SaleRequestSerializer, request)
        try:
            sale, created = record_sale(request.auth.organization, **data)
        except ConversionError as error:
            self.refused(error)
        queue_attribution(request.auth.organization.pk)
        return Response(SaleSerializer(sale).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
