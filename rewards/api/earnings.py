"""The earnings ledger on the REST API (read only; entries move through the approvals pages and
rewards.services.ledger).

* GET /api/v1/o/<slug>/earnings/: the organisation's entries, for managers and admins (session;
  API keys don't open /api/v1/o/<slug>/ endpoints, and the machine endpoints under /api/v1/ are
  for reporting leads and sales, not for reading reports: tenancy.api_keys). Filters: status
  (repeatable), ambassador and campaign (public ids), event, unit, currency, earned_at_after /
  earned_at_before (ISO 8601 times, both ends included). Paginated (limit, offset).
* GET /api/v1/me/earnings/: the signed-in user's own entries in every organisation they are a
  member of, each with the organisation's slug (filter with `organization=<slug>`); no fraud
  case, note or customer data. One call serves an ambassador of several programmes.

A bad filter value is a 400 naming the parameter: {"status": ["Select a valid choice. …"]}."""

from datetime import UTC, datetime

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import generics, serializers

from tenancy.models import Role
from tenancy.roles import MinimumRole

from ..models import EarningEntry, EntryStatus, RewardEvent, RewardUnit
from ..selectors import earnings

MONEY = {"max_digits": 14, "decimal_places": 2}


class EarningRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


class EarningAmbassadorSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="display_name")


class EarningSerializer(serializers.ModelSerializer):
    """What the ambassador and the organisation both see of an entry."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    rule = EarningRefSerializer(read_only=True)
    campaign = EarningRefSerializer(read_only=True, allow_null=True)
    amount = serializers.DecimalField(**MONEY, read_only=True,
                                      help_text="Money in `currency`, or whole points; negative: a correction that "
                                                "takes back (after a refund or an attribution change).")
    currency = serializers.CharField(read_only=True, help_text="ISO 4217 for money; empty for points.")
    correction = serializers.SerializerMethodField(
        help_text="null for an entry earned by an event; refund, recompute or adjustment for a correction.")
    corrects = serializers.UUIDField(source="adjusts.public_id", read_only=True, allow_null=True,
                                     help_text="The entry this correction corrects.")
    approve_after = serializers.DateTimeField(read_only=True, help_text="The end of the holding period.")

    class Meta:
        model = EarningEntry
        fields = ["id", "rule", "campaign", "event", "unit", "currency", "amount", "status", "earned_at",
                  "approve_after", "correction", "corrects", "status_changed_at"]
        read_only_fields = fields

    def get_correction(self, entry) -> str | None:
        return earnings.correction_kind(entry.cause)


class OrganizationEarningSerializer(EarningSerializer):
    ambassador = EarningAmbassadorSerializer(read_only=True)
    click_id = serializers.CharField(read_only=True, help_text="The click, for click rewards (else empty).")
    sale = serializers.UUIDField(source="sale_public_id", read_only=True, allow_null=True,
                                 help_text="The sale's id (as on the sale API), for sale rewards.")
    customer = serializers.UUIDField(source="customer_public_id", read_only=True, allow_null=True,
                                     help_text="The customer's id, for lead and sale rewards.")
    held_in_case = serializers.UUIDField(source="fraud_case.public_id", read_only=True, allow_null=True,
                                         help_text="The fraud case holding the entry, if any.")
    note = serializers.CharField(read_only=True, help_text="E.g. why an admin canceled it.")

    class Meta(EarningSerializer.Meta):
        fields = [*EarningSerializer.Meta.fields[:1], "ambassador", *EarningSerializer.Meta.fields[1:], "click_id",
                  "sale", "customer", "held_in_case", "note", "created_at"]
        read_only_fields = fields


class MyEarningSerializer(EarningSerializer):
    organization = serializers.SlugField(source="organization.slug", read_only=True,
                                         help_text="The slug of the organisation the entry is in.")

    class Meta(EarningSerializer.Meta):
        fields = ["organization", *EarningSerializer.Meta.fields]
        read_only_fields = fields


def _in_utc(moment):
    """An aware time in UTC, clamped to the representable range: PostgreSQL can't parse an offset
    beyond ±15:59 (an ISO time may carry -18:16), and 9999-12-31T23:00-05:00 is past year 9999."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return (datetime.max if moment.year > 1 else datetime.min).replace(tzinfo=UTC)


class UtcDateTimeRangeFilter(filters.IsoDateTimeFromToRangeFilter):
    """A from/to range of ISO times, compared in UTC whatever offset they were written with."""

    def filter(self, qs, value):
        if value:
            value = slice(*(_in_utc(end) if end else end for end in (value.start, value.stop)))
        return super().filter(qs, value)


class EarningFilter(filters.FilterSet):
    # Declared, not generated from Meta.fields: generation would query the scoped manager at import.
    status = filters.MultipleChoiceFilter(choices=EntryStatus.choices)
    ambassador = filters.UUIDFilter(field_name="ambassador__public_id", help_text="An ambassador's id.")
    campaign = filters.UUIDFilter(field_name="campaign__public_id", help_text="A campaign's id.")
    event = filters.ChoiceFilter(choices=RewardEvent.choices)
    unit = filters.ChoiceFilter(choices=RewardUnit.choices)
    # The schema says what the form checks (drf-spectacular doesn't read max_length off a filter).
    currency = extend_schema_field({"type": "string", "maxLength": 3, "description": "ISO 4217, any case."})(
        filters.CharFilter(field_name="currency", lookup_expr="iexact", max_length=3))
    earned_at = UtcDateTimeRangeFilter(
        help_text="earned_at_after / earned_at_before: ISO 8601 times, both included.")

    class Meta:
        model = EarningEntry
        fields: list[str] = []


class MyEarningFilter(EarningFilter):
    organization = filters.CharFilter(field_name="organization__slug", help_text="An organisation's slug.")
    ambassador = None  # always the user's own

    class Meta(EarningFilter.Meta):
        fields: list[str] = []


class OrganizationEarningsView(generics.ListAPIView):
    """The organisation's earnings ledger, newest first (managers and admins)."""

    serializer_class = OrganizationEarningSerializer
    permission_classes = [MinimumRole(Role.MANAGER)]
    filterset_class = EarningFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            return EarningEntry.objects.with_scopes_disabled().none()
        return earnings.entries_for_api().select_related("fraud_case")


class MyEarningsView(generics.ListAPIView):
    """Your own earnings in every organisation you are a member of, newest first."""

    serializer_class = MyEarningSerializer
    filterset_class = MyEarningFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return EarningEntry.objects.with_scopes_disabled().none()
        return earnings.entries_of_user(self.request.user)
