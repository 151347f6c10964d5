from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    """Work that must follow a commit and must not be lost (notifications, webhooks): written in
    the transaction of the change that causes it, handled by whichever layer registered for its
    topic (common.outbox), swept by the beat so a broker outage only delays it.

    Not a tenant model: it is below tenancy. `organization_id` says whose event it is; nothing
    shows these rows to users."""

    topic = models.CharField(max_length=100)
    # One event per cause: writing the same key twice is a no-op (e.g. "campaign.live:42").
    key = models.CharField(max_length=200, unique=True)
    organization_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(default=timezone.now,
                                        help_text="Not handled before this time (retries back off).")
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["available_at"], condition=models.Q(processed_at__isnull=True),
                         name="outbox_pending"),
        ]

    def __str__(self):
        return f"{self.topic} {self.key}"
