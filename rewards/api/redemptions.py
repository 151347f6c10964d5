"""Reward points on the REST API, under /api/v1/o/<org_slug>/ (signed-in members):

* GET redemptions/: managers and admins see every redemption, an ambassador their own (filters:
  status, ambassador (public id), mine=true for one's own). POST redemptions/ {"item": <catalogue
  item id>}: the signed-in ambassador redeems it → 201 with the redemption (requested, or approved
  at once); refused → 400 naming the field, e.g. {"points": ["You have 120 points; this needs 500."]}.
* GET redemptions/<id>/; POST redemptions/<id>/approve/, fulfil/, decline/ {"note": …} (admins):
  the decision → 200 with the redemption, or 400 saying why not (e.g. already fulfilled).
* GET catalogue/: the items the signed-in ambassador may see, with their points balance, whether
  each can be redeemed now and, if not, why.

The rules are rewards.services.points'; another organisation's ids are 404 (or, in a body, "no
such item")."""

from django.urls import path
from django_filters import rest_framework as filters
from django_scopes import scopes_disabled
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from ambassadors.selectors import ambassador_of
from common.api_fields import StrictCharField, StrictUUIDField
from common.service_errors import api_errors, conflict_errors
from tenancy.models import Role
from tenancy.roles import MinimumRole, has_role

from ..models import CatalogueItem, Redemption, RedemptionStatus
from ..selectors.points import catalogue_for, points_balance
from ..services import points as points_service
from ..services.points import NOTE_MAX

UUID_RE = "[0-9a-fA-F-]{36}"
NO_PROFILE = "You have no ambassador profile in this organisation, so you have no reward points."


class RefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


class AmbassadorRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="display_name")


class RedemptionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    item = RefSerializer(read_only=True)
    ambassador = AmbassadorRefSerializer(read_only=True)
    points = serializers.IntegerField(read_only=True, help_text="Points spent (the item's cost when requested).")
    needs_approval = serializers.BooleanField(
        read_only=True, help_text="True when an admin had to approve it (a first redemption, or an ambassador who "
                                  "joined without an invitation).")
    note = serializers.CharField(read_only=True, help_text="The admin's note with the last decision.")

    class Meta:
        model = Redemption
        fields = ["id", "item", "ambassador", "points", "status", "needs_approval", "requested_at", "decided_at",
                  "note"]
        read_only_fields = fields


class RedemptionRequestSerializer(serializers.Serializer):
    item = StrictUUIDField(help_text="The catalogue item's id (GET catalogue/).")


class DecisionSerializer(serializers.Serializer):
    note = StrictCharField(required=False, allow_blank=True, max_length=NOTE_MAX,
                                 help_text="Optional; the ambassador sees it with the decision.")


class RedemptionFilter(filters.FilterSet):
    # Declared, not generated from Meta.fields: generation queries the scoped manager at import.
    status = filters.ChoiceFilter(choices=RedemptionStatus.choices)
    ambassador = filters.UUIDFilter(field_name="ambassador__public_id", help_text="An ambassador's public id.")
    mine = filters.BooleanFilter(method="filter_mine", help_text="true: only the signed-in user's own.")

    class Meta:
        model = Redemption
        fields: list[str] = []

    def filter_mine(self, queryset, name, value):
        if not value:
            return queryset
        me = ambassador_of(self.request.user)
        return queryset.filter(ambassador=me) if me is not None else queryset.none()


ERRORS = {400: OpenApiResponse(description="Refused, with the field at fault and why, e.g. "
                                           '{"points": ["You have 120 points; this needs 500."]}.'),
          403: OpenApiResponse(description="No ambassador profile here (to redeem), or not an admin (to decide)."),
          404: OpenApiResponse(description="No such redemption in this organisation.")}
DECIDED = {409: OpenApiResponse(description="Not possible in the redemption's status (decided already, or not "
                                             "approved yet to be fulfilled).")}


class RedemptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Redemptions of reward points: managers and admins see all of them, an ambassador their own.
    POST redeems a catalogue item for the signed-in ambassador; admins approve, mark fulfilled or
    decline (the points go back to the ambassador, the item back to stock)."""

    serializer_class = RedemptionSerializer
    filterset_class = RedemptionFilter
    lookup_field = "public_id"
    lookup_value_regex = UUID_RE

    def get_permissions(self):
        if self.action in ("approve", "fulfil", "decline"):
            return [MinimumRole(Role.ADMIN)()]
        return super().get_permissions()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            with scopes_disabled():
                return Redemption.objects.none()
        queryset = Redemption.objects.select_related("item", "ambassador").order_by("-requested_at", "-pk")
        if has_role(self.request, Role.MANAGER):
            return queryset
        me = ambassador_of(self.request.user)
        return queryset.filter(ambassador=me) if me is not None else queryset.none()

    @extend_schema(request=RedemptionRequestSerializer, responses={201: RedemptionSerializer, **ERRORS})
    def create(self, request, *args, **kwargs):
        body = RedemptionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        me = ambassador_of(request.user)
        if me is None:
            raise PermissionDenied(NO_PROFILE)
        item = CatalogueItem.objects.filter(public_id=body.validated_data["item"]).first()
        if item is None:
            raise serializers.ValidationError({"item": ["No such item in the catalogue."]})
        with api_errors():
            redemption = points_service.request_redemption(me, item, actor=request.user)
        return Response(RedemptionSerializer(redemption).data, status=status.HTTP_201_CREATED)

    def _decide(self, request, decide):
        redemption = self.get_object()
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with conflict_errors():
            redemption = decide(redemption, actor=request.user, note=body.validated_data.get("note", ""))
        return Response(RedemptionSerializer(redemption).data)

    @extend_schema(request=DecisionSerializer, responses={200: RedemptionSerializer, **ERRORS, **DECIDED})
    @action(detail=True, methods=["post"])
    def approve(self, request, org_slug=None, public_id=None):
        """Approve a requested redemption (admins)."""
        return self._decide(request, points_service.approve_redemption)

    @extend_schema(request=DecisionSerializer, responses={200: RedemptionSerializer, **ERRORS, **DECIDED})
    @action(detail=True, methods=["post"])
    def fulfil(self, request, org_slug=None, public_id=None):
        """Mark an approved redemption fulfilled: the reward was handed over (admins)."""
        return self._decide(request, points_service.fulfil_redemption)

    @extend_schema(request=DecisionSerializer, responses={200: RedemptionSerializer, **ERRORS, **DECIDED})
    @action(detail=True, methods=["post"])
    def decline(self, request, org_slug=None, public_id=None):
        """Decline a requested or approved redemption: the points go back to the ambassador's
        balance and the item back to stock (admins)."""
        return self._decide(request, points_service.decline_redemption)


class OfferSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="item.public_id")
    name = serializers.CharField(source="item.name")
    description = serializers.CharField(source="item.description")
    points_cost = serializers.IntegerField(source="item.points_cost")
    stock = serializers.IntegerField(source="item.stock", allow_null=True, help_text="null: unlimited.")
    per_ambassador_limit = serializers.IntegerField(source="item.per_ambassador_limit", allow_null=True,
                                                    help_text="null: no limit.")
    redeemed = serializers.IntegerField(help_text="The signed-in ambassador's redemptions of it (not declined).")
    available = serializers.BooleanField(help_text="Whether the signed-in ambassador can redeem it now.")
    refusal = serializers.CharField(help_text="Why not, when not available; empty otherwise.")


class CatalogueView(APIView):
    """The rewards catalogue as the signed-in ambassador sees it (their groups' active items,
    cheapest first), with their spendable reward points."""

    @extend_schema(operation_id="catalogue_retrieve", responses={200: inline_serializer("Catalogue", {
        "balance": serializers.IntegerField(help_text="Reward points the ambassador can spend now."),
        "items": OfferSerializer(many=True)}), 403: OpenApiResponse(description=NO_PROFILE)})
    def get(self, request, org_slug):
        me = ambassador_of(request.user)
        if me is None:
            raise PermissionDenied(NO_PROFILE)
        balance = points_balance(me)
        return Response({"balance": balance, "items": OfferSerializer(catalogue_for(me, balance=balance),
                                                                      many=True).data})


router = SimpleRouter(trailing_slash=True)
router.register("redemptions", RedemptionViewSet, basename="redemption")
urls = [*router.urls, path("catalogue/", CatalogueView.as_view(), name="api_catalogue")]
