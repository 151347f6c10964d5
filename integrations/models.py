"""Integrations (issue 16): outbound webhooks (Standard Webhooks) and conversions in from
Stripe and HubSpot.

Outbound: a domain event (common.events) becomes one WebhookMessage per organisation and cause;
each enabled endpoint subscribed to its type gets one WebhookDelivery, retried on a schedule
until a 2xx; every HTTP attempt is a DeliveryAttempt (the log, kept 30 days). The message's
`msg_id` is the `webhook-id` of every attempt to every endpoint, so a receiver can de-duplicate.

Inbound: an IntegrationConnection per organisation and provider holds the provider's signing
secret and the public token of its receiving URL; each provider event is stored once as an
InboundEvent (unique per organisation, provider and the provider's event id), which is what
makes a replayed event a no-op.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from common.events import EVENT_TYPES
from tenancy.scoping import TenantModel

EVENT_CHOICES = [(name, name) for name in EVENT_TYPES]


class WebhookEndpoint(TenantModel):
    """Where an organisation wants events sent. The secret (`whsec_` + base64 of 24 random
    bytes) is shown once, at creation or rotation; after a rotation the previous secret also
    signs (both signatures sent) until previous_secret_expires_at, 24 hours later."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The event types sent here (a subset of EVENT_TYPES).")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    secret = models.CharField(max_length=100, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    # While the endpoint fails, nothing is sent to it before this time but its next retry (the
    # delivery engine's circuit breaker: an outage costs one failed attempt per retry step, not
    # one per pending event, so a busy endpoint down for a minute is not disabled for it).
    paused_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(url=""), name="webhook_endpoint_has_url"),
            models.CheckConstraint(condition=models.Q(secret__startswith="whsec_"),  # noqa: S106 - a prefix
                                   name="webhook_endpoint_secret_format"),
        ]

    def __str__(self):
        return self.url


class WebhookMessage(TenantModel):
    """One domain event as sent: envelope {type, timestamp, data}; one per organisation and cause."""

    msg_id = models.CharField(max_length=40, unique=True, editable=False)  # "msg_" + 26 random characters
    event_type = models.CharField(max_length=40, choices=EVENT_CHOICES)
    cause = models.CharField(max_length=200, help_text="The outbox key of the event (one message per cause).")
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "cause"], name="one_webhook_message_per_cause")]
        indexes = [models.Index(fields=["organization", "created_at"], name="webhook_message_org_time")]

    def __str__(self):
        return f"{self.msg_id} {self.event_type}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed (gave up)"
    CANCELED = "canceled", "Canceled (endpoint disabled)"


class WebhookDelivery(TenantModel):
    """One message to one endpoint: retried until a 2xx or the schedule ends."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    next_trigger = models.CharField(max_length=10, default="schedule", editable=False,
                                    help_text="What the next attempt is logged as: schedule | replay.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "message"], name="one_delivery_per_endpoint_and_message"),
            models.CheckConstraint(condition=~models.Q(status="pending") | models.Q(next_attempt_at__isnull=False),
                                   name="pending_delivery_has_next_attempt"),
        ]
        indexes = [models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"),
                                name="webhook_delivery_due")]

    def __str__(self):
        return f"{self.message_id} → {self.endpoint_id} ({self.status})"


class DeliveryAttempt(TenantModel):
    """One HTTP request of a delivery and what came back (bodies truncated; kept 30 days).
    The request's headers are stored without the signature."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    attempted_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField(blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    trigger = models.CharField(max_length=10, default="schedule",
                               help_text="schedule | replay | test: what made this attempt.")

    class Meta:
        indexes = [models.Index(fields=["organization", "attempted_at"], name="delivery_attempt_org_time")]

    def __str__(self):
        return f"{self.delivery_id} at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.response_status or self.error}"


class Provider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    HUBSPOT = "hubspot", "HubSpot"


class IntegrationConnection(TenantModel):
    """An organisation's connection to a provider that sends conversions in: the provider's
    signing secret (Stripe's endpoint secret `whsec_…`, HubSpot's app client secret) and the
    public token in the receiving URL (/hooks/<provider>/<token>/)."""

    provider = models.CharField(max_length=10, choices=Provider.choices)
    public_token = models.CharField(max_length=40, unique=True, editable=False)
    signing_secret = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True,
                                help_text="HubSpot: {\"deal_stage\": \"closedwon\", \"click_property\": \"amb_cid\"}.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "provider"],
                                               name="one_connection_per_provider")]

    def __str__(self):
        return f"{self.get_provider_display()} for {self.organization_id}"


class InboundOutcome(models.TextChoices):
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (not a conversion)"
    FAILED = "failed", "Failed"


class InboundEvent(TenantModel):
    """A provider's event, stored once: its id is unique per organisation and provider, so a
    replay (the provider retries, an attacker resends a signed body) changes nothing."""

    connection = models.ForeignKey(IntegrationConnection, on_delete=models.CASCADE, related_name="events")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=10, choices=InboundOutcome.choices)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "provider", "event_id"],
                                               name="one_inbound_event_per_provider_id")]
        indexes = [models.Index(fields=["organization", "received_at"], name="inbound_event_org_time")]

    def __str__(self):
        return f"{self.provider} {self.event_id} ({self.outcome})"
