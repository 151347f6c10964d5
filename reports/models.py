import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from tenancy.scoping import TenantModel


class PointsRules(TenantModel):
    """How an organisation's ambassadors earn points, computed from events (never typed in):
    shares, unique clicks (bots and self-clicks earn nothing: they are never unique), leads
    and revenue credited under the reporting model."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE, related_name="points_rules")
    per_share = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("1.00"),
                                    validators=[MinValueValidator(Decimal("0"))])
    per_unique_click = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("1.00"),
                                           validators=[MinValueValidator(Decimal("0"))])
    per_lead = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("25.00"),
                                   validators=[MinValueValidator(Decimal("0"))])
    per_revenue_unit = models.DecimalField(
        max_digits=8, decimal_places=4, default=Decimal("0.1000"), validators=[MinValueValidator(Decimal("0"))],
        help_text="Points per 1.00 of revenue credited, in the organisation's currency.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "points rules"

    def __str__(self):
        return f"Points rules of organisation {self.organization_id}"


class Frequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly (Mondays)"
    MONTHLY = "monthly", "Monthly (the 1st)"


class ReportSubscription(TenantModel):
    """A manager's e-mail digest: key figures of the last week or month, CSV attached, sent
    in the organisation's time zone by the beat."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_subscriptions")
    frequency = models.CharField(max_length=7, choices=Frequency.choices)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_period_end = models.DateField(null=True, blank=True,
                                       help_text="The last day of the last period sent: a period is sent once.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user", "frequency"],
                                               name="one_subscription_per_user_frequency")]

    def __str__(self):
        return f"{self.get_frequency_display()} digest for user {self.user_id}"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Being produced"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


PENDING_STATUSES = (ReportStatus.QUEUED, ReportStatus.RUNNING)


class ProgrammeReport(TenantModel):
    """A board-ready PDF of the programme report for a period (reports.pdf), produced in the
    background (reports.services.request_programme_report → the task → produce_programme_report)
    and kept through Django's storage API under an unguessable name. One report of a period is
    being produced at a time (queued or running): asking again for the same period while one is
    under way joins it instead of starting another."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    period_key = models.CharField(max_length=10, default="custom",
                                  help_text="The period as asked for (a preset such as 30d, or custom).")
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=7, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    failure = models.TextField(blank=True, help_text="Why it could not be produced, if it failed.")
    file = models.CharField(max_length=255, blank=True, help_text="Its name in the default storage, once ready.")
    size = models.PositiveIntegerField(default=0, help_text="Bytes of the PDF.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    email_user_ids = models.JSONField(default=list, blank=True,
                                      help_text="Users to e-mail the download link to once it is ready.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"], name="programme_report_org_created")]
        constraints = [
            models.UniqueConstraint(fields=["organization", "period_start", "period_end"],
                                    condition=models.Q(status__in=["queued", "running"]),
                                    name="one_pending_programme_report_per_period"),
            models.CheckConstraint(condition=models.Q(period_end__gte=models.F("period_start")),
                                   name="programme_report_period_in_order"),
        ]

    def __str__(self):
        return f"Programme report {self.period_start} – {self.period_end} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_STATUSES


class RankingSnapshot(TenantModel):
    """Each ambassador's sums over the closed days of a leaderboard's two periods (the period up
    to yesterday and the period before it), so that a leaderboard of tens of thousands of
    ambassadors adds today's rows to them instead of summing months of rollups on every view.

    A cache, never a source: it is keyed by everything its sums depend on (the credits
    version and model, the days, and the organisation's history generation, which every change
    to a closed day raises: tracking.services.history), so a stale one is never read; built when
    first needed (reports.selectors.snapshots), old ones deleted then."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    model = models.CharField(max_length=20)
    before_start = models.DateField()
    now_start = models.DateField()
    closed_end = models.DateField(help_text="The last day summed (the day before the snapshot was built, or the "
                                            "period's end if that is earlier).")
    time_zone = models.CharField(max_length=64, help_text="Of the days (shares are counted by their local day).")
    history_generation = models.BigIntegerField()
    ambassadors = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "version", "model", "before_start", "now_start",
                                            "closed_end", "time_zone", "history_generation"],
                                    name="one_ranking_snapshot_per_key"),
            models.CheckConstraint(condition=models.Q(before_start__lt=models.F("now_start"))
                                   & models.Q(now_start__lte=models.F("closed_end")),
                                   name="ranking_snapshot_days_in_order"),
        ]

    def __str__(self):
        return f"{self.model} v{self.version}: {self.before_start}…{self.now_start}…{self.closed_end}"


class RankingSnapshotRow(models.Model):
    """One ambassador's sums in a RankingSnapshot (leads and customers in 1/10,000, revenue in
    cents, as the rollups keep them)."""

    snapshot = models.ForeignKey(RankingSnapshot, on_delete=models.CASCADE, related_name="rows")
    ambassador_id = models.BigIntegerField()
    shares_now = models.BigIntegerField(default=0)
    shares_before = models.BigIntegerField(default=0)
    clicks_now = models.BigIntegerField(default=0)
    clicks_before = models.BigIntegerField(default=0)
    unique_clicks_now = models.BigIntegerField(default=0)
    unique_clicks_before = models.BigIntegerField(default=0)
    leads_now = models.BigIntegerField(default=0)
    leads_before = models.BigIntegerField(default=0)
    customers_now = models.BigIntegerField(default=0)
    customers_before = models.BigIntegerField(default=0)
    revenue_cents_now = models.BigIntegerField(default=0)
    revenue_cents_before = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "ambassador_id"],
                                               name="one_snapshot_row_per_ambassador")]

    def __str__(self):
        return f"ambassador {self.ambassador_id} in {self.snapshot_id}"
