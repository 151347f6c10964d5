"""Payout runs on the REST API, for admins (session; API keys don't open /api/v1/o/<slug>/):

* GET  payouts/                      the runs, newest first (paginated), with their totals;
* POST payouts/                      make a draft run {"exclude": [ambassador ids], "note": "…"};
* GET  payouts/<id>/                 a run's review: payments (details masked), totals per currency,
                                     who was excluded and, while open, the approved money left out and why;
* POST payouts/<id>/confirm/ | cancel/ | mark-paid/   move the run (a 400 says why it can't);
* GET  payouts/<id>/export/?file=paypal|wise|generic|payroll[&currency=EUR]   a payout file (CSV).

Payout details appear in full only in the exported files; every answer here shows them masked."""

from django.db.models import Count, Sum
from django.http import HttpResponse
from django_scopes import scopes_disabled
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response

from ambassadors.models import Ambassador
from common.api_fields import StrictCharField, StrictUUIDField
from common.query import read_query
from common.service_errors import conflict_errors
from tenancy.models import Role
from tenancy.roles import MinimumRole

from ..models import PayoutItem, PayoutRun, PayoutStatus
from ..services import payout_files, payouts

MONEY = {"max_digits": 14, "decimal_places": 2}
TOTALS_HELP = 'Currency → total, e.g. {"EUR": "120.00"} (exact decimals as strings).'


class PayoutAmbassadorSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="display_name")
    email = serializers.EmailField()
    kind = serializers.CharField()


class PayoutItemSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="item.public_id")
    ambassador = PayoutAmbassadorSerializer(source="item.ambassador")
    paid_by = serializers.ChoiceField(source="channel", choices=payouts.CHANNEL_CHOICES,
                                      help_text="How it is paid: payroll (internal ambassadors), paypal or bank.")
    details = serializers.CharField(source="masked", help_text="The payout details, masked (empty for payroll).")
    currency = serializers.CharField(source="item.currency")
    amount = serializers.DecimalField(source="item.amount", **MONEY)
    entries = serializers.IntegerField(source="item.entry_count", help_text="Earnings netted into this payment.")


class LeftOutSerializer(serializers.Serializer):
    ambassador = PayoutAmbassadorSerializer()
    currency = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    entries = serializers.IntegerField(source="entry_count")
    reason = serializers.ChoiceField(choices=payouts.REASON_CHOICES)
    reason_text = serializers.CharField()


class PayoutRunSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True)
    payments = serializers.SerializerMethodField()
    totals = serializers.SerializerMethodField(help_text=TOTALS_HELP)

    class Meta:
        model = PayoutRun
        fields = ["id", "status", "created_at", "created_by", "confirmed_at", "paid_at", "note", "payments", "totals"]
        read_only_fields = fields

    def get_payments(self, run) -> int:
        return run.item_count

    def get_totals(self, run) -> dict[str, str]:
        return self.context.get("totals", {}).get(run.pk, {})


class PayoutRunDetailSerializer(serializers.Serializer):
    """A run's review (`rewards.services.payouts.review`)."""

    id = serializers.UUIDField(source="run.public_id")
    status = serializers.ChoiceField(source="run.status", choices=PayoutStatus.choices)
    created_at = serializers.DateTimeField(source="run.created_at")
    created_by = serializers.EmailField(source="run.created_by.email", allow_null=True, default=None)
    confirmed_at = serializers.DateTimeField(source="run.confirmed_at", allow_null=True)
    paid_at = serializers.DateTimeField(source="run.paid_at", allow_null=True)
    note = serializers.CharField(source="run.note")
    totals = serializers.SerializerMethodField(help_text=TOTALS_HELP)
    minimum_payout = serializers.DecimalField(source="minimum", max_digits=6, decimal_places=2)
    payments = PayoutItemSerializer(source="items", many=True)
    excluded = PayoutAmbassadorSerializer(many=True, help_text="Ambassadors an admin left out of this run.")
    left_out = LeftOutSerializer(many=True, help_text="While the run is open: approved money it does not pay, "
                                                      "and why (it waits for a later run).")

    def get_totals(self, review) -> dict[str, str]:
        return {currency: f"{total:.2f}" for currency, total in review.totals.items()}


class PayoutRunCreateSerializer(serializers.Serializer):
    exclude = serializers.ListField(child=StrictUUIDField(), required=False, default=list, max_length=10_000,
                                    help_text="Ambassadors (ids) to leave out of this run.")
    note = StrictCharField(required=False, default="", allow_blank=True, max_length=300)

    def validate_exclude(self, value):
        wanted = set(value)
        found = list(Ambassador.objects.filter(public_id__in=wanted))
        if len(found) != len(wanted):
            raise serializers.ValidationError("Some of these ambassadors are not in this organisation.")
        return found


class ExportQuerySerializer(serializers.Serializer):
    file = serializers.ChoiceField(choices=[*payout_files.FILES],
                                   help_text="paypal (PayPal Payouts bulk file), wise (Wise batch payments), "
                                             "generic (every payment) or payroll (internal ambassadors).")
    currency = serializers.RegexField(r"^[A-Za-z]{3}\Z", required=False,
                                      help_text="PayPal only: the file's one currency, ISO 4217 (needed when the run "
                                                "pays PayPal in several).")


class FileNegotiation(BaseContentNegotiation):
    """The file ignores Accept (it is a CSV whatever is asked); errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


ACTION_RESPONSES = {200: PayoutRunDetailSerializer, 409: OpenApiResponse(description="The run's status doesn't "
                                                                                      "allow it (the message says).")}


class PayoutRunViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Payout runs (admins)."""

    serializer_class = PayoutRunSerializer
    permission_classes = [MinimumRole(Role.ADMIN)]
    lookup_field = "public_id"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            with scopes_disabled():
                return PayoutRun.objects.none()
        return (PayoutRun.objects.filter(organization=self.request.organization).select_related("created_by")
                .annotate(item_count=Count("items")).order_by("-created_at", "-pk"))

    def list(self, request, *args, **kwargs):
        """The runs, newest first, each with its number of payments and totals per currency."""
        page = self.paginate_queryset(self.get_queryset())
        totals: dict[int, dict[str, str]] = {}
        for run_id, currency, total in (PayoutItem.objects.filter(run__in=[run.pk for run in page])
                                        .values_list("run_id", "currency").order_by("run_id", "currency")
                                        .annotate(total=Sum("amount"))):
            totals.setdefault(run_id, {})[currency] = f"{total:.2f}"
        serializer = self.get_serializer(page, many=True, context={**self.get_serializer_context(), "totals": totals})
        return self.get_paginated_response(serializer.data)

    def _detail(self, run, code=status.HTTP_200_OK) -> Response:
        return Response(PayoutRunDetailSerializer(payouts.review(run)).data, status=code)

    @extend_schema(responses={200: PayoutRunDetailSerializer})
    def retrieve(self, request, org_slug=None, public_id=None, **kwargs):
        """A run's review: its payments (details masked), totals, exclusions and what it leaves out."""
        return self._detail(self.get_object())

    @extend_schema(request=PayoutRunCreateSerializer, responses={
        201: PayoutRunDetailSerializer, 400: OpenApiResponse(description="A bad exclusion."),
        409: OpenApiResponse(description="Another run is open, or nothing is payable now.")})
    def create(self, request, org_slug=None, **kwargs):
        """Make a draft run of every approved money payment due now (one open run at a time)."""
        body = PayoutRunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with conflict_errors():
            run = payouts.create_run(request.organization.pk, request.user, exclude=body.validated_data["exclude"],
                                     note=body.validated_data["note"])
        return self._detail(run, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ACTION_RESPONSES)
    @action(detail=True, methods=["post"])
    def confirm(self, request, org_slug=None, public_id=None, **kwargs):
        """Draft → confirmed: its payout files can then be downloaded."""
        return self._act(payouts.confirm)

    @extend_schema(request=None, responses=ACTION_RESPONSES)
    @action(detail=True, methods=["post"])
    def cancel(self, request, org_slug=None, public_id=None, **kwargs):
        """Draft or confirmed → canceled: its earnings are approved again, for a later run."""
        return self._act(payouts.cancel)

    @extend_schema(request=None, responses=ACTION_RESPONSES)
    @action(detail=True, methods=["post"], url_path="mark-paid", url_name="mark-paid")
    def mark_paid(self, request, org_slug=None, public_id=None, **kwargs):
        """Confirmed → paid: exactly this run's earnings become paid; each ambassador is e-mailed."""
        return self._act(payouts.mark_paid)

    def _act(self, perform) -> Response:
        run = self.get_object()
        with conflict_errors():
            run = perform(run, self.request.user)
        return self._detail(run)

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={(200, "text/csv"): OpenApiTypes.STR,
                   400: OpenApiResponse(description="The file would be empty, or PayPal's needs a currency."),
                   409: OpenApiResponse(description="The run is not confirmed (or paid) yet.")})
    @action(detail=True, methods=["get"], content_negotiation_class=FileNegotiation)
    def export(self, request, org_slug=None, public_id=None, **kwargs):
        """A payout file of a confirmed or paid run: the only answer with payout details in full.
        The same file every time; each download is in the audit log."""
        run = self.get_object()
        query = read_query(ExportQuerySerializer, request)
        with conflict_errors():
            made = payout_files.export(run, query["file"], actor=request.user, currency=query.get("currency"))
        response = HttpResponse(made.content, content_type=made.content_type)
        response["Content-Disposition"] = f'attachment; filename="{made.filename}"'
        response["Cache-Control"] = "no-store"
        return response
