"""Reward rules on the REST API, under /api/v1/o/<org_slug>/reward-rules/: managers read, admins
write (POST, PUT, PATCH; DELETE of a rule that never earned anything — one with earnings answers
409: set "active": false instead). A rule keeps rewards.services.rules' rules; what it refuses is a
400 naming every field at fault, e.g. {"cap_period": ["Choose the cap's period …"]}. Money is a
decimal string in the organisation's currency; points whole numbers."""

import uuid
from decimal import Decimal

from django_scopes import scopes_disabled
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from campaigns.models import Campaign
from campaigns.serializers import GroupRefField
from common.api_fields import StrictCharField, StrictDecimalField, StrictIntegerField, StrictModelSerializer
from common.service_errors import api_errors
from tenancy.models import Role
from tenancy.roles import MinimumRole

from ..models import (
    AmountKind,
    CapPeriod,
    Recurrence,
    RewardEvent,
    RewardRule,
    RewardUnit,
    Split,
)
from ..services import RewardError, rules

UUID_RE = "[0-9a-fA-F-]{36}"
KINDS = [("", "Internal and external"), ("internal", "Internal"), ("external", "External")]


@extend_schema_field({"type": "string", "format": "uuid", "nullable": True,
                      "description": "A campaign of this organisation (its id); null: every campaign."})
class CampaignRefField(serializers.RelatedField):
    """A campaign of the current organisation by public id; another organisation's is not found."""

    default_error_messages = {"does_not_exist": "There is no campaign with id “{value}” in this organisation.",
                              "invalid": "Give the campaign's id (a UUID)."}

    def get_queryset(self):
        return Campaign.objects.all()

    def to_internal_value(self, data):
        try:
            public_id = uuid.UUID(str(data))
        except ValueError:
            self.fail("invalid")
        campaign = self.get_queryset().filter(public_id=public_id).first()
        if campaign is None:
            self.fail("does_not_exist", value=data)
        return campaign

    def to_representation(self, value):
        return str(value.public_id)


class RewardRuleSerializer(StrictModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    name = StrictCharField(max_length=120, error_messages={"blank": rules.NAME_NEEDED,
                                                                 "required": rules.NAME_NEEDED})
    campaign = CampaignRefField(required=False, allow_null=True)
    group = GroupRefField(required=False, allow_null=True,
                          help_text="A group of this organisation (name or id); null: every ambassador.")
    ambassador_kind = serializers.ChoiceField(choices=KINDS, required=False, allow_blank=True,
                                              help_text="internal or external only; empty: both.")
    event = serializers.ChoiceField(choices=RewardEvent.choices)
    unit = serializers.ChoiceField(choices=RewardUnit.choices)
    amount_kind = serializers.ChoiceField(choices=AmountKind.choices, required=False,
                                          help_text="flat (amount) or percent (of the sale: money sale rules only).")
    amount = StrictDecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True,
                                help_text="Flat amount: money in the organisation's currency, or whole points.")
    percent = StrictDecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True,
                                 help_text="Percentage of the sale, 0.01 to 100.")
    split = serializers.ChoiceField(choices=Split.choices, required=False)
    recurrence = serializers.ChoiceField(choices=Recurrence.choices, required=False)
    recurrence_months = StrictIntegerField(required=False, allow_null=True,
                                           help_text="With recurrence months: 1 to 120.")
    cap_amount = StrictDecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True,
                                    help_text="At most this much per ambassador per cap_period.")
    cap_period = serializers.ChoiceField(choices=[("", "No cap"), *CapPeriod.choices], required=False,
                                         allow_blank=True)

    class Meta:
        model = RewardRule
        fields = ["id", "name", "campaign", "group", "ambassador_kind", "event", "unit", "amount_kind", "amount",
                  "percent", "split", "recurrence", "recurrence_months", "cap_amount", "cap_period", "starts_at",
                  "ends_at", "active", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        # The services check what the model's constraints say, with messages: no UniqueTogether etc. here.
        validators: list = []

    def validate(self, attrs):
        values = dict(rules.DEFAULTS)
        if self.instance is not None:
            values.update({name: getattr(self.instance, name) for name in rules.FIELDS})
        values.update(attrs)
        found = rules.problems(self.context["request"].organization.pk, values)
        if found:
            errors: dict[str, list[str]] = {}
            for problem in found:
                errors.setdefault(problem.field or "non_field_errors", []).append(problem.message)
            raise serializers.ValidationError(errors)
        return attrs

    def to_representation(self, rule):
        data = super().to_representation(rule)
        if rule.unit == RewardUnit.POINTS:  # whole points: "100", not "100.00"
            for name in ("amount", "cap_amount"):
                if data.get(name) is not None:
                    data[name] = str(Decimal(data[name]).quantize(Decimal(1)))
        return data


@extend_schema_view(
    destroy=extend_schema(description="Delete a rule that never earned anything. A rule with earnings answers 409: "
                                      "deactivate it (PATCH {\"active\": false}) instead.",
                          responses={204: None, 409: OpenApiResponse(OpenApiTypes.OBJECT,
                                                                     description="The rule has earnings.")}),
)
class RewardRuleViewSet(viewsets.ModelViewSet):
    """The organisation's reward rules: managers read, admins write. `id` is the rule's public id."""

    serializer_class = RewardRuleSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    lookup_value_regex = UUID_RE
    filterset_fields: list[str] = []

    def get_permissions(self):
        minimum = Role.MANAGER if self.request.method in ("GET", "HEAD", "OPTIONS") else Role.ADMIN
        return [MinimumRole(minimum)()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            with scopes_disabled():
                return RewardRule.objects.none()
        return RewardRule.objects.select_related("campaign", "group").order_by("event", "name", "pk")

    def perform_create(self, serializer):
        with api_errors():
            serializer.instance = rules.create_rule(organization=self.request.organization, actor=self.request.user,
                                                    **serializer.validated_data)

    def perform_update(self, serializer):
        with api_errors():
            serializer.instance = rules.update_rule(serializer.instance, actor=self.request.user,
                                                    **serializer.validated_data)

    def destroy(self, request, *args, **kwargs):
        try:
            rules.delete_rule(self.get_object(), actor=request.user)
        except RewardError as error:
            return Response({"detail": error.message, "code": error.code}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)
