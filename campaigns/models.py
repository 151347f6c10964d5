import re
import string
import uuid
from decimal import Decimal
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from ambassadors.models import Ambassador, AmbassadorGroup
from tenancy.scoping import TenantModel

from .channels import LINK_PLACEHOLDER, MESSAGE_LIMITS, Channel, message_length


def validate_destination(url: str) -> None:
    """Only absolute http(s) URLs with a host: no javascript:, data:, relative or hostless targets."""
    if not url or url != url.strip():
        raise ValidationError("Enter the full address, e.g. https://www.example.com/page.")
    if any(ch in url for ch in "\r\n\t\x00 "):
        raise ValidationError("An address can't contain spaces or control characters.")
    parts = urlsplit(url)
    if not parts.scheme:
        raise ValidationError("Enter the full address, starting with https:// (e.g. https://www.example.com/page); "
                              "relative addresses can't be destinations.")
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError(f"Only http:// and https:// addresses can be destinations, not “{parts.scheme or url}”.")
    if not parts.hostname or "." not in parts.hostname.strip(".") and parts.hostname != "localhost":
        raise ValidationError("The address needs a host name, e.g. https://www.example.com/.")
    if parts.username or parts.password:
        raise ValidationError("An address with a user name or password in it is not allowed.")


UTM_PLACEHOLDERS = ("channel", "campaign", "ambassador", "kind")


def validate_utm_template(value: str) -> None:
    """A UTM template may use {channel}, {campaign}, {ambassador} and {kind}, nothing else."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as error:
        raise ValidationError("Unbalanced braces: write placeholders as {channel}, {campaign}, {ambassador} "
                              "or {kind}.") from error
    unknown = sorted({name for name in names if name not in UTM_PLACEHOLDERS})
    if unknown:
        raise ValidationError(f"Unknown placeholder “{{{unknown[0]}}}”: use {{channel}}, {{campaign}}, "
                              f"{{ambassador}} or {{kind}}.")


HOST_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
TLD_RE = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


def normalize_host(value: str) -> str:
    host = (value or "").strip().lower().rstrip(".")
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return host


def validate_host(value: str) -> None:
    """A bare DNS host name with at least two labels (links.example.com): no scheme, port,
    path, IP address or wildcard."""
    host = normalize_host(value)
    if not host:
        raise ValidationError("Enter a host name, e.g. links.example.com.")
    if "://" in host or "/" in host or ":" in host or "@" in host:
        raise ValidationError("Enter just the host name, e.g. links.example.com, without https://, a port or a path.")
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(HOST_LABEL_RE.match(label) for label in labels) \
            or not TLD_RE.match(labels[-1]):
        raise ValidationError(f"“{value.strip()}” is not a valid host name; use something like links.example.com.")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"


class Campaign(TenantModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60)
    description = models.TextField(blank=True, max_length=5000)
    destination_url = models.URLField(max_length=2000, validators=[validate_destination])
    fallback_url = models.URLField(
        max_length=2000, blank=True, validators=[validate_destination],
        help_text="Where links go once the campaign is paused or ended (empty: a friendly page).",
    )
    utm_source = models.CharField(max_length=100, blank=True, default="{channel}", validators=[validate_utm_template],
                                  help_text="Placeholders: {channel}, {campaign}, {ambassador}, {kind}.")
    utm_medium = models.CharField(max_length=100, blank=True, default="ambassador", validators=[validate_utm_template])
    utm_campaign = models.CharField(max_length=100, blank=True, default="{campaign}",
                                    validators=[validate_utm_template])
    utm_content = models.CharField(max_length=100, blank=True, default="{ambassador}",
                                   validators=[validate_utm_template])
    utm_term = models.CharField(max_length=100, blank=True, validators=[validate_utm_template])
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    target_groups = models.ManyToManyField(AmbassadorGroup, blank=True, related_name="campaigns",
                                           help_text="Empty: every active ambassador.")
    featured = models.BooleanField(default=False, help_text="Shown first to ambassadors; reminders (if the "
                                   "organisation turned them on) go out for featured campaigns only.")
    # When ambassadors were told the campaign is live (published and started): set once, in the
    # transaction that writes the announcement to the outbox, so they are told once.
    announced_at = models.DateTimeField(null=True, blank=True, editable=False)
    minutes_per_share = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal("5.00"), validators=[MinValueValidator(Decimal("0"))],
        help_text="Estimated minutes an ambassador spends on one share (the cost of their time).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="campaign_slug_unique_per_org")]

    def __str__(self):
        return self.name

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must come after the start."})

    def save(self, *args, **kwargs):
        # Destinations are validated at save, whatever the caller (form, API, shell, admin).
        validate_destination(self.destination_url)
        if self.fallback_url:
            validate_destination(self.fallback_url)
        self.clean()
        super().save(*args, **kwargs)

    def is_live(self, at=None) -> bool:
        """Links lead to the destination: the campaign is active and inside its dates."""
        at = at or timezone.now()
        return (self.status == CampaignStatus.ACTIVE and (self.starts_at is None or self.starts_at <= at)
                and (self.ends_at is None or at < self.ends_at))


MAX_VARIANTS_PER_CHANNEL = 5


class CampaignMessage(TenantModel):
    """A suggested post for one network; the link goes where {link} is, or at the end. A campaign
    has 1–5 per network (variants): each ambassador is given one, so that not everyone posts the
    same words (see share.variant_for)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=10, choices=[(c.value, c.label) for c in MESSAGE_LIMITS])
    subject = models.CharField(max_length=200, blank=True, help_text="E-mail only.")
    text = models.TextField(max_length=70000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "channel", "pk"]

    def __str__(self):
        return f"{self.get_channel_display()} message for {self.campaign}"

    def validate_length(self, sample_link: str) -> None:
        limit = MESSAGE_LIMITS[self.channel]
        length = message_length(self.text, self.channel, sample_link)
        if length > limit:
            counted = "23 characters, as X counts every link" if self.channel == Channel.X else f"{len(sample_link)}"
            raise ValidationError({"text": f"{Channel(self.channel).label} allows {limit} characters; this post is "
                                           f"{length} with the link (counted as {counted})."})

    def render(self, link: str) -> str:
        if LINK_PLACEHOLDER in self.text:
            return self.text.replace(LINK_PLACEHOLDER, link)
        return f"{self.text} {link}"


class CostCategory(models.TextChoices):
    MEDIA = "media", "Media"
    PRODUCTION = "production", "Production"
    TOOLS = "tools", "Tools"
    OTHER = "other", "Other"


class CampaignCost(TenantModel):
    """The spend ledger: one row per expense, in the organisation's currency."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="costs")
    date = models.DateField()
    category = models.CharField(max_length=12, choices=CostCategory.choices, default=CostCategory.OTHER)
    amount = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-pk"]
        indexes = [models.Index(fields=["organization", "campaign", "date"])]

    def __str__(self):
        return f"{self.amount} {self.get_category_display()} on {self.date}"


class TrackedLink(TenantModel):
    """One per (ambassador, campaign), created on first need. The code is the public id."""

    code = models.CharField(max_length=16, unique=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="links")
    ambassador = models.ForeignKey(Ambassador, on_delete=models.CASCADE, related_name="links")
    # The n-th link made for the campaign: picks the ambassador's post variant (seed mod variants),
    # so consecutive ambassadors get different words and each keeps theirs.
    variant_seed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ambassador", "campaign"], name="one_link_per_ambassador_and_campaign"),
        ]
        indexes = [models.Index(fields=["organization", "campaign"])]

    def __str__(self):
        return self.code


class ShareEvent(TenantModel):
    """An ambassador used a share button: counts for points and for the cost of their time."""

    link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="shares")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="shares")
    ambassador = models.ForeignKey(Ambassador, on_delete=models.CASCADE, related_name="shares")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    shared_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The browser's id for one opened share dialog: a record sent twice (retry, double click) is one
    # share. Null for shares recorded by the server-side path (no JavaScript, e-mail buttons).
    dialog_id = models.UUIDField(null=True, blank=True, unique=True)
    message = models.ForeignKey(CampaignMessage, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="shares", help_text="The post variant the ambassador was given.")
    edited = models.BooleanField(default=False, help_text="The ambassador changed the suggested text.")

    class Meta:
        ordering = ["-shared_at"]
        indexes = [
            models.Index(fields=["organization", "campaign", "shared_at"]),
            # The reports' sums over every campaign (ROI list, time cost, leaderboard shares):
            # the organisation's period without reading the rows (an index-only scan on PostgreSQL).
            models.Index(fields=["organization", "shared_at"], include=["campaign", "ambassador"],
                         name="share_org_time_idx"),
        ]

    def __str__(self):
        return f"{self.ambassador} shared {self.link} on {self.channel}"


def campaign_image_path(instance, filename):
    # Unguessable names: an image is downloadable by its address, and the address says nothing.
    return f"campaign-images/{instance.organization_id}/{uuid.uuid4().hex}.{filename.rsplit('.', 1)[-1]}"


class ImageFormat(models.TextChoices):
    PNG = "PNG", "PNG"
    JPEG = "JPEG", "JPEG"
    WEBP = "WEBP", "WebP"


class CampaignImage(TenantModel):
    """A picture ambassadors may post with a campaign: checked by content (PNG, JPEG or WebP, at
    most 5 MB and a bounded pixel count), stored through Django's storage API with a thumbnail."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to=campaign_image_path, max_length=300)
    thumbnail = models.FileField(upload_to=campaign_image_path, max_length=300)
    format = models.CharField(max_length=4, choices=ImageFormat.choices)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    original_name = models.CharField(max_length=200, blank=True)
    alt_text = models.CharField(max_length=300, blank=True, help_text="Describes the image for screen readers.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "created_at", "pk"]

    def __str__(self):
        return self.original_name or str(self.public_id)


class Domain(TenantModel):
    """A custom short-link host of one organisation (links.example.com)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    host = models.CharField(max_length=253, unique=True, validators=[validate_host],
                            help_text="A host name you point at the platform, e.g. links.example.com.")
    verified = models.BooleanField(default=False, help_text="Set by platform staff once DNS points here.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["host"]

    def __str__(self):
        return self.host

    def save(self, *args, **kwargs):
        self.host = normalize_host(self.host)
        validate_host(self.host)
        super().save(*args, **kwargs)
