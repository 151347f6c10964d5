"""API shapes of campaigns, their messages and costs, links and domains.
Money is a decimal string ("1234.50"), never a float. The rules are the services'
(campaigns.services), whose refusals become 400s through common.service_errors.api_errors."""

from decimal import Decimal

from django.core.validators import URLValidator
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ambassadors.models import AmbassadorGroup
from common.api_fields import (
    StrictBooleanField,
    StrictCharField,
    StrictDecimalField,
    StrictModelSerializer,
    StrictRelatedField,
    StrictSlugField,
    StrictUUIDField,
)
from common.service_errors import TAKEN, api_errors, conflict_errors

from .channels import MESSAGE_LIMITS, SHARE_CHANNELS, message_length
from .models import (
    Campaign,
    CampaignCost,
    CampaignImage,
    CampaignMessage,
    CampaignStatus,
    CostCategory,
    Domain,
    validate_destination,
)
from .services import campaigns, content, costs, domains
from .share import sample_short_url

MAX_PK = 2**63 - 1
_url_syntax = URLValidator(schemes=["http", "https"], message="Enter a valid address, e.g. https://www.example.com/.")


def check_destination(value: str) -> None:
    """Our rules first (they explain what is wrong), then the URL syntax."""
    validate_destination(value)
    _url_syntax(value)


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}],
                      "description": "A group of this organisation, by id or by name (names are shown)."})
class GroupRefField(StrictRelatedField):
    """An ambassador group of the current organisation by id or by (case-insensitive) name.
    A group of another organisation is simply not found: the error is the same as for a
    group that doesn't exist."""

    default_error_messages = {
        "does_not_exist": "There is no group “{value}” in this organisation.",
        "incorrect_type": "Give a group's id (a number) or its name.",
    }

    def get_queryset(self):
        return AmbassadorGroup.objects.all()

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type")
        groups = self.get_queryset()
        if isinstance(data, str):
            name = data.strip()
            group = groups.filter(name__iexact=name).first() if name else None
            if group is not None:
                return group
            if not name.isdigit():
                self.fail("does_not_exist", value=name)
            data = int(name)
        group = groups.filter(pk=data).first() if 0 < data <= MAX_PK else None
        if group is None:
            self.fail("does_not_exist", value=data)
        return group

    def to_representation(self, value):
        return value.name


class CampaignImageSerializer(serializers.ModelSerializer):
    """A campaign image (read only: images are uploaded on the campaign's page, checked by content)."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    download_url = serializers.SerializerMethodField(help_text="The image as an attachment (signed-in session).")
    thumbnail_url = serializers.SerializerMethodField(help_text="A WebP thumbnail at most 480 px wide.")

    class Meta:
        model = CampaignImage
        fields = ["id", "alt_text", "format", "width", "height", "size_bytes", "download_url", "thumbnail_url",
                  "created_at"]
        read_only_fields = fields

    def _url(self, name: str, image) -> str:
        request = self.context["request"]
        path = reverse(name, kwargs={"org_slug": request.organization.slug, "image_id": image.public_id})
        return request.build_absolute_uri(path)

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, image) -> str:
        return self._url("campaign_image_download", image)

    @extend_schema_field(OpenApiTypes.URI)
    def get_thumbnail_url(self, image) -> str:
        return self._url("campaign_image_thumbnail", image)


class CampaignSerializer(StrictModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    status = serializers.ChoiceField(choices=CampaignStatus.choices, required=False,
                                     help_text="draft (hidden from ambassadors), active, paused or ended (links lead "
                                               "to the fallback URL when paused or ended).")
    slug = StrictSlugField(max_length=60, required=False, allow_blank=True,
                                 help_text="Made from the name when left out.")
    destination_url = StrictCharField(max_length=2000, validators=[check_destination])
    fallback_url = StrictCharField(max_length=2000, required=False, allow_blank=True, validators=[check_destination])
    target_groups = GroupRefField(many=True, required=False,
                                  help_text="Group names or ids; empty means every active ambassador.")
    minutes_per_share = StrictDecimalField(max_digits=6, decimal_places=2, min_value=Decimal("0"),
                                           required=False)
    is_live = serializers.SerializerMethodField()
    link_count = serializers.IntegerField(read_only=True, default=None)
    share_count = serializers.IntegerField(read_only=True, default=None)
    cost_total = serializers.DecimalField(source="spend", max_digits=20, decimal_places=2, read_only=True,
                                          default=None, help_text="Sum of the cost ledger.")
    featured = StrictBooleanField(required=False, help_text="Shown first to ambassadors.")
    images = CampaignImageSerializer(many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", "name", "slug", "description", "status", "destination_url", "fallback_url",
                  "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
                  "starts_at", "ends_at", "featured", "target_groups", "minutes_per_share", "is_live",
                  "link_count", "share_count", "cost_total", "images", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_live(self, campaign) -> bool:
        return campaign.is_live()

    def validate_slug(self, slug):
        with api_errors(in_field_validator=True):
            campaigns.check_slug(slug, campaign=self.instance)
        return slug

    def validate(self, attrs):
        def current(name):
            if name in attrs:
                return attrs[name]
            return getattr(self.instance, name, None)

        starts_at, ends_at = current("starts_at"), current("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            raise serializers.ValidationError({"ends_at": ["The end must come after the start."]})
        return attrs


class CampaignMessageSerializer(StrictModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    channel = serializers.ChoiceField(choices=[(str(c), c.label) for c in MESSAGE_LIMITS])
    length = serializers.SerializerMethodField(help_text="Characters the network counts, the link included.")
    limit = serializers.SerializerMethodField(help_text="The network's limit.")

    class Meta:
        model = CampaignMessage
        fields = ["id", "channel", "subject", "text", "length", "limit", "created_at"]
        read_only_fields = ["created_at"]

    @extend_schema_field(OpenApiTypes.INT)
    def get_length(self, message) -> int:
        return message_length(message.text, message.channel, sample_short_url(message.channel))

    @extend_schema_field(OpenApiTypes.INT)
    def get_limit(self, message) -> int:
        return MESSAGE_LIMITS[message.channel]

    def validate(self, attrs):
        channel = attrs.get("channel", getattr(self.instance, "channel", None))
        text = attrs.get("text", getattr(self.instance, "text", ""))
        subject = attrs.get("subject", getattr(self.instance, "subject", ""))
        with api_errors():
            content.check_message(channel=channel, subject=subject, text=text)
        return attrs


class CampaignCostSerializer(StrictModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    category = serializers.ChoiceField(choices=CostCategory.choices, default=CostCategory.OTHER)
    amount = StrictDecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"),
        error_messages={"min_value": costs.AMOUNT_NOT_POSITIVE},
        help_text="In the organisation's currency, as a decimal string (\"1250.00\").",
    )

    class Meta:
        model = CampaignCost
        fields = ["id", "date", "category", "amount", "note", "created_at"]
        read_only_fields = ["created_at"]


class DomainSerializer(StrictModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    host = StrictCharField(max_length=253, help_text="e.g. links.example.com")
    verified = serializers.BooleanField(read_only=True,
                                        help_text="Set by platform staff once the host points at the platform.")
    cname_target = serializers.SerializerMethodField(help_text="Point a CNAME record of the host at this name.")

    class Meta:
        model = Domain
        fields = ["id", "host", "verified", "cname_target", "created_at"]
        read_only_fields = ["created_at"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_cname_target(self, domain) -> str:
        return domains.platform_host()

    def validate_host(self, value):
        with conflict_errors(codes=(TAKEN,), in_field_validator=True):  # a host another domain has: 409
            return domains.clean_domain_host(value, instance=self.instance)


# --- What ambassadors see -------------------------------------------------------------------------

class RenderedMessageSerializer(serializers.Serializer):
    channel = serializers.CharField()
    subject = serializers.CharField()
    text = serializers.CharField(help_text="The suggested post with this link's channel URL in it.")


def _channel_map(help_text):
    return serializers.DictField(child=serializers.CharField(), help_text=help_text)


class LinkSerializer(serializers.Serializer):
    """An ambassador's tracked link with everything needed to share it. Reads a LinkKit."""

    code = serializers.CharField()
    campaign = serializers.UUIDField(source="campaign.public_id")
    campaign_name = serializers.CharField(source="campaign.name")
    short_url = serializers.CharField(help_text="The plain short URL (direct shares, QR codes).")
    channel_urls = _channel_map("Per network, the short URL that marks the channel (/l/<code>/li …).")
    share_urls = _channel_map("Per network, the address of its share dialog (LinkedIn, X, Facebook, "
                              "mailto:, WhatsApp). POST to …/my/links/<code>/shares/ to record a share.")
    messages = RenderedMessageSerializer(many=True)
    qr_png_url = serializers.CharField()
    qr_svg_url = serializers.CharField()
    created_at = serializers.DateTimeField(source="link.created_at")


class MyCampaignSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    is_live = serializers.SerializerMethodField()
    messages = RenderedMessageSerializer(many=True, source="kit_messages",
                                         help_text="Suggested posts (with your link once you have one).")
    link = LinkSerializer(source="kit", allow_null=True, help_text="Your link, once you have asked for it.")
    images = CampaignImageSerializer(many=True, read_only=True, help_text="Images to post with the campaign.")

    class Meta:
        model = Campaign
        fields = ["id", "name", "description", "starts_at", "ends_at", "featured", "is_live", "messages", "images",
                  "link"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_live(self, campaign) -> bool:
        return campaign.is_live()


class ShareRequestSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=[(str(c), c.label) for c in SHARE_CHANNELS])
    dialog_id = StrictUUIDField(required=False, help_text=(
        "The id of the share dialog your client opened: sending it again (a retry) records nothing new. "
        "Without it, the same network within a minute counts once."))
    message = StrictUUIDField(required=False, allow_null=True, help_text=(
        "With dialog_id: the post variant the dialog was given (its id); defaults to the ambassador's variant."))
    edited = StrictBooleanField(required=False, default=False,
                                help_text="With dialog_id: the ambassador changed the suggested text.")


class ShareSerializer(serializers.Serializer):
    channel = serializers.CharField()
    shared_at = serializers.DateTimeField()
    share_url = serializers.CharField(help_text="Open this to share (the network's share dialog).")
    repeated = serializers.BooleanField(help_text="True when the same share was recorded moments ago and "
                                                  "was not counted again.")
