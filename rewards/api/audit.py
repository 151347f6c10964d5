"""The audit log on the REST API, under /api/v1/o/<org_slug>/audit-log/ (owners and admins,
read-only: the log is append-only). Filters: action, object_type, object_id, since (included) and
until (excluded), ISO 8601 times; a bad one is a 400 naming it."""

from django_filters import rest_framework as filters
from django_scopes import scopes_disabled
from rest_framework import mixins, serializers, viewsets

from tenancy.models import Role
from tenancy.roles import MinimumRole

from ..models import AuditEntry

UUID_RE = "[0-9a-fA-F-]{36}"


class AuditEntrySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    actor = serializers.CharField(source="actor_label", read_only=True,
                                  help_text="The actor's e-mail at the time, or “system” (the beat, tasks).")
    before = serializers.JSONField(read_only=True, help_text="The values before (null for a creation).")
    after = serializers.JSONField(read_only=True, help_text="The values after (null for a deletion).")

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor", "action", "object_type", "object_id", "before", "after"]
        read_only_fields = fields


class AuditFilter(filters.FilterSet):
    # Declared, not generated from Meta.fields: generation queries the scoped manager at import.
    action = filters.CharFilter(help_text="e.g. reward_rule.update, entries.hold, fraud_case.release.")
    object_type = filters.CharFilter(help_text="e.g. reward_rule, earning_entry, fraud_case, payout_run.")
    object_id = filters.CharFilter(help_text="The object's id as the log names it (usually its public id).")
    since = filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte", help_text="From this time (included).")
    until = filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt", help_text="Up to this time (excluded).")

    class Meta:
        model = AuditEntry
        fields: list[str] = []


class AuditLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The organisation's audit log, newest first (owners and admins)."""

    serializer_class = AuditEntrySerializer
    permission_classes = [MinimumRole(Role.ADMIN)]
    filterset_class = AuditFilter
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    lookup_value_regex = UUID_RE

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            with scopes_disabled():
                return AuditEntry.objects.none()
        return AuditEntry.objects.order_by("-at", "-pk")
