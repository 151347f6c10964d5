"""Fraud cases on the REST API, under /api/v1/o/<org_slug>/fraud-cases/ (admins): the cases with
their reasons (filter: status), and the decision: POST …/<id>/release/ {"note": …} (entries back to
pending, or approved when due) or …/<id>/confirm/ {"note": …} (fraud: entries canceled; the note is
required). A closed case answers 409."""

from django_filters import rest_framework as filters
from django_scopes import scopes_disabled
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from common.api_fields import StrictCharField
from tenancy.models import Role
from tenancy.roles import MinimumRole

from ..models import CaseStatus, FraudCase, FraudReason, FraudSignal
from ..selectors import fraud as selectors
from ..services import RewardError, fraud

UUID_RE = "[0-9a-fA-F-]{36}"


class SignalSerializer(serializers.ModelSerializer):
    reason = serializers.ChoiceField(choices=FraudReason.choices, read_only=True)
    reason_text = serializers.CharField(source="get_reason_display", read_only=True)

    class Meta:
        model = FraudSignal
        fields = ["reason", "reason_text", "subject", "detail", "created_at"]
        read_only_fields = fields


class CaseAmbassadorSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="display_name")


class FraudCaseSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    ambassador = CaseAmbassadorSerializer(read_only=True)
    signals = SignalSerializer(many=True, read_only=True)
    held_entries = serializers.IntegerField(source="held_count", read_only=True, default=None,
                                            help_text="How many entries the case holds now.")
    closed_by = serializers.EmailField(source="closed_by.email", read_only=True, default=None, allow_null=True,
                                       help_text="Who closed it; null while open or when the system released it.")

    class Meta:
        model = FraudCase
        fields = ["id", "ambassador", "status", "opened_at", "last_signal_at", "closed_at", "closed_by", "close_note",
                  "held_entries", "signals"]
        read_only_fields = fields


class CaseDecisionSerializer(serializers.Serializer):
    note = StrictCharField(required=False, allow_blank=True, max_length=300,
                                 help_text="Kept with the case; required to confirm fraud (the cancel reason).")


@extend_schema_field({"type": "string", "maxLength": 300, "pattern": r"^[^\u0000]*[^\s\u0000][^\u0000]*$"})
class ConfirmationNote(StrictCharField):
    """Documented as required text with something besides spaces: fraud.confirm refuses a blank one."""


class FraudConfirmationSerializer(serializers.Serializer):
    """Confirming fraud: why (required, not blank)."""

    # The schema's side only: the view reads CaseDecisionSerializer, and fraud.confirm refuses a
    # missing or blank note with its own message.

    note = ConfirmationNote(max_length=300, help_text="Why this is fraud: kept as the canceled entries' reason.")


class CaseFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=CaseStatus.choices)

    class Meta:
        model = FraudCase
        fields: list[str] = []


DECISION_RESPONSES = {200: FraudCaseSerializer, 409: OpenApiResponse(description="The case is closed already.")}


class FraudCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The organisation's fraud cases, newest signal first (admins)."""

    serializer_class = FraudCaseSerializer
    permission_classes = [MinimumRole(Role.ADMIN)]
    filterset_class = CaseFilter
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    lookup_value_regex = UUID_RE

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            with scopes_disabled():
                return FraudCase.objects.none()
        return selectors.cases(status="")

    def _decide(self, request, decide):
        case = self.get_object()
        body = CaseDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            decide(case, request.user, body.validated_data.get("note", ""))
        except RewardError as error:
            if error.code == "closed":
                return Response({"detail": error.message, "code": error.code}, status=status.HTTP_409_CONFLICT)
            return Response({error.field or "non_field_errors": [error.message]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(FraudCaseSerializer(self.get_queryset().get(pk=case.pk)).data)

    @extend_schema(request=CaseDecisionSerializer, responses=DECISION_RESPONSES)
    @action(detail=True, methods=["post"])
    def release(self, request, public_id=None, **kwargs):  # kwargs: org_slug, format
        """Not fraud: the held entries go back to pending, or approved when their holding period is over."""
        return self._decide(request, fraud.release)

    @extend_schema(request=FraudConfirmationSerializer, responses=DECISION_RESPONSES)
    @action(detail=True, methods=["post"])
    def confirm(self, request, public_id=None, **kwargs):
        """Fraud: the held entries are canceled with the note as their reason (a note is required)."""
        return self._decide(request, fraud.confirm)
