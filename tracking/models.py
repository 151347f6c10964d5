import uuid
from decimal import Decimal

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


class ClickCounts(TenantModel):
    """The counts of the summary click rollups (signed: deltas add as they come)."""

    total = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    unique_clicks = models.BigIntegerField(default=0)
    bot_clicks = models.BigIntegerField(default=0)
    self_clicks = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class CreditSums(TenantModel):
    """What the credit rollups sum: leads and customers in 1/10,000, revenue in cents."""

    leads = models.BigIntegerField(default=0)
    customers = models.BigIntegerField(default=0)
    revenue_cents = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


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


class DailyAmbassadorClicks(ClickCounts):
    """DailyClickRollup summed over campaigns and channels: clicks per organisation × ambassador
    × local day, about 50 times fewer rows, for leaderboards and an ambassador's own figures.
    Kept in step by the click processing (same transaction); signed so deltas add as they come."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE,
                                     db_index=False)  # leads one_ambassador_clicks_per_day
    ambassador_id = models.BigIntegerField()
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "day", "ambassador_id"],
                                               name="one_ambassador_clicks_per_day")]


class WeeklyAmbassadorClicks(ClickCounts):
    """DailyAmbassadorClicks summed per local week (`week`: its Monday). A 30-day leaderboard
    with the 30 days before it reads ~7 weekly and ~11 daily rows per ambassador instead of 60
    daily ones (reports.selectors.base.day_tiers). Kept in step with the daily rows."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE,
                                     db_index=False)  # leads one_ambassador_clicks_per_week
    ambassador_id = models.BigIntegerField()
    week = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "week", "ambassador_id"],
                                               name="one_ambassador_clicks_per_week")]


class DailyChannelClicks(ClickCounts):
    """DailyClickRollup summed over ambassadors: clicks per organisation × local day × campaign ×
    channel (the channel split reads a few rows per day instead of one per ambassador). Kept in
    step by the click processing (same transaction); signed so deltas add as they come."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE,
                                     db_index=False)  # leads one_channel_clicks_per_day
    day = models.DateField()
    campaign_id = models.BigIntegerField()
    channel = models.CharField(max_length=10)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "day", "campaign_id", "channel"],
                                               name="one_channel_clicks_per_day")]


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


# --- Conversions (server-side tracking API: tracking.services.conversions) -------------------

class LeadTrackingMode(models.TextChoices):
    """How a lead's click id reached the organisation's site (amb.js sends it as `amb_mode`):
    the organisation's tracking mode (TrackingSettings.mode), or unknown when nobody said."""
    FULL = "full", "Full (first-party cookie)"
    CONSENT = "consent", "After consent"
    COOKIELESS = "cookieless", "Cookieless (URL and form fields)"
    UNKNOWN = "unknown", "Unknown"


class Customer(TenantModel):
    """One person of one organisation, created by their first lead; later leads update it,
    never duplicate it. There is no separate lead row: the customer *is* the lead.

    Identity: `external_id` (the id in the organisation's own system, unique per organisation
    when set), else `email_hash` (sha256 of the stripped, lower-cased e-mail; the raw e-mail
    is never stored). `first_lead_at`, `visitor_id` and `first_click_id` come from the first
    lead only and fix attribution; later leads move `last_lead_at`, name and metadata."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    external_id = models.CharField(max_length=255, null=True, blank=True)
    email_hash = models.CharField(max_length=64, null=True, blank=True)
    # The e-mail's domain alone (e.g. "example.com"), for the fraud rules of rewards (a customer of the
    # ambassador's own company domain, a disposable domain). A domain names a mail provider or a company,
    # not a person, so it is kept in clear where the address itself is only a hash.
    email_domain = models.CharField(max_length=253, null=True, blank=True)
    name = models.CharField(max_length=200, blank=True)
    visitor_id = models.CharField(max_length=22, null=True, blank=True,
                                  help_text="The first lead's visitor, from its click id or given directly.")
    first_click_id = models.CharField(max_length=22, null=True, blank=True,
                                      help_text="The first lead's click id, kept even if no click was found "
                                                "for it yet (attribution retries).")
    first_lead_at = models.DateTimeField()
    last_lead_at = models.DateTimeField()
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    attributed_at = models.DateTimeField(null=True, blank=True,
                                         help_text="Set by attribution once the lead's credits are stored.")
    tracking_mode = models.CharField(max_length=10, choices=LeadTrackingMode.choices, default=LeadTrackingMode.UNKNOWN,
                                     db_default=LeadTrackingMode.UNKNOWN,
                                     help_text="How the first lead's click id came: full, consent, cookieless "
                                               "(amb.js's amb_mode), or unknown.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "external_id"],
                                    condition=models.Q(external_id__isnull=False),
                                    name="customer_external_id_unique"),
            models.CheckConstraint(condition=models.Q(tracking_mode__in=[m.value for m in LeadTrackingMode]),
                                   name="customer_tracking_mode_valid"),
        ]
        indexes = [
            models.Index(fields=["organization", "email_hash"], name="customer_org_email"),
            models.Index(fields=["organization", "visitor_id"], name="customer_org_visitor"),
            # The share of leads per mode in a period (reports.selectors.lead_modes): read from the index alone.
            models.Index(fields=["organization", "first_lead_at", "tracking_mode"], name="customer_org_lead_mode"),
        ]

    def __str__(self):
        return self.external_id or str(self.public_id)


class SaleStatus(models.TextChoices):
    PAID = "paid", "Paid"
    REFUNDED = "refunded", "Refunded"


class RateStatus(models.TextChoices):
    """How a sale's `amount` (in the organisation's currency) was obtained from its original amount."""

    OWN = "own", "In the organisation's currency"
    EXACT = "exact", "Converted at the rate of its day"
    ESTIMATED = "estimated", "Converted at the latest earlier rate (estimated)"
    AWAITING = "awaiting", "Awaiting rate"


class RateSource(models.TextChoices):
    REFERENCE = "reference", "Reference (ECB)"
    UPLOADED = "uploaded", "Uploaded by an admin"


class ExchangeRate(TenantModel):
    """One day's rate of one currency against the organisation's currency, in the ECB's
    convention: `rate` units of `currency` for ONE unit of the organisation's currency (the
    ECB publishes 1 EUR = 1.0830 USD: for a EUR organisation the row USD 1.0830). A sale of X
    `currency` is worth X / rate in the organisation's currency, rounded half-up to the cent once
    (tracking.services.rates.convert). An uploaded rate overrides the reference rate of the same
    day and currency; both are kept."""

    day = models.DateField()
    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=20, decimal_places=10)
    source = models.CharField(max_length=10, choices=RateSource.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "currency", "day", "source"],
                                    name="exchangerate_org_currency_day_source_unique"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchangerate_rate_positive"),
            models.CheckConstraint(condition=models.Q(source__in=[s.value for s in RateSource]),
                                   name="exchangerate_source_valid"),
            models.CheckConstraint(condition=models.Q(currency__regex=r"^[A-Z]{3}$"),
                                   name="exchangerate_currency_iso"),
        ]

    def __str__(self):
        return f"{self.day} {self.currency} {self.rate} ({self.source})"


class Sale(TenantModel):
    """A sale, idempotent on (organisation, invoice_id) in the database. A sale whose
    customer is not known yet keeps `customer_external_id` and is linked when that
    customer's lead arrives.

    `amount` and `currency` are always in the organisation's currency (what every report,
    credit and reward reads); `original_amount`/`original_currency` are what the sale was
    posted in. A sale in another currency is converted at the rate of its day
    (`rate_status` exact), else at the latest earlier rate (estimated); with no rate at all
    it is stored with `amount` 0.00 and `rate_status` awaiting — attributed, but with no
    revenue until tracking.services.rates.convert_pending_sales converts it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    invoice_id = models.CharField(max_length=255)
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="sales")
    customer_external_id = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=SaleStatus.choices, default=SaleStatus.PAID)
    refunded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    attributed_at = models.DateTimeField(null=True, blank=True,
                                         help_text="Set by attribution once the sale's credits are stored.")
    # Null/blank on sales stored before issue 17 (all in the organisation's currency).
    original_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    original_currency = models.CharField(max_length=3, blank=True, default="")
    rate = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True,
                               help_text="The ExchangeRate.rate used: units of original_currency per unit of currency.")
    rate_day = models.DateField(null=True, blank=True, help_text="The day of the rate used.")
    rate_status = models.CharField(max_length=10, choices=RateStatus.choices, default=RateStatus.OWN,
                                   db_default=RateStatus.OWN.value)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "invoice_id"], name="sale_invoice_unique"),
            models.CheckConstraint(condition=(models.Q(amount__gt=0)
                                              | models.Q(rate_status="awaiting", amount=0)),
                                   name="sale_amount_positive_unless_awaiting"),
            models.CheckConstraint(condition=models.Q(rate_status__in=[s.value for s in RateStatus]),
                                   name="sale_rate_status_valid"),
            models.CheckConstraint(condition=models.Q(status__in=["paid", "refunded"]), name="sale_status_valid"),
        ]
        indexes = [
            models.Index(fields=["organization", "customer_external_id"], name="sale_org_customer_ext"),
            # The refunded sales of a period, for the refund-rate fraud rule of rewards: few rows, so small.
            models.Index(fields=["organization", "occurred_at"], condition=models.Q(status="refunded"),
                         name="sale_org_refunded_time"),
            # The sales waiting for a rate (few), for convert_pending_sales.
            models.Index(fields=["organization", "original_currency", "occurred_at"],
                         condition=models.Q(rate_status__in=["awaiting", "estimated"]), name="sale_org_rate_pending"),
        ]

    def __str__(self):
        return self.invoice_id

    @property
    def posted_amount(self) -> Decimal:
        """The amount as posted (rows written by a bulk tool without original_* count as own)."""
        return self.amount if self.original_amount is None else self.original_amount

    @property
    def posted_currency(self) -> str:
        return self.original_currency or self.currency


# --- Attribution (tracking.services.attribution) ---------------------------------------------

class CreditKind(models.TextChoices):
    LEAD = "lead", "Lead"
    SALE = "sale", "Sale"
    CUSTOMER = "customer", "Customer"  # a lead that became a paying customer


class CreditChannel(models.TextChoices):
    """The channel of the touch a credit stands on: Click.channel's values (campaigns.channels.Channel,
    the same vocabulary as DailyClickRollup.channel), plus UNKNOWN for credits whose click is not
    known: credits written before credits kept their channel and whose click the backfill
    (migration 0012) could not find again, and rows written by a tool that does not give one (the
    column's database default)."""

    LINKEDIN = "linkedin", "LinkedIn"
    X = "x", "X"
    FACEBOOK = "facebook", "Facebook"
    EMAIL = "email", "E-mail"
    WHATSAPP = "whatsapp", "WhatsApp"
    DIRECT = "direct", "Direct / other"
    UNKNOWN = "unknown", "Unknown (click not known)"


class AttributionModel(models.TextChoices):
    FIRST_TOUCH = "first_touch", "First touch"
    LAST_TOUCH = "last_touch", "Last touch"
    LINEAR = "linear", "Linear"
    TIME_DECAY = "time_decay", "Time decay"
    POSITION_BASED = "position_based", "Position based"


class Credit(TenantModel):
    """One ambassador's (and link's) share of one conversion under one model.

    A lead credit (`kind` lead, `sale` null) carries `lead_share`: the lead's 1.0000 split by
    the model's weights (the shares of one lead and model add up to exactly 1.0000); its
    `amount` is 0. A sale credit carries `amount`: the sale's value split to the cent (the
    cents of one sale and model add up to the sale's amount); its `lead_share` is 0. A sale in
    another currency also splits its original amount the same way into `original_amount` (in
    the sale's original_currency), so a credit keeps both amounts; None otherwise.
    A customer credit (`kind` customer) is a lead that became a paying customer: 1.0000 split
    like the lead's, dated by and pointing at the customer's first paid sale, so "customers
    per ambassador" adds up to the number of paying customers.
    `converted_at` is the lead's first_lead_at or the sale's occurred_at (reports by period).
    `channel` is the channel of the touch(es) the row stands on (Click.channel): an ambassador's
    share of a link is split further by the channels its touches came through, so a lead and its
    sales carry the channel of each credited touch (CreditChannel.UNKNOWN: see there).
    Rows are rewritten whole by attribution, so they are never edited in place."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE,
                                     db_index=False)  # leads credit_org_model_time
    kind = models.CharField(max_length=8, choices=CreditKind.choices)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="credits")
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, null=True, blank=True, related_name="credits")
    model = models.CharField(max_length=20, choices=AttributionModel.choices)
    ambassador_id = models.BigIntegerField()
    link_id = models.BigIntegerField()
    campaign_id = models.BigIntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    original_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True,
                                          help_text="A sale in another currency: this credit's share of the sale's "
                                                    "original amount, in its original_currency.")
    lead_share = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    converted_at = models.DateTimeField()
    version = models.PositiveIntegerField(
        default=1, help_text="The AttributionSettings version (window, half-life) these credits were computed "
                             "with; reports read only the organisation's active version.")
    # A database default (not a Python one) so that adding the column to millions of rows is
    # instant on PostgreSQL, and a tool that writes credits without it (COPY with its own
    # column list) stores "unknown" rather than failing; attribution always writes it.
    channel = models.CharField(max_length=10, choices=CreditChannel.choices, db_default=CreditChannel.UNKNOWN.value,
                               help_text="The channel of the click(s) this credit stands on.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "version", "model", "ambassador_id", "link_id", "channel"],
                                    condition=models.Q(kind="lead"), name="credit_lead_channel_unique"),
            models.UniqueConstraint(fields=["sale", "version", "model", "ambassador_id", "link_id", "channel"],
                                    condition=models.Q(kind="sale"), name="credit_sale_channel_unique"),
            models.UniqueConstraint(fields=["customer", "version", "model", "ambassador_id", "link_id", "channel"],
                                    condition=models.Q(kind="customer"), name="credit_customer_channel_unique"),
            models.CheckConstraint(condition=models.Q(channel__in=[c.value for c in CreditChannel]),
                                   name="credit_channel_valid"),
            models.CheckConstraint(
                condition=(models.Q(kind="lead", sale__isnull=True)
                           | models.Q(kind__in=["sale", "customer"], sale__isnull=False)),
                name="credit_kind_matches_sale"),
            models.CheckConstraint(condition=models.Q(model__in=[m.value for m in AttributionModel]),
                                   name="credit_model_valid"),
        ]
        indexes = [models.Index(fields=["organization", "version", "model", "converted_at"],
                                name="credit_org_version_model_time"),
                   # One ambassador's credits of a period (the drill-down by channel: reports.selectors.channels).
                   models.Index(fields=["organization", "ambassador_id", "version", "model", "converted_at"],
                                name="credit_org_ambassador_time")]

    def __str__(self):
        return f"{self.kind} credit {self.model} → ambassador {self.ambassador_id}"


class DailyCreditRollup(CreditSums):
    """Credits per organisation × version × model × campaign × ambassador × local day, kept in
    step with the Credit rows by attribution (deltas added in the same transaction), so
    reports never sum credits on a page view. Integers, so sums are exact on every database:
    `leads` and `customers` in 1/10,000 (1.0000 = 10,000), `revenue_cents` in cents."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE,
                                     db_index=False)  # leads one_credit_rollup_per_key
    version = models.PositiveIntegerField()
    model = models.CharField(max_length=20, choices=AttributionModel.choices)
    campaign_id = models.BigIntegerField()
    ambassador_id = models.BigIntegerField()
    day = models.DateField(help_text="The conversion's date in the organisation's time zone.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "version", "model", "day", "campaign_id", "ambassador_id"],
                                    name="one_credit_rollup_per_key"),
        ]


class DailyAmbassadorCredits(CreditSums):
    """DailyCreditRollup summed over campaigns: per organisation × version × model × ambassador ×
    local day (leaderboards). Kept in step by attribution, in the same transaction."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE,
                                     db_index=False)  # leads one_ambassador_credits_per_day
    version = models.PositiveIntegerField()
    model = models.CharField(max_length=20, choices=AttributionModel.choices)
    ambassador_id = models.BigIntegerField()
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "version", "model", "day", "ambassador_id"],
                                    name="one_ambassador_credits_per_day"),
        ]


class WeeklyAmbassadorCredits(CreditSums):
    """DailyAmbassadorCredits summed per local week (`week`: its Monday), for leaderboards."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE,
                                     db_index=False)  # leads one_ambassador_credits_per_week
    version = models.PositiveIntegerField()
    model = models.CharField(max_length=20, choices=AttributionModel.choices)
    ambassador_id = models.BigIntegerField()
    week = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "version", "model", "week", "ambassador_id"],
                                    name="one_ambassador_credits_per_week"),
        ]


class DailyCampaignCredits(CreditSums):
    """DailyCreditRollup summed over ambassadors: per organisation × version × model × campaign ×
    local day (campaign ROI, about a fiftieth of the rows). Kept in step by attribution."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE,
                                     db_index=False)  # leads one_campaign_credits_per_day
    version = models.PositiveIntegerField()
    model = models.CharField(max_length=20, choices=AttributionModel.choices)
    campaign_id = models.BigIntegerField()
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "version", "model", "day", "campaign_id"],
                                    name="one_campaign_credits_per_day"),
        ]


class DailyChannelCredits(CreditSums):
    """Credits per organisation × version × model × local day × campaign × channel (the channel
    split of ROI and the funnel: a year of an enterprise organisation is a few hundred thousand
    rows, where its credits are millions). Kept in step with the Credit rows by attribution, in
    the same transaction (tracking.services.rollups.add_channel_credits)."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE,
                                     db_index=False)  # leads one_channel_credits_per_day
    version = models.PositiveIntegerField()
    model = models.CharField(max_length=20, choices=AttributionModel.choices)
    day = models.DateField(help_text="The conversion's date in the organisation's time zone.")
    campaign_id = models.BigIntegerField()
    channel = models.CharField(max_length=10, choices=CreditChannel.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "version", "model", "day", "campaign_id", "channel"],
                                    name="one_channel_credits_per_day"),
        ]


class AttributionSettings(TenantModel):
    """An organisation's attribution choices, and the state of a recompute.

    `reporting_model` only picks which stored model reports show (all five are always
    stored), so changing it is instant. Window and half-life change the credits themselves:
    a change starts a new `pending_version`, which background chunks compute beside the
    active one; when every customer is done, one transaction makes it the active `version`.
    Reports read credits of `version` only, so they never show a half-recomputed mix."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE,
                                        related_name="attribution_settings")
    reporting_model = models.CharField(max_length=20, choices=AttributionModel.choices,
                                       default=AttributionModel.LINEAR)
    window_days = models.PositiveSmallIntegerField(default=30)
    half_life_days = models.PositiveSmallIntegerField(default=7)
    version = models.PositiveIntegerField(default=1)
    # A recompute in progress (all null/zero when none is).
    pending_version = models.PositiveIntegerField(null=True, blank=True)
    pending_window_days = models.PositiveSmallIntegerField(null=True, blank=True)
    pending_half_life_days = models.PositiveSmallIntegerField(null=True, blank=True)
    recompute_up_to_id = models.BigIntegerField(
        null=True, blank=True, help_text="The last customer id when the recompute started; later customers are "
                                         "attributed with both versions as they arrive.")
    recompute_cursor = models.BigIntegerField(default=0, help_text="The last customer id recomputed.")
    recompute_total = models.PositiveIntegerField(default=0)
    recompute_done = models.PositiveIntegerField(default=0)
    recompute_started_at = models.DateTimeField(null=True, blank=True)
    last_recomputed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "attribution settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(window_days__gte=1, window_days__lte=365),
                                   name="attribution_window_range"),
            models.CheckConstraint(condition=models.Q(half_life_days__gte=1, half_life_days__lte=365),
                                   name="attribution_half_life_range"),
            models.CheckConstraint(condition=models.Q(reporting_model__in=[m.value for m in AttributionModel]),
                                   name="attribution_reporting_model_valid"),
        ]

    def __str__(self):
        return f"Attribution settings of organisation {self.organization_id}"

    @property
    def recomputing(self) -> bool:
        return self.pending_version is not None


# --- How visitors are tracked on the organisation's own site (tracking.services.tracking_settings) ---

class TrackingMode(models.TextChoices):
    FULL = "full", "Full: a first-party cookie keeps the click id"
    CONSENT = "consent", "Consent: nothing is stored until the visitor consents"
    COOKIELESS = "cookieless", "Cookieless: the click id only travels in links and form fields"


COOKIE_DAYS_MIN, COOKIE_DAYS_MAX = 1, 395  # 13 months: the longest lifetime European regulators accept


class TrackingSettings(TenantModel):
    """How the organisation tracks visitors: the mode of the snippet on its own site (amb.js reads it
    from /js/amb.js?org=<slug>), the lifetime of the snippet's cookie, and whether the redirect sets
    its visitor cookie `amb_vid` (without it, a visitor is a daily-salted hash of address and user
    agent: the same person on another day is another visitor)."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE,
                                        related_name="tracking_settings")
    mode = models.CharField(max_length=10, choices=TrackingMode.choices, default=TrackingMode.FULL)
    cookie_days = models.PositiveSmallIntegerField(default=30)
    visitor_cookie = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "tracking settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(mode__in=[m.value for m in TrackingMode]),
                                   name="tracking_mode_valid"),
            models.CheckConstraint(condition=models.Q(cookie_days__gte=COOKIE_DAYS_MIN,
                                                      cookie_days__lte=COOKIE_DAYS_MAX),
                                   name="tracking_cookie_days_range"),
        ]

    def __str__(self):
        return f"Tracking settings of organisation {self.organization_id}"


# --- CSV import of leads and sales (tracking.services.imports) -------------------------------

class ImportKind(models.TextChoices):
    LEADS = "leads", "Leads"
    SALES = "sales", "Sales"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ConversionImport(TenantModel):
    """One uploaded CSV file of leads or sales exported from a CRM, its column mapping and,
    once processed, its per-row report. The file's text is kept (bounded) so the import runs
    in the background and can be re-run; re-importing the same rows creates nothing new
    (leads update their customer, sales are idempotent on invoice_id)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=5, choices=ImportKind.choices)
    file_name = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64)
    content = models.TextField(help_text="The file's decoded text.")
    mapping = models.JSONField(default=dict, help_text="Our field name → the file's column header.")
    status = models.CharField(max_length=7, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True,
                              help_text='[{"line": 3, "field": "amount", "message": "…"}, …], header = line 1.')
    failure = models.TextField(blank=True, help_text="Why the whole file failed, if it did.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"], name="import_org_created")]

    def __str__(self):
        return f"{self.get_kind_display()} import {self.file_name or self.public_id}"


class HistoryGeneration(TenantModel):
    """A counter per organisation, raised by every write that changes the sums of a closed day
    (a local day before today): a click processed after midnight, a backdated conversion or
    share, a rebuilt rollup. Caches of closed days' sums (reports.models.RankingSnapshot) are
    keyed by it, so a change to the past retires them in the same transaction that makes it."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE, primary_key=True,
                                        related_name="+")
    generation = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(null=True, blank=True)
