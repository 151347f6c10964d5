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
