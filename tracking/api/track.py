"""The server-side tracking API: POST /api/v1/track/lead and /api/v1/track/sale.

Machine endpoints authenticated by an organisation API key (tenancy.api_keys); the
organisation is the key's. Errors are 400 with field messages (the rules of
tracking.services.conversion_input, see serializers.py); bodies over 64 kB are 413."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http.request import RawPostDataException
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from common import ratelimits
from tenancy.api_keys import ApiKeyScopedView
from tenancy.drf import SafeJSONParser

from ..services.conversions import ConversionError, record_lead, record_sale
from ..tasks import queue_attribution
from .serializers import CustomerSerializer, LeadRequestSerializer, SaleRequestSerializer, SaleSerializer

MAX_BODY_BYTES = 64 * 1024


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"Request body too large: at most {MAX_BODY_BYTES // 1024} kB."
    default_code = "payload_too_large"


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
