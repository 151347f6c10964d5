import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from tenancy.scoping import TenantModel


class Kind(models.TextChoices):
    INTERNAL = "internal", "Internal (employee)"
    EXTERNAL = "external", "External (customer, partner, creator)"


class Status(models.TextChoices):
    INVITED = "invited", "Invited"
    PENDING = "pending", "Pending approval"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    REMOVED = "removed", "Removed"


class Network(models.TextChoices):
    LINKEDIN = "linkedin", "LinkedIn"
    X = "x", "X"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    OTHER = "other", "Other"


class AmbassadorGroup(TenantModel):
    """A set of ambassadors (a team, a region, a partner tier) that campaigns target."""

    name = models.CharField(max_length=80)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("organization", Lower("name"), name="group_name_unique_per_org"),
        ]

    def __str__(self):
        return self.name


class Ambassador(TenantModel):
    """A person's ambassador profile in one organisation. Exists from the invitation
    on (status invited, no user yet); the user is linked when they accept."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="ambassador_profiles"
    )
    email = models.EmailField()
    display_name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.EXTERNAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.INVITED, db_index=True)
    hourly_rate = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))],
        help_text="What an hour of this person's time costs, in the organisation's currency.",
    )
    title = models.CharField("job title or role", max_length=120, blank=True)
    bio = models.TextField(blank=True, max_length=1000)
    groups = models.ManyToManyField(AmbassadorGroup, blank=True, related_name="ambassadors")
    created_at = models.DateTimeField(auto_now_add=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # When the ambassador dismissed the portal's first-login onboarding (shown after an invitation).
    onboarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint("organization", Lower("email"), name="ambassador_email_unique_per_org"),
            models.UniqueConstraint(
                fields=["organization", "user"], condition=models.Q(user__isnull=False),
                name="one_ambassador_per_user_and_org",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self):
        return self.display_name

    @property
    def kind_short(self) -> str:
        return "Internal" if self.kind == Kind.INTERNAL else "External"

    @property
    def total_followers(self) -> int:
        return sum(p.followers for p in self.social_profiles.all())


class SocialProfile(TenantModel):
    ambassador = models.ForeignKey(Ambassador, on_delete=models.CASCADE, related_name="social_profiles")
    network = models.CharField(max_length=12, choices=Network.choices)
    url = models.URLField(max_length=300, blank=True)
    handle = models.CharField(max_length=100, blank=True)
    followers = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["network"]
        constraints = [
            models.UniqueConstraint(fields=["ambassador", "network"], name="one_profile_per_network"),
        ]

    def __str__(self):
        return f"{self.get_network_display()}: {self.handle or self.url}"


class Invitation(TenantModel):
    """An e-mailed invitation. The link carries a signed token naming this row; the row
    makes it single-use (accepted_at) and revocable, the signature makes it tamper-proof
    and the expiry is checked against both."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ambassador = models.OneToOneField(Ambassador, on_delete=models.CASCADE, related_name="invitation")
    email = models.EmailField()
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation of {self.email}"


class JoinPage(TenantModel):
    """The organisation's public "join our programme" page (/join/<slug>/)."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE, related_name="join_page")
    enabled = models.BooleanField(default=False)
    requires_approval = models.BooleanField(
        default=True, help_text="Applicants wait for an admin's approval before they can share links."
    )
    headline = models.CharField(max_length=120, default="Join our ambassador programme")
    intro = models.TextField(blank=True, max_length=2000)
    default_kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.EXTERNAL)
    default_groups = models.ManyToManyField(AmbassadorGroup, blank=True, related_name="+")

    def __str__(self):
        return f"Join page of {self.organization}"
