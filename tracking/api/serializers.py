"""The serializers of tracking's API: the tracking endpoints' requests and answers, CSV imports,
attribution settings.

A lead's and a sale's request (LeadRequestSerializer, SaleRequestSerializer) declare their fields
for the schema; the rules are tracking.services.conversion_input's, which the CSV import uses
too, and their problems become the usual field errors here."""

from collections.abc import Mapping

from django.urls import NoReverseMatch, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import empty
from rest_framework.settings import api_settings

from common.api_fields import StrictBooleanField, StrictIntegerField

from ..models import (
    COOKIE_DAYS_MAX,
    COOKIE_DAYS_MIN,
    AttributionModel,
    ImportKind,
    LeadTrackingMode,
    RateStatus,
    SaleStatus,
    TrackingMode,
)
from ..services import conversion_input
from ..services.attribution_settings import MAX_DAYS, MIN_DAYS

# --- lead and sale requests -----------------------------------------------------------------------

class AmountField(serializers.DecimalField):
    """A decimal string such as "49.90": more than 0, at most 2 decimal places (conversion_input)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", 'A decimal string, e.g. "49.90": more than 0, at most 2 decimal places.')
        super().__init__(max_digits=conversion_input.AMOUNT_MAX_DIGITS,
                         decimal_places=conversion_input.AMOUNT_DECIMAL_PLACES,
                         min_value=conversion_input.AMOUNT_MIN, **kwargs)


class OccurredAtField(serializers.DateTimeField):
    """ISO 8601 with a time zone offset; not in the future (conversion_input)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "ISO 8601 with a time zone, e.g. 2026-03-01T12:00:00Z; default now. "
                                       "Not in the future.")
        super().__init__(**kwargs)


class TrackIdField(serializers.CharField):
    """A click or visitor id (tracking.ids), optional (conversion_input)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        super().__init__(max_length=22, **kwargs)


# No docstring on this base: drf-spectacular would take it as the description of every request
# serializer below (the schema stays as it was).
class ConversionInputSerializer(serializers.Serializer):
    # Validates through conversion_input (`check`); the declared fields say which values are read
    # and document them.

    def check(self, values: dict) -> dict:
        raise NotImplementedError

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # "Invalid data. Expected a dictionary, but got …"
        values = {}
        for field in self._writable_fields:
            value = field.get_value(data)
            if value is not empty:
                values[field.field_name] = value
        try:
            return self.check(values)
        except conversion_input.InvalidInput as invalid:
            raise serializers.ValidationError({
                api_settings.NON_FIELD_ERRORS_KEY if name == conversion_input.NON_FIELD else name:
                    [ErrorDetail(problem.message, code=problem.code) for problem in problems]
                for name, problems in invalid.errors.items()}) from None


class LeadRequestSerializer(ConversionInputSerializer):
    click_id = TrackIdField(help_text="The amb_cid of the visitor's click (URL, cookie or form field).")
    visitor_id = TrackIdField()
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True,
                                   max_length=conversion_input.EMAIL_MAX,
                                   help_text="Stored normalised (trimmed, lower case) and hashed only.")
    customer_external_id = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                                 max_length=conversion_input.EXTERNAL_ID_MAX,
                                                 help_text="The customer's id in your own system.")
    name = serializers.CharField(required=False, allow_blank=True, max_length=conversion_input.NAME_MAX, default="")
    occurred_at = OccurredAtField()
    metadata = serializers.JSONField(required=False, allow_null=True,
                                     help_text="A JSON object, at most 8 kB serialised. Replaces the stored one.")
    tracking_mode = serializers.ChoiceField(
        choices=LeadTrackingMode.choices, required=False, allow_null=True, allow_blank=True,
        help_text="How the click id reached your site: the amb_mode form field amb.js fills (full, consent, "
                  "cookieless); left out, null or blank: unknown. Kept from the customer's first lead.")

    def check(self, values):
        return conversion_input.lead_input(values)


class CustomerSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    external_id = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    visitor_id = serializers.CharField(allow_null=True)
    first_click_id = serializers.CharField(allow_null=True)
    first_lead_at = serializers.DateTimeField()
    last_lead_at = serializers.DateTimeField()
    metadata = serializers.JSONField()
    tracking_mode = serializers.CharField()
    created_at = serializers.DateTimeField()


class SaleRequestSerializer(ConversionInputSerializer):
    # Needs the organisation in its context: its currency.
    customer_external_id = serializers.CharField(max_length=conversion_input.EXTERNAL_ID_MAX,
                                                 help_text="The customer's id in your own system.")
    amount = AmountField()
    currency = serializers.CharField(
        max_length=3, help_text="ISO 4217 code of `amount` (any case). Another currency than the organisation's is "
                                "kept as the sale's original amount and converted at the rate of the sale's day "
                                "(exchange rates: the ECB's reference rates, overridden by the organisation's "
                                "uploaded ones); see rate_status in the answer.")
    invoice_id = serializers.CharField(max_length=conversion_input.INVOICE_ID_MAX,
                                       help_text="The idempotency key: the same invoice_id twice "
                                                 "returns the stored sale.")
    occurred_at = OccurredAtField()
    status = serializers.ChoiceField(choices=SaleStatus.choices, default=SaleStatus.PAID,
                                     help_text="refunded marks an existing sale (same invoice_id) refunded.")

    def check(self, values):
        return conversion_input.sale_input(values, self.context["organization"].currency)


class SaleSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    invoice_id = serializers.CharField()
    customer = serializers.UUIDField(source="customer.public_id", allow_null=True, default=None,
                                     help_text="The customer's id; null until its lead arrives.")
    customer_external_id = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2,
                                      help_text="In the organisation's currency: the converted amount (0.00 while "
                                                "awaiting a rate).")
    currency = serializers.CharField(help_text="The organisation's currency.")
    original_amount = serializers.DecimalField(source="posted_amount", max_digits=14, decimal_places=2,
                                               help_text="The amount as posted.")
    original_currency = serializers.CharField(source="posted_currency", help_text="The currency as posted.")
    rate = serializers.DecimalField(max_digits=20, decimal_places=10, allow_null=True,
                                    help_text="Units of original_currency for one unit of currency; null when the "
                                              "same currency or awaiting a rate.")
    rate_day = serializers.DateField(allow_null=True, help_text="The day of the rate used.")
    rate_status = serializers.ChoiceField(
        choices=RateStatus.choices,
        help_text="own: posted in the organisation's currency; exact: converted at its day's rate; estimated: at "
                  "the latest earlier day's rate (converted again when its day's rate arrives); awaiting: no rate "
                  "yet, counted in reports once one exists.")
    status = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    refunded_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


# --- CSV imports -------------------------------------------------------------------------------------

class KindField(serializers.ChoiceField):
    """The import's kind: leads or sales (ImportKindEnum in the schema, see ENUM_NAME_OVERRIDES)."""

    def __init__(self, **kwargs):
        super().__init__(choices=ImportKind.choices, **kwargs)


class ImportRowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="The file's line (the header is line 1); null for "
                                                               "the note on problems left out of a long list.")
    field = serializers.CharField(help_text='Our field (e.g. "amount"), or "row" for the whole line.')
    message = serializers.CharField()
    value = serializers.CharField(required=False, help_text="The value found in the file.")


class ImportSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    kind = KindField()
    status = serializers.CharField(help_text="queued, running, done or failed.")
    file_name = serializers.CharField()
    rows_total = serializers.IntegerField()
    rows_created = serializers.IntegerField()
    rows_updated = serializers.IntegerField(help_text="Leads whose customer changed; sales marked refunded.")
    rows_unchanged = serializers.IntegerField(help_text="Rows already stored as they are (a re-import).")
    rows_failed = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField(help_text="This import on the API.")

    def get_url(self, obj) -> str:
        request = self.context["request"]
        return request.build_absolute_uri(import_url(request, obj))


class ImportDetailSerializer(ImportSerializer):
    mapping = serializers.DictField(child=serializers.CharField(), help_text="Our field → the file's column header.")
    failure = serializers.CharField(help_text="Why the whole import failed, if it did.")
    errors = ImportRowErrorSerializer(many=True, help_text="Problems of the rows not imported (first 1000 failed "
                                                           "rows).")


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """An uploaded file: binary in the schema (drf-spectacular documents a plain FileField as a URI
    string, which is what it reads back, not what an upload sends)."""


class ImportCreateSerializer(serializers.Serializer):
    kind = KindField(error_messages={"invalid_choice": "Choose what the file holds: leads or sales."})
    file = UploadField(help_text="CSV with a header line; comma, semicolon or tab separated; UTF-8 (or "
                                 "Windows-1252); at most 5 MB and 50,000 rows.")
    mapping = serializers.CharField(
        required=False, help_text='A JSON object of our field → your column header, e.g. {"email": "E-mail", '
                                  '"occurred_at": "Created"}. Leads: customer_external_id, email, click_id, '
                                  "visitor_id, name, first_name, last_name, occurred_at (at least one of the first "
                                  "four). Sales: invoice_id, customer_external_id, amount (required), currency, "
                                  "occurred_at, status. Left out: guessed from the headers.")


def import_url(request, conversion_import) -> str:
    slug = getattr(getattr(request, "organization", None), "slug", None)
    if getattr(request, "auth", None) is not None and not request.user.is_authenticated:
        try:
            return reverse("api_key_conversion_import_detail", args=[conversion_import.public_id])
        except NoReverseMatch:
            pass  # machine endpoints not wired: fall back to the organisation's URL
    return reverse("api_conversion_import_detail", args=[slug or conversion_import.organization.slug,
                                                         conversion_import.public_id])


# --- attribution settings ------------------------------------------------------------------------------

class RecomputeSerializer(serializers.Serializer):
    window_days = serializers.IntegerField(source="pending_window_days")
    half_life_days = serializers.IntegerField(source="pending_half_life_days")
    done = serializers.IntegerField(source="recompute_done", help_text="Customers recomputed so far.")
    total = serializers.IntegerField(source="recompute_total")
    started_at = serializers.DateTimeField(source="recompute_started_at")


class AttributionSettingsSerializer(serializers.Serializer):
    reporting_model = serializers.ChoiceField(choices=AttributionModel.choices, required=False,
                                              help_text="The model reports show; switching is instant.")
    window_days = StrictIntegerField(min_value=MIN_DAYS, max_value=MAX_DAYS, required=False,
                                     help_text="The attribution window in use, in days.")
    half_life_days = StrictIntegerField(min_value=MIN_DAYS, max_value=MAX_DAYS, required=False,
                                        help_text="The time-decay half-life in use, in days.")
    recompute = serializers.SerializerMethodField(
        help_text="While new credits for a changed window or half-life are being computed: the values being "
                  "applied and the progress; null otherwise. Reports use the values in use until it finishes.")
    last_recomputed_at = serializers.DateTimeField(read_only=True, allow_null=True)

    @extend_schema_field(RecomputeSerializer(allow_null=True))
    def get_recompute(self, settings) -> dict | None:
        return RecomputeSerializer(settings).data if settings.recomputing else None


class TrackingSettingsSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=TrackingMode.choices, required=False,
        help_text="The snippet's mode: full (first-party cookie), consent (nothing stored until the visitor "
                  "consents), cookieless (the click id only travels in links and form fields).")
    cookie_days = StrictIntegerField(min_value=COOKIE_DAYS_MIN, max_value=COOKIE_DAYS_MAX, required=False,
                                     help_text="The lifetime of the snippet's cookie, in days.")
    visitor_cookie = StrictBooleanField(
        required=False, help_text="Whether short links set the visitor cookie amb_vid; without it a visitor is a "
                                  "daily-salted hash of address and user agent.")
    snippet_url = serializers.SerializerMethodField(help_text="The snippet's address for this organisation.")
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def get_snippet_url(self, settings) -> str:
        request = self.context.get("request")
        path = reverse("amb_js") + f"?org={settings.organization.slug}"
        return request.build_absolute_uri(path) if request is not None else path

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, Mapping) else []
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs
