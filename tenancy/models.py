import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from .scoping import TenantManager, TenantModel

CURRENCIES = [
    ("EUR", "Euro (EUR)"),
    ("USD", "US dollar (USD)"),
    ("GBP", "Pound sterling (GBP)"),
    ("CHF", "Swiss franc (CHF)"),
    ("CAD", "Canadian dollar (CAD)"),
    ("AUD", "Australian dollar (AUD)"),
    ("SEK", "Swedish krona (SEK)"),
    ("NOK", "Norwegian krone (NOK)"),
    ("DKK", "Danish krone (DKK)"),
    ("PLN", "Polish złoty (PLN)"),
    ("JPY", "Japanese yen (JPY)"),
    ("INR", "Indian rupee (INR)"),
    ("BRL", "Brazilian real (BRL)"),
]

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1–50 lower-case letters, digits and hyphens, not starting or ending with a hyphen.",
)
# Slugs that would shadow our own URL space.
RESERVED_SLUGS = {"admin", "api", "new", "static", "accounts", "join", "invite", "l", "js", "o", "orgs"}


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone (e.g. Europe/Paris).")


class Organization(models.Model):
    """A customer of the platform: one company running one ambassador programme.
    The tenancy root, so not itself scoped."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="EUR")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        if self.slug in RESERVED_SLUGS:
            raise ValidationError({"slug": f"“{self.slug}” is reserved; pick another."})

    @property
    def tzinfo(self):
        return zoneinfo.ZoneInfo(self.time_zone)


class Role(models.TextChoices):
    # Ordered from most to least powerful; see ROLE_RANK.
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Marketing manager"
    AMBASSADOR = "ambassador", "Ambassador"


ROLE_RANK = {Role.AMBASSADOR: 1, Role.MANAGER: 2, Role.ADMIN: 3, Role.OWNER: 4}


class Membership(models.Model):
    """A user's place in one organisation, with one role there.

    Scoped like every tenant model. Resolving "which organisations is this user in"
    happens before any scope exists, so that one read goes through the explicit
    `across_organizations` manager, used only by tenancy.selectors."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.AMBASSADOR)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager()
    across_organizations = models.Manager()  # noqa: DJ012 - a second manager, not a field

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_user_and_org"),
        ]
        indexes = [models.Index(fields=["user", "organization"])]
        base_manager_name = "across_organizations"

    def __str__(self):
        return f"{self.user} – {self.get_role_display()} of {self.organization}"

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[minimum]

    @property
    def is_manager(self) -> bool:
        return self.has_role(Role.MANAGER)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)


API_KEY_PREFIX = "amb_"


class ApiKey(TenantModel):
    """An organisation's key for server-to-server calls (`Authorization: Bearer <key>`).

    The full key is `<prefix>_<secret>`: the prefix (`amb_` + 8 random characters) is
    stored in clear, shown in lists and used to find the key; the secret is shown once
    at creation and only its hash is kept."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, help_text="What uses this key, e.g. “CRM webhook”.")
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    # sha256 of the full key, hex. A fast unsalted hash is enough here (unlike for
    # passwords): the key carries 256 random bits from secrets.token_urlsafe(32), so
    # neither brute force nor precomputed tables can invert it, and a slow hasher
    # (PBKDF2) would add hundreds of milliseconds to every API request.
    secret_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
