"""Rewards: rules turn attributed clicks, leads and sales into money or points, written to an
append-only ledger (one entry per rule, cause and ambassador: a database constraint), paid out in
runs, spent in a catalogue, held by fraud rules, every action in the audit log.

Amounts never change once written; a correction is a new entry (`adjusts` names the one it
corrects). Statuses move forward only (pending → approved → in a payout → paid; held, canceled,
refunded), by rewards.services, each move in the audit log."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from ambassadors.models import Ambassador, AmbassadorGroup
from campaigns.models import Campaign
from tenancy.scoping import TenantModel

HOLDING_DAYS = [(0, "None"), (7, "7 days"), (14, "14 days"), (30, "30 days"), (60, "60 days"), (90, "90 days")]
MINIMUM_PAYOUTS = [(Decimal(v), f"{v}") for v in ("0", "10", "20", "50", "100")]


# --- Rules -------------------------------------------------------------------------------------------

class RewardEvent(models.TextChoices):
    CLICK = "click", "Unique click"
    LEAD = "lead", "Lead"
    SALE = "sale", "Sale"


class RewardUnit(models.TextChoices):
    MONEY = "money", "Money"
    POINTS = "points", "Points"


class AmountKind(models.TextChoices):
    FLAT = "flat", "Flat amount"
    PERCENT = "percent", "Percentage of the sale"


class Split(models.TextChoices):
    MODEL = "model", "Split by the reporting model"
    FIRST_TOUCH = "first_touch", "First touch only"
    LAST_TOUCH = "last_touch", "Last touch only"


class Recurrence(models.TextChoices):
    FIRST_SALE = "first_sale", "First sale only"
    MONTHS = "months", "Sales in the first N months"
    LIFETIME = "lifetime", "Every sale (lifetime)"


class CapPeriod(models.TextChoices):
    DAY = "day", "Per day"
    WEEK = "week", "Per week"
    MONTH = "month", "Per month"


class RewardRule(TenantModel):
    """What an event earns. Programme-wide, or for one campaign; for everyone, or one group or one
    kind of ambassador. Lead and sale rewards are split like credit (the reporting model) or go to
    the first or last touch."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="reward_rules", help_text="Empty: every campaign.")
    group = models.ForeignKey(AmbassadorGroup, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="reward_rules", help_text="Empty: every ambassador.")
    ambassador_kind = models.CharField(max_length=10, blank=True,
                                       choices=[("internal", "Internal"), ("external", "External")],
                                       help_text="Empty: internal and external ambassadors.")
    event = models.CharField(max_length=10, choices=RewardEvent.choices)
    unit = models.CharField(max_length=10, choices=RewardUnit.choices)
    amount_kind = models.CharField(max_length=10, choices=AmountKind.choices, default=AmountKind.FLAT)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                                 validators=[MinValueValidator(Decimal("0.01"))],
                                 help_text="Flat: money in the organisation's currency, or points.")
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True,
                                  validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
                                  help_text="Percentage of the sale's amount (money, in the sale's currency).")
    split = models.CharField(max_length=12, choices=Split.choices, default=Split.MODEL)
    recurrence = models.CharField(max_length=10, choices=Recurrence.choices, default=Recurrence.LIFETIME,
                                  help_text="Sales: which of a customer's sales earn.")
    recurrence_months = models.PositiveSmallIntegerField(null=True, blank=True,
                                                         validators=[MinValueValidator(1), MaxValueValidator(120)])
    cap_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                                     validators=[MinValueValidator(Decimal("0.01"))],
                                     help_text="At most this much per ambassador per period (empty: no cap).")
    cap_period = models.CharField(max_length=5, choices=CapPeriod.choices, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event", "name", "pk"]
        constraints = [
            models.CheckConstraint(name="reward_rule_amount_matches_kind", condition=(
                Q(amount_kind="flat", amount__isnull=False, percent__isnull=True)
                | Q(amount_kind="percent", percent__isnull=False, amount__isnull=True, event="sale", unit="money"))),
            models.CheckConstraint(name="reward_rule_cap_has_period", condition=(
                Q(cap_amount__isnull=True, cap_period="") | Q(cap_amount__isnull=False) & ~Q(cap_period=""))),
            models.CheckConstraint(name="reward_rule_months_when_months", condition=(
                Q(recurrence="months", recurrence_months__isnull=False)
                | ~Q(recurrence="months") & Q(recurrence_months__isnull=True))),
            models.CheckConstraint(name="reward_rule_dates_ordered", condition=(
                Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")))),
        ]

    def __str__(self):
        return self.name


class RewardSettings(TenantModel):
    """An organisation's reward settings (one row, made on first use)."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE,
                                        related_name="reward_settings")
    point_value = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0.0000"),
                                      validators=[MinValueValidator(Decimal("0"))],
                                      help_text="What one point is worth in the organisation's currency (for ROI).")
    minimum_payout = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("0"),
                                         choices=MINIMUM_PAYOUTS)
    money_holding_days = models.PositiveSmallIntegerField(default=30, choices=HOLDING_DAYS)
    points_holding_days = models.PositiveSmallIntegerField(default=0, choices=HOLDING_DAYS)
    max_clicks_per_minute = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1)],
        help_text="Clicks on one link faster than this hold that link's earnings for review.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "reward settings"

    def __str__(self):
        return f"Reward settings of organisation {self.organization_id}"


class GroupHolding(TenantModel):
    """A group's own holding periods (an ambassador in several groups waits the longest)."""

    group = models.OneToOneField(AmbassadorGroup, on_delete=models.CASCADE, related_name="holding")
    money_holding_days = models.PositiveSmallIntegerField(choices=HOLDING_DAYS)
    points_holding_days = models.PositiveSmallIntegerField(choices=HOLDING_DAYS)

    def __str__(self):
        return f"Holding of group {self.group_id}"


# --- The ledger --------------------------------------------------------------------------------------

class EntryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    IN_PAYOUT = "in_payout", "In a payout"
    PAID = "paid", "Paid"
    HELD = "held", "Held"
    CANCELED = "canceled", "Canceled"
    REFUNDED = "refunded", "Refunded"


LIVE_STATUSES = (EntryStatus.PENDING, EntryStatus.APPROVED, EntryStatus.IN_PAYOUT, EntryStatus.PAID,
                 EntryStatus.HELD)


class EarningEntry(TenantModel):
    """One amount earned (or, when negative, taken back) by one ambassador under one rule for one
    cause. `cause` names the source event and, for corrections, what corrected it:
    "click:<click id>", "lead:<customer id>", "sale:<sale id>", then e.g. "sale:<id>:refund" or
    "sale:<id>:v<attribution version>". Unique per (rule, cause, ambassador) in the database, so
    a retried computation writes nothing twice."""

    # A status move must be a HOT update in PostgreSQL (the new row version on the same page, no
    # index touched): a payout run moves every approved entry, and rewriting eight indexes per
    # row thrashed the buffers (60 s for 1.5 M entries instead of 5). So no index holds a column
    # a move changes (status, payout_item, fraud_case aside: holds are rare), and the table
    # keeps half of each page free (fillfactor 50, migration 0005). Queues are found by time
    # instead: pending entries by approve_after (rewards.services.ledger.approve_due). The
    # organisation, rule, ambassador and campaign are reached through composite indexes that all
    # lead with the organisation; the rare links by partial ones.
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=False)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    rule = models.ForeignKey(RewardRule, on_delete=models.PROTECT, related_name="entries", db_index=False)
    ambassador = models.ForeignKey(Ambassador, on_delete=models.PROTECT, related_name="earnings", db_index=False)
    cause = models.CharField(max_length=120)
    event = models.CharField(max_length=10, choices=RewardEvent.choices)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 db_index=False)
    customer_id = models.BigIntegerField(null=True, blank=True)
    sale_id = models.BigIntegerField(null=True, blank=True)
    click_id = models.CharField(max_length=22, blank=True)
    unit = models.CharField(max_length=10, choices=RewardUnit.choices)
    currency = models.CharField(max_length=3, blank=True, help_text="Money: the sale's (or the organisation's) "
                                                                    "currency; empty for points.")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=10, choices=EntryStatus.choices, default=EntryStatus.PENDING)
    earned_at = models.DateTimeField(help_text="When the event happened: ROI counts rewards by this date.")
    approve_after = models.DateTimeField(help_text="The end of the holding period.")
    adjusts = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments",
                                db_index=False)
    # No database foreign key (its check ran once per claimed entry) and no index: an item's
    # entries are found through their ambassador (an item is one ambassador's); PROTECT still
    # applies in Django, and items are never deleted once they hold entries.
    payout_item = models.ForeignKey("PayoutItem", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="entries", db_index=False, db_constraint=False)
    fraud_case = models.ForeignKey("FraudCase", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="entries", db_index=False)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-earned_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "rule", "cause", "ambassador"],
                                    name="one_entry_per_rule_cause_ambassador"),
            models.CheckConstraint(name="entry_currency_matches_unit", condition=(
                Q(unit="money") & ~Q(currency="") | Q(unit="points", currency=""))),
            models.CheckConstraint(name="entry_amount_not_zero", condition=~Q(amount=0)),
            models.CheckConstraint(name="entry_status_valid",
                                   condition=Q(status__in=[s.value for s in EntryStatus])),
            models.CheckConstraint(name="entry_in_payout_has_item", condition=(
                Q(status__in=["in_payout", "paid"], payout_item__isnull=False)
                | ~Q(status__in=["in_payout", "paid"]))),
        ]
        indexes = [
            models.Index(fields=["organization", "approve_after"], name="entry_org_due"),
            models.Index(fields=["organization", "ambassador", "earned_at"], name="entry_org_ambassador_earned"),
            models.Index(fields=["organization", "earned_at"], name="entry_org_earned"),
            models.Index(fields=["organization", "sale_id"], name="entry_org_sale"),
            models.Index(fields=["adjusts"], condition=Q(adjusts__isnull=False), name="entry_adjusts"),
            models.Index(fields=["fraud_case"], condition=Q(fraud_case__isnull=False), name="entry_fraud_case"),
        ]

    def __str__(self):
        return f"{self.amount} {self.currency or 'points'} for {self.cause}"


# How long before approve_due's last run a transaction may have written a pending entry whose
# holding ended before that run (it was not visible then): the next run looks back this far.
APPROVAL_MARGIN = timedelta(days=1)


class EarningsCursor(TenantModel):
    """How far earnings have been computed for an organisation (clicks by row id; conversions by the
    credits' attribution), so each run reads only what is new."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE,
                                        related_name="earnings_cursor")
    last_click_pk = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    # The `now` of the last approve_due (rewards.services.ledger): see pending_floor.
    approved_through = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Earnings cursor of organisation {self.organization_id}"

    def pending_floor(self, now: datetime) -> datetime | None:
        """Every entry still pending has its approve_after after this (None: no bound known, or
        `now` is before the last approval). An entry is written approved when its holding is
        already over, and approve_due approved what came due up to approved_through; the margin
        covers a transaction that wrote entries while approve_due ran."""
        if self.approved_through is None or now < self.approved_through:
            return None
        return self.approved_through - APPROVAL_MARGIN


# --- Payouts -------------------------------------------------------------------------------------------

class PayoutStatus(models.TextChoices):
    DRAFT = "draft", "Draft (review)"
    CONFIRMED = "confirmed", "Confirmed"
    PAID = "paid", "Paid"
    CANCELED = "canceled", "Canceled"


class PayoutRun(TenantModel):
    """Approved money entries grouped per ambassador and currency, reviewed, confirmed, exported,
    marked paid."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    excluded = models.ManyToManyField(Ambassador, blank=True, related_name="+",
                                      help_text="Ambassadors the admin left out of this run.")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"Payout run {self.public_id}"


class PayoutItem(TenantModel):
    """One ambassador's total in one currency in one run (negative adjustments netted in)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    run = models.ForeignKey(PayoutRun, on_delete=models.CASCADE, related_name="items")
    ambassador = models.ForeignKey(Ambassador, on_delete=models.PROTECT, related_name="payout_items")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    entry_count = models.PositiveIntegerField()

    class Meta:
        ordering = ["run", "ambassador", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["run", "ambassador", "currency"],
                                    name="one_item_per_run_ambassador_currency"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_item_positive"),
        ]

    def __str__(self):
        return f"{self.amount} {self.currency} to ambassador {self.ambassador_id}"


class PayoutMethod(models.TextChoices):
    PAYPAL = "paypal", "PayPal"
    BANK = "bank", "Bank transfer (IBAN)"


class PayoutDetails(TenantModel):
    """Where an ambassador is paid. The details are encrypted at rest (rewards.crypto, MultiFernet);
    `fingerprint` is a keyed hash of the normalised details, to find two ambassadors sharing them;
    `masked` is all that pages and the API ever show."""

    ambassador = models.OneToOneField(Ambassador, on_delete=models.CASCADE, related_name="payout_details")
    method = models.CharField(max_length=10, choices=PayoutMethod.choices)
    encrypted = models.TextField()
    fingerprint = models.CharField(max_length=64, db_index=True)
    masked = models.CharField(max_length=80)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "payout details"

    def __str__(self):
        return f"{self.get_method_display()} {self.masked}"


# --- Points catalogue --------------------------------------------------------------------------------

class CatalogueItem(TenantModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=2000)
    points_cost = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    stock = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    per_ambassador_limit = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)],
                                                       help_text="Empty: no limit.")
    groups = models.ManyToManyField(AmbassadorGroup, blank=True, related_name="catalogue_items",
                                    help_text="Empty: every ambassador.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["points_cost", "name"]

    def __str__(self):
        return self.name


class RedemptionStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    FULFILLED = "fulfilled", "Fulfilled"
    DECLINED = "declined", "Declined (points returned)"


class Redemption(TenantModel):
    """Points spent on a catalogue item. The points leave the spendable balance when requested and
    come back if declined (balance = approved points earned − points of redemptions not declined)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ambassador = models.ForeignKey(Ambassador, on_delete=models.PROTECT, related_name="redemptions")
    item = models.ForeignKey(CatalogueItem, on_delete=models.PROTECT, related_name="redemptions")
    points = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=RedemptionStatus.choices, default=RedemptionStatus.REQUESTED)
    needs_approval = models.BooleanField(default=False)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self):
        return f"{self.item} for ambassador {self.ambassador_id}"


# --- Fraud -------------------------------------------------------------------------------------------

class FraudReason(models.TextChoices):
    SAME_EMAIL = "same_email", "The customer's e-mail is the ambassador's"
    SAME_DOMAIN = "same_domain", "The customer's e-mail shares the ambassador's company domain"
    DISPOSABLE = "disposable", "The customer used a disposable e-mail address"
    REFUND_RATE = "refund_rate", "The ambassador's refund rate over 90 days is above 25 %"
    VELOCITY = "velocity", "Clicks on one link arrived faster than the set velocity"
    SHARED_DETAILS = "shared_details", "Payout details are shared with another ambassador"
    MANUAL = "manual", "Held by an admin for review"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    RELEASED = "released", "Released"
    CONFIRMED = "confirmed", "Fraud confirmed"


class FraudCase(TenantModel):
    """An ambassador's held earnings and why. One open case per ambassador (a constraint); released by
    an admin, or by itself after 30 days without a new signal; confirmed fraud cancels its entries."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ambassador = models.ForeignKey(Ambassador, on_delete=models.PROTECT, related_name="fraud_cases")
    status = models.CharField(max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    opened_at = models.DateTimeField()
    last_signal_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    close_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-last_signal_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["ambassador"], condition=Q(status="open"),
                                               name="one_open_case_per_ambassador")]

    def __str__(self):
        return f"Case {self.public_id} ({self.status})"


class FraudSignal(TenantModel):
    """One reason a case holds earnings (unique per case, reason and subject: re-detecting adds nothing)."""

    case = models.ForeignKey(FraudCase, on_delete=models.CASCADE, related_name="signals")
    reason = models.CharField(max_length=20, choices=FraudReason.choices)
    subject = models.CharField(max_length=120, help_text="What it is about: an entry's cause, a link, details.")
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "reason", "subject"], name="one_signal_per_subject")]

    def __str__(self):
        return f"{self.reason}: {self.subject}"


# --- Audit log -------------------------------------------------------------------------------------------

class AuditEntry(TenantModel):
    """Who did what to money or points, when, with the values before and after. Append-only: the
    database refuses any UPDATE of these rows (a trigger, rewards/migrations); they are deleted only
    with their organisation."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    at = models.DateTimeField()
    # DO_NOTHING, no constraint: a deleted user's entries keep their id (and actor_label) unchanged.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                              related_name="+", db_constraint=False)
    actor_label = models.CharField(max_length=200, help_text="The actor's e-mail then, or the system process.")
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["organization", "at"], name="audit_org_at")]

    def __str__(self):
        return f"{self.action} {self.object_type} {self.object_id}"
