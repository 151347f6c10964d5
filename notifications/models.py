import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from ambassadors.models import Ambassador
from campaigns.models import Campaign
from tenancy.scoping import TenantModel


class Kind(models.TextChoices):
    CAMPAIGN_NEW = "campaign_new", "New campaigns"
    DIGEST = "digest", "Weekly summary"
    REMINDER = "reminder", "Reminders"


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"


class Frequency(models.TextChoices):
    IMMEDIATELY = "immediately", "Immediately"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    OFF = "off", "Off"


class Preference(TenantModel):
    """How often an ambassador wants one kind of notification on one channel. No row: the
    kind's default (notifications.preferences.DEFAULTS)."""

    ambassador = models.ForeignKey(Ambassador, on_delete=models.CASCADE, related_name="notification_preferences")
    channel = models.CharField(max_length=10, choices=DeliveryChannel.choices, default=DeliveryChannel.EMAIL)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    frequency = models.CharField(max_length=12, choices=Frequency.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ambassador", "channel", "kind"],
                                               name="one_preference_per_ambassador_channel_kind")]

    def __str__(self):
        return f"{self.kind} by {self.channel}: {self.frequency}"


class NotificationSettings(TenantModel):
    """An organisation's chat channels (incoming-webhook URLs: secrets, never logged or shown in
    full) and its reminder rule (off by default)."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE,
                                        related_name="notification_settings")
    slack_webhook_url = models.URLField(max_length=500, blank=True)
    teams_webhook_url = models.URLField(max_length=500, blank=True)
    # The last refusal of each webhook (a 4xx), shown to admins on the settings page until a post works.
    slack_problem = models.CharField(max_length=300, blank=True)
    slack_problem_at = models.DateTimeField(null=True, blank=True)
    teams_problem = models.CharField(max_length=300, blank=True)
    teams_problem_at = models.DateTimeField(null=True, blank=True)
    reminders_enabled = models.BooleanField(default=False)
    reminder_after_days = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Remind ambassadors of a featured campaign they have not shared after this many days.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self):
        return f"Notification settings of organisation {self.organization_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class Delivery(TenantModel):
    """One notification to one recipient on one channel. `key` names its cause, (ambassador or
    org channel, campaign, channel, kind[, period]), and is unique per organisation: that
    constraint is what makes "told once" hold under retries, overlapping beats and restarts."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    channel = models.CharField(max_length=10, choices=DeliveryChannel.choices)
    ambassador = models.ForeignKey(Ambassador, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="deliveries")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    period = models.CharField(max_length=20, blank=True, help_text="Digests: the week, e.g. 2026-W49.")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    due_at = models.DateTimeField(default=timezone.now, help_text="Not sent before (daily/weekly batches, retries).")
    # A sender holds a row until then; one that died leaves it to the next sweep after the lease.
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="one_delivery_per_cause")]
        indexes = [
            models.Index(fields=["due_at"], condition=models.Q(status__in=["pending", "sending"]),
                         name="delivery_due"),
            models.Index(fields=["organization", "created_at"]),
        ]

    def __str__(self):
        return self.key
