"""The campaigns API under /api/v1/o/<org_slug>/ (the tenant middleware has scoped the request
to the organisation and turned non-members away with a 404).

* campaigns/, campaigns/<id>/messages/, campaigns/<id>/costs/: managers read, admins write;
* my/campaigns/, my/campaigns/<id>/link/, my/links/, my/links/<code>/shares/: the ambassador's own;
* links/<code>/qr.png|svg: the link's owner and managers;
* domains/: admins."""

import uuid
from dataclasses import dataclass

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ambassadors.selectors import ambassador_of
from common.query import QueryBooleanField, QueryIntegerField, read_query
from common.service_errors import TAKEN, api_errors, conflict_errors
from tenancy.models import Role
from tenancy.roles import MinimumRole, has_role

from . import qr, selectors
from .codes import is_valid_code
from .models import Campaign, CampaignCost, CampaignMessage, CampaignStatus, Domain, TrackedLink
from .serializers import (
    CampaignCostSerializer,
    CampaignMessageSerializer,
    CampaignSerializer,
    DomainSerializer,
    LinkSerializer,
    MyCampaignSerializer,
    ShareRequestSerializer,
    ShareSerializer,
)
from .services import CampaignError, campaigns, content, costs, domains
from .services.links import (
    NotAllowed,
    check_ambassador,
    check_can_get_link,
    link_for_ambassador,
    share_as_ambassador,
    share_dialog_as_ambassador,
)
from .share import channel_urls, option_for, rendered_messages, share_options, short_url

UUID_RE = "[0-9a-fA-F-]{36}"
CODE_RE = "[0-9A-Za-z]{1,32}"
REFUSAL_STATUS = {"no_profile": 403, "ambassador_inactive": 403, "not_targeted": 403, "not_found": 404,
                  "closed": 409, "not_started": 409}


def uuid_or_none(value) -> uuid.UUID | None:
    """The URL's id as a UUID, None when it isn't one: the routes match 36 characters of hex and
    hyphens, which a UUIDField lookup would refuse with a ValidationError (a 500), not a 404."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def refusal(error: NotAllowed) -> Response:
    return Response({"detail": str(error), "code": error.reason}, status=REFUSAL_STATUS[error.reason])


class ReadManagerWriteAdmin:
    """Managers read, admins write."""

    def get_permissions(self):
        minimum = Role.MANAGER if self.request.method in ("GET", "HEAD", "OPTIONS") else Role.ADMIN
        return [MinimumRole(minimum)()]


# --- Campaigns, messages, costs (managers read, admins write) -------------------------------------

class CampaignFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=CampaignStatus.choices)

    class Meta:
        model = Campaign
        fields: list[str] = []


@extend_schema_view(
    destroy=extend_schema(description="Delete a campaign that has no links yet (a draft, say). A campaign with "
                                      "links has history: set its status to ended instead (409).",
                          responses={204: None, 409: OpenApiResponse(description="The campaign has links.")}),
)
class CampaignViewSet(ReadManagerWriteAdmin, viewsets.ModelViewSet):
    """The organisation's campaigns: managers read, admins write. `id` is the campaign's public id."""

    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    lookup_value_regex = UUID_RE

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            return Campaign.objects.none()
        return selectors.campaigns_with_stats().prefetch_related("images")

    def perform_create(self, serializer):
        with api_errors():
            campaign = campaigns.create_campaign(organization=self.request.organization, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=campaign.pk)

    def perform_update(self, serializer):
        with api_errors():
            campaign = campaigns.update_campaign(serializer.instance, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=campaign.pk)

    def destroy(self, request, *args, **kwargs):
        try:
            campaigns.delete_campaign(self.get_object())
        except CampaignError as error:
            # The API names the status by its value (“ended”), the pages by its label.
            return Response({"detail": "This campaign has links, and so clicks and shares: set its status to "
                                       "“ended” instead of deleting it.", "code": error.code}, status=409)
        return Response(status=status.HTTP_204_NO_CONTENT)


campaign_id_parameter = OpenApiParameter("campaign_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                                         description="The campaign's id.")


class CampaignChildViewSet(ReadManagerWriteAdmin, viewsets.ModelViewSet):
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    lookup_value_regex = UUID_RE
    model = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not getattr(self, "swagger_fake_view", False):
            self.get_campaign()  # an unknown or foreign campaign is a 404 before the body is even read

    def get_campaign(self) -> Campaign:
        if not hasattr(self, "_campaign"):
            self._campaign = get_object_or_404(Campaign, public_id=uuid_or_none(self.kwargs["campaign_id"]))
        return self._campaign

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.model.objects.filter(campaign=self.get_campaign())


@extend_schema_view(**{name: extend_schema(parameters=[campaign_id_parameter])
                       for name in ("list", "create", "retrieve", "update", "partial_update", "destroy")})
class CampaignMessageViewSet(CampaignChildViewSet):
    """Suggested posts per network, checked against the network's length limit with the link
    counted (X counts every link as 23 characters). Put {link} where the link goes, or it is appended."""

    serializer_class = CampaignMessageSerializer
    model = CampaignMessage

    def perform_create(self, serializer):
        with api_errors():
            serializer.instance = content.add_message(self.get_campaign(), **serializer.validated_data)

    def perform_update(self, serializer):
        with api_errors():
            content.update_message(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        content.delete_message(instance)


@extend_schema_view(**{name: extend_schema(parameters=[campaign_id_parameter])
                       for name in ("list", "create", "retrieve", "update", "partial_update", "destroy")})
class CampaignCostViewSet(CampaignChildViewSet):
    """The campaign's spend ledger; amounts are decimal strings in the organisation's currency.
    The list's `total` is the exact sum of every entry (not only the page)."""

    serializer_class = CampaignCostSerializer
    model = CampaignCost

    def perform_create(self, serializer):
        with api_errors():
            serializer.instance = costs.add_cost(self.get_campaign(), **serializer.validated_data)

    def perform_update(self, serializer):
        with api_errors():
            costs.update_cost(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        costs.delete_cost(instance)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        total = f"{selectors.cost_total(self.get_campaign()):.2f}"
        if isinstance(response.data, dict):
            response.data["total"] = total
        return response


# --- Domains (admins) --------------------------------------------------------------------------------

class DomainViewSet(viewsets.ModelViewSet):
    """Custom short-link hosts. Platform staff mark a host verified once it points at the platform;
    a host can belong to one organisation only."""

    serializer_class = DomainSerializer
    permission_classes = [MinimumRole(Role.ADMIN)]
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    lookup_value_regex = UUID_RE

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Domain.objects.none()
        return Domain.objects.order_by("host")

    def perform_create(self, serializer):
        with conflict_errors(codes=(TAKEN,)):  # a host another domain has (a concurrent twin): 409
            serializer.instance = domains.add_domain(self.request.organization, serializer.validated_data["host"])

    def perform_update(self, serializer):
        with conflict_errors(codes=(TAKEN,)):
            domains.change_domain(serializer.instance, serializer.validated_data.get("host"))

    def perform_destroy(self, instance):
        domains.delete_domain(instance)


# --- The ambassador's own campaigns and links -----------------------------------------------------------

@dataclass
class LinkKit:
    link: TrackedLink
    campaign: Campaign
    code: str
    short_url: str
    channel_urls: dict
    share_urls: dict
    messages: list
    qr_png_url: str
    qr_svg_url: str


def link_kit(link: TrackedLink, campaign: Campaign, org_slug: str, messages=None) -> LinkKit:
    messages = list(campaign.messages.all()) if messages is None else messages
    return LinkKit(
        link=link, campaign=campaign, code=link.code, short_url=short_url(link), channel_urls=channel_urls(link),
        share_urls={o.channel: o.intent_url for o in share_options(link, campaign, messages)},
        messages=rendered_messages(link, campaign, messages),
        qr_png_url=reverse("link_qr", kwargs={"org_slug": org_slug, "code": link.code, "fmt": "png"}),
        qr_svg_url=reverse("link_qr", kwargs={"org_slug": org_slug, "code": link.code, "fmt": "svg"}),
    )


class AmbassadorMixin:
    permission_classes = [IsAuthenticated]

    def me(self):
        """The requester's ambassador profile; NotAllowed unless it exists and is active."""
        if not hasattr(self, "_me"):
            self._me = ambassador_of(self.request.user)
        check_ambassador(self._me)
        return self._me

    def handle_exception(self, exc):
        if isinstance(exc, NotAllowed):
            return refusal(exc)
        return super().handle_exception(exc)


not_allowed_responses = {
    403: OpenApiResponse(description="No active ambassador profile here, or the campaign targets other groups."),
    404: OpenApiResponse(description="No such campaign (or a draft)."),
    409: OpenApiResponse(description="The campaign is paused or ended (or, for shares, has not started)."),
}


class MyCampaignViewSet(AmbassadorMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """The active campaigns the ambassador is targeted by (campaigns without target groups are for
    everyone), each with the ambassador's link once it exists."""

    serializer_class = MyCampaignSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    lookup_value_regex = UUID_RE
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Campaign.objects.none()
        return selectors.campaigns_for_ambassador(self.me()).prefetch_related("images")

    def _decorate(self, campaigns):
        campaigns = list(campaigns)
        links = selectors.links_of(self.me(), [c.pk for c in campaigns])
        slug = self.request.organization.slug
        for campaign in campaigns:
            messages = list(campaign.messages.all())
            link = links.get(campaign.pk)
            campaign.kit = link_kit(link, campaign, slug, messages) if link else None
            campaign.kit_messages = campaign.kit.messages if link else [
                {"channel": m.channel, "subject": m.subject, "text": m.text} for m in messages]
        return campaigns

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        if page is not None:
            return self.get_paginated_response(self.get_serializer(self._decorate(page), many=True).data)
        return Response(self.get_serializer(self._decorate(self.get_queryset()), many=True).data)

    def retrieve(self, request, *args, **kwargs):
        campaign = self._decorate([self.get_object()])[0]
        return Response(self.get_serializer(campaign).data)

    @extend_schema(request=None, responses={200: LinkSerializer, 201: LinkSerializer, **not_allowed_responses})
    @action(detail=True, methods=["post"])
    def link(self, request, org_slug=None, public_id=None, **kwargs):  # kwargs: format (link.json)
        """Get or create the ambassador's own link for the campaign: 201 when this call created it,
        200 when it already existed (safe to repeat)."""
        ambassador = self.me()
        campaign = Campaign.objects.filter(public_id=uuid_or_none(public_id)).prefetch_related("messages").first()
        link, created = link_for_ambassador(ambassador=ambassador, campaign=campaign)
        data = LinkSerializer(link_kit(link, campaign, org_slug)).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class MyLinkViewSet(AmbassadorMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The ambassador's own links (also those of paused and ended campaigns)."""

    serializer_class = LinkSerializer
    lookup_field = "code"
    lookup_url_kwarg = "code"
    lookup_value_regex = CODE_RE
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TrackedLink.objects.none()
        ambassador = ambassador_of(self.request.user)
        if ambassador is None:
            check_can_get_link(None, None)
        return (TrackedLink.objects.filter(ambassador=ambassador).select_related("campaign", "ambassador")
                .prefetch_related("campaign__messages").order_by("-created_at"))

    def _kit(self, link):
        return link_kit(link, link.campaign, self.request.organization.slug, list(link.campaign.messages.all()))

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer([self._kit(link) for link in page], many=True).data)

    def get_object(self):
        if not is_valid_code(self.kwargs["code"]):
            raise Http404
        return get_object_or_404(self.get_queryset(), code=self.kwargs["code"])

    def retrieve(self, request, *args, **kwargs):
        return Response(self.get_serializer(self._kit(self.get_object())).data)

    @extend_schema(request=ShareRequestSerializer,
                   responses={201: ShareSerializer, 200: ShareSerializer, 400: OpenApiResponse(
                       description="Not a network one can share on."), **not_allowed_responses})
    @action(detail=True, methods=["post"])
    def shares(self, request, org_slug=None, code=None, **kwargs):  # kwargs: format (shares.json)
        """Record that the ambassador shares this link on a network (it counts for points and for
        the time the programme costs) and get the network's share dialog address, with the
        ambassador's post variant. With a `dialog_id`, one share per dialog: sending it again is
        not counted twice (200, `repeated`); without one, pressing the same button again within a
        minute is not counted twice."""
        link = self.get_object()
        body = ShareRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        channel = body.validated_data["channel"]
        option = option_for(link, link.campaign, channel, list(link.campaign.messages.all()))
        if body.validated_data.get("dialog_id") is not None:
            message_id = body.validated_data.get("message", option.message.public_id if option.message else None)
            with api_errors():
                event, created = share_dialog_as_ambassador(
                    ambassador=link.ambassador, link=link, channel=channel, dialog_id=body.validated_data["dialog_id"],
                    message_id=message_id, edited=body.validated_data["edited"])
        else:
            event, created = share_as_ambassador(ambassador=link.ambassador, link=link, channel=channel,
                                                 message=option.message)
        data = ShareSerializer({"channel": channel, "shared_at": event.shared_at, "repeated": not created,
                                "share_url": option.intent_url}).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- QR codes ------------------------------------------------------------------------------------------

class FirstRendererNegotiation(BaseContentNegotiation):
    """The image itself ignores Accept; errors are always JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class QRQuerySerializer(serializers.Serializer):
    scale = QueryIntegerField(min_value=qr.MIN_SCALE, max_value=qr.MAX_SCALE, default=qr.DEFAULT_SCALE,
                              help_text=f"Pixels per module, {qr.MIN_SCALE}–{qr.MAX_SCALE} "
                                        f"(default {qr.DEFAULT_SCALE}).")
    download = QueryBooleanField(default=False, help_text="Send as an attachment.")


class LinkQRView(APIView):
    """A link's QR code (it encodes the plain short URL). For the link's ambassador and for managers."""

    permission_classes = [IsAuthenticated]
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=list(qr.FORMATS), description="png or svg"),
            QRQuerySerializer,
        ],
        responses={(200, "image/png"): OpenApiTypes.BINARY, (200, "image/svg+xml"): OpenApiTypes.STR,
                   400: OpenApiResponse(description="Bad scale."), 404: OpenApiResponse(description="No such link.")},
    )
    def get(self, request, org_slug, code, fmt):
        link = (TrackedLink.objects.select_related("ambassador").filter(code=code).first()
                if is_valid_code(code) else None)
        if link is None or not (link.ambassador.user_id == request.user.pk or has_role(request, Role.MANAGER)):
            raise Http404
        query = read_query(QRQuerySerializer, request)
        response = HttpResponse(qr.qr_code(short_url(link), fmt, query["scale"]), content_type=qr.FORMATS[fmt])
        disposition = "attachment" if query["download"] else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="link-{link.code}.{fmt}"'
        # The image only changes if the link's address does: let the browser keep it, privately.
        response["Cache-Control"] = "private, max-age=86400"
        return response
