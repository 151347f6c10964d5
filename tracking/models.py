from django.conf import settings
from django.db import models

from tenancy.scoping import TenantModel

UA_MAX = 512
REFERRER_HOST_MAX = 253


class RawClick(TenantModel):
    """The durable record written before the 302 leaves: the least possible work.
    A queue: the click processor moves each row into Click and deletes it in one transaction."""

    # Indexed as (organization, id) below, for the processor's per-organisation claim.
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=False)
    click_id = models.CharField(max_length=22)
    link_id = models.BigIntegerField()  # no FK: the hot path must not pay for a constraint check
    clicked_at = models.DateTimeField()
    visitor_id = models.CharField(max_length=22)
    ip_hash = models.CharField(max_length=32)
    user_agent = models.CharField(max_length=UA_MAX, blank=True)
    referrer_host = models.CharField(max_length=REFERRER_HOST_MAX, blank=True)
    channel_hint = models.CharField(max_length=10, blank=True)
    is_head = models.BooleanField(default=False)

    class Meta:
        db_table = "tracking_rawclick"
        indexes = [models.Index(fields=["organization", "id"], name="rawclick_org_id")]


class Click(TenantModel):
    """Every click ever recorded, classified. Bots and self-clicks are kept and flagged,
    never credited."""

    # First column of click_org_visitor_time and click_org_time; no FK check per inserted row.
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=False,
                                     db_constraint=False)
    click_id = models.CharField(max_length=22)  # unique via Meta.constraints: no varchar_pattern_ops twin index
    link = models.ForeignKey("campaigns.TrackedLink", on_delete=models.CASCADE, related_name="+",
                             db_constraint=False, db_index=False)  # click_link_visitor_time leads with link_id
    campaign_id = models.BigIntegerField()
    ambassador_id = models.BigIntegerField()
    clicked_at = models.DateTimeField()
    day = models.DateField(help_text="The click's date in the organisation's time zone.")
    visitor_id = models.CharField(max_length=22)
    ip_hash = models.CharField(max_length=32)
    user_agent = models.CharField(max_length=UA_MAX, blank=True)
    referrer_host = models.CharField(max_length=REFERRER_HOST_MAX, blank=True)
    channel = models.CharField(max_length=10)
    is_head = models.BooleanField(default=False)
    is_bot = models.BooleanField(default=False)
    bot_reason = models.CharField(max_length=40, blank=True)
    is_self = models.BooleanField(default=False)
    is_unique = models.BooleanField(default=False)
    device = models.CharField(max_length=10, blank=True)
    browser = models.CharField(max_length=40, blank=True)
    os = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["click_id"], name="click_id_unique")]
        indexes = [
            models.Index(fields=["organization", "visitor_id", "clicked_at"], name="click_org_visitor_time"),
            models.Index(fields=["link", "visitor_id", "clicked_at"], name="click_link_visitor_time"),
            models.Index(fields=["organization", "clicked_at"], name="click_org_time"),
        ]

    @property
    def credited(self) -> bool:
        return not self.is_bot and not self.is_self


class DailyClickRollup(TenantModel):
    """Clicks per organisation × campaign × ambassador × channel × local day. `clicks` are
    the creditable ones (neither bot nor self); `total` is everything recorded."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE,
                                     db_index=False)  # leads one_rollup_per_key and rollup_org_day
    campaign_id = models.BigIntegerField()
    ambassador_id = models.BigIntegerField()
    channel = models.CharField(max_length=10)
    day = models.DateField()
    total = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    unique_clicks = models.PositiveIntegerField(default=0)
    bot_clicks = models.PositiveIntegerField(default=0)
    self_clicks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "campaign_id", "ambassador_id", "channel", "day"],
                                    name="one_rollup_per_key"),
        ]
        indexes = [models.Index(fields=["organization", "day"], name="rollup_org_day")]


class DailySalt(models.Model):
    """A random salt per UTC day for hashing IP addresses, deleted after 48 hours, so a hash
    can't be recomputed from an address later (a salt derived from the date could be)."""

    day = models.DateField(unique=True)
    salt = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Salt of {self.day}"


class PortalVisitor(models.Model):
    """A visitor id seen on a logged-in portal session: clicks from it on that user's own
    links are self-clicks."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    visitor_id = models.CharField(max_length=22, db_index=True)
    last_seen = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "visitor_id"], name="one_row_per_user_visitor")]

    def __str__(self):
        return f"{self.visitor_id} of user {self.user_id}"
