"""Factories for tests: one for every model of every app. Tenant-owned rows are created inside
their organisation's scope; rows that belong to another (a link's clicks, a customer's sales)
take their organisation from it.

A factory writes its own row only: what a service would write beside it (rollups, attribution)
is not written. To build a programme the way production does (clicks processed, leads and
sales recorded and attributed), use tests/support/scenario.py."""

import hashlib
import secrets
from datetime import date, timedelta
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import User
from ambassadors.models import Ambassador, AmbassadorGroup, Invitation, JoinPage, Kind, SocialProfile, Status
from campaigns.codes import new_code
from campaigns.models import (
    Campaign,
    CampaignCost,
    CampaignImage,
    CampaignMessage,
    CampaignStatus,
    Domain,
    ShareEvent,
    TrackedLink,
)
from common.models import OutboxEvent
from integrations.models import (
    DeliveryAttempt,
    InboundEvent,
    InboundOutcome,
    IntegrationConnection,
    Provider,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)
from notifications.models import Delivery, DeliveryChannel, NotificationSettings, Preference
from notifications.models import Frequency as NotifyFrequency
from notifications.models import Kind as NotifyKind
from reports.models import (
    Frequency,
    PointsRules,
    ProgrammeReport,
    RankingSnapshot,
    RankingSnapshotRow,
    ReportSubscription,
)
from rewards.models import (
    AuditEntry,
    CaseStatus,
    CatalogueItem,
    EarningEntry,
    EarningsCursor,
    FraudCase,
    FraudReason,
    FraudSignal,
    GroupHolding,
    PayoutDetails,
    PayoutItem,
    PayoutRun,
    Redemption,
    RewardRule,
    RewardSettings,
)
from tenancy.models import ApiKey, Membership, Organization, Role
from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import (
    AttributionModel,
    AttributionSettings,
    Click,
    ConversionImport,
    Credit,
    CreditKind,
    Customer,
    DailyAmbassadorClicks,
    DailyAmbassadorCredits,
    DailyCampaignCredits,
    DailyChannelClicks,
    DailyChannelCredits,
    DailyClickRollup,
    DailyCreditRollup,
    DailySalt,
    ExchangeRate,
    HistoryGeneration,
    ImportKind,
    PortalVisitor,
    RateSource,
    RawClick,
    Sale,
    SaleStatus,
    TrackingMode,
    TrackingSettings,
    WeeklyAmbassadorClicks,
    WeeklyAmbassadorCredits,
)

PASSWORD = "correct-horse-battery"
BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
           "Safari/537.36")


# --- accounts and tenancy -----------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"verified": True, "primary": True}
            )


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")
    time_zone = "Europe/Paris"
    currency = "EUR"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with tenant_scope(kwargs["organization"]):
            return super()._create(model_class, *args, **kwargs)


class MembershipFactory(TenantFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.AMBASSADOR


# --- ambassadors -------------------------------------------------------------------------------


class GroupFactory(TenantFactory):
    class Meta:
        model = AmbassadorGroup

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Group {n}")


class AmbassadorFactory(TenantFactory):
    class Meta:
        model = Ambassador

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda o: o.user.email if o.user else "someone@example.com")
    display_name = factory.Faker("name")
    kind = Kind.INTERNAL
    status = Status.ACTIVE
    hourly_rate = Decimal("60.00")
    joined_at = factory.LazyAttribute(lambda o: timezone.now() if o.status == Status.ACTIVE else None)


# --- tenancy: API keys, and the one-per-organisation rows -------------------------------------


class OrganizationRowFactory(TenantFactory):
    """The organisation's one row of a settings model, which the product creates on first use:
    created, or updated with the values given if it exists already."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        organization = kwargs.pop("organization")
        with tenant_scope(organization):
            row, _ = model_class.objects.update_or_create(organization=organization, defaults=kwargs)
        return row


class ApiKeyFactory(TenantFactory):
    """A key made by tenancy.services.create_api_key; the full key, which the product shows only
    once, is on `.full_key`."""

    class Meta:
        model = ApiKey

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"CRM {n}")
    created_by = None

    @classmethod
    def _create(cls, model_class, *args, organization, name, created_by=None, **fields):
        key, full_key = create_api_key(organization=organization, name=name, created_by=created_by)
        if fields:  # revoked_at, last_used_at: not the service's to set at creation
            with tenant_scope(organization):
                ApiKey.objects.filter(pk=key.pk).update(**fields)
                key.refresh_from_db()
        key.full_key = full_key
        return key


# --- ambassadors (the rest) ---------------------------------------------------------------------


class SocialProfileFactory(TenantFactory):
    class Meta:
        model = SocialProfile

    ambassador = factory.SubFactory(AmbassadorFactory)
    organization = factory.LazyAttribute(lambda o: o.ambassador.organization)
    network = "linkedin"
    handle = factory.Sequence(lambda n: f"person{n}")
    url = factory.LazyAttribute(lambda o: f"https://www.linkedin.com/in/{o.handle}")
    followers = 500


class InvitationFactory(TenantFactory):
    """An invitation still open, of an invited ambassador (no user yet)."""

    class Meta:
        model = Invitation

    ambassador = factory.SubFactory(AmbassadorFactory, user=None, status=Status.INVITED,
                                    email=factory.Sequence(lambda n: f"invitee{n}@example.com"))
    organization = factory.LazyAttribute(lambda o: o.ambassador.organization)
    email = factory.LazyAttribute(lambda o: o.ambassador.email)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))


class JoinPageFactory(OrganizationRowFactory):
    class Meta:
        model = JoinPage

    organization = factory.SubFactory(OrganizationFactory)
    enabled = True


# --- campaigns ----------------------------------------------------------------------------------


class CampaignFactory(TenantFactory):
    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    destination_url = "https://www.example.com/webinar?ref=site#signup"
    status = CampaignStatus.ACTIVE


class MessageFactory(TenantFactory):
    class Meta:
        model = CampaignMessage

    campaign = factory.SubFactory(CampaignFactory)
    organization = factory.LazyAttribute(lambda o: o.campaign.organization)
    channel = "linkedin"
    text = "Join our webinar on ambassador programmes: {link}"


class CostFactory(TenantFactory):
    class Meta:
        model = CampaignCost

    campaign = factory.SubFactory(CampaignFactory)
    organization = factory.LazyAttribute(lambda o: o.campaign.organization)
    date = date(2026, 3, 1)
    category = "media"
    amount = Decimal("100.00")


class LinkFactory(TenantFactory):
    class Meta:
        model = TrackedLink

    campaign = factory.SubFactory(CampaignFactory)
    organization = factory.LazyAttribute(lambda o: o.campaign.organization)
    ambassador = factory.SubFactory(AmbassadorFactory, organization=factory.SelfAttribute("..organization"))
    code = factory.LazyFunction(new_code)


class ShareEventFactory(TenantFactory):
    class Meta:
        model = ShareEvent

    link = factory.SubFactory(LinkFactory)
    organization = factory.LazyAttribute(lambda o: o.link.organization)
    campaign = factory.LazyAttribute(lambda o: o.link.campaign)
    ambassador = factory.LazyAttribute(lambda o: o.link.ambassador)
    channel = "linkedin"
    shared_at = factory.LazyFunction(timezone.now)


def _tiny_png(width=64, height=40):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 60, 30)).save(buffer, "PNG")
    return buffer.getvalue()


class CampaignImageFactory(TenantFactory):
    """A stored campaign image row (a real PNG and thumbnail in the default storage), written
    directly: uploads go through campaigns.services.images, which checks the content."""

    class Meta:
        model = CampaignImage

    campaign = factory.SubFactory(CampaignFactory)
    organization = factory.LazyAttribute(lambda o: o.campaign.organization)
    file = factory.django.FileField(filename="poster.png", data=factory.LazyFunction(_tiny_png))
    thumbnail = factory.django.FileField(filename="poster-thumb.png", data=factory.LazyFunction(_tiny_png))
    format = "PNG"
    width = 64
    height = 40
    size_bytes = 200
    original_name = "poster.png"


class DomainFactory(TenantFactory):
    class Meta:
        model = Domain

    organization = factory.SubFactory(OrganizationFactory)
    host = factory.Sequence(lambda n: f"links{n}.example.com")


# --- tracking -----------------------------------------------------------------------------------
# A link's clicks, a customer's sales and credits take their organisation from the link or the
# customer; a link made for a credit is made in the credit's organisation.


def _in_organization(path: str):
    """A LinkFactory SubFactory whose campaign (and so the link and its ambassador) is in the
    organisation at `path` (seen from the campaign)."""
    return factory.SubFactory(LinkFactory, campaign__organization=factory.SelfAttribute(path))


class RawClickFactory(TenantFactory):
    """A click as the redirect stores it (tracking.capture), waiting for click processing."""

    class Meta:
        model = RawClick

    class Params:
        link = factory.SubFactory(LinkFactory)

    organization = factory.LazyAttribute(lambda o: o.link.organization)
    link_id = factory.LazyAttribute(lambda o: o.link.pk)
    clicked_at = factory.LazyFunction(timezone.now)
    click_id = factory.LazyAttribute(lambda o: new_click_id(o.clicked_at.timestamp()))
    visitor_id = factory.LazyFunction(new_visitor_id)
    ip_hash = "ab" * 16
    user_agent = BROWSER
    referrer_host = ""
    channel_hint = ""


class ClickFactory(TenantFactory):
    """A processed click, as click processing stores it (a credited, unique visit by default), but
    without the rollups processing adds to: attribution sees it, reports that read rollups don't."""

    class Meta:
        model = Click

    link = factory.SubFactory(LinkFactory)
    organization = factory.LazyAttribute(lambda o: o.link.organization)
    campaign_id = factory.LazyAttribute(lambda o: o.link.campaign_id)
    ambassador_id = factory.LazyAttribute(lambda o: o.link.ambassador_id)
    clicked_at = factory.LazyFunction(timezone.now)
    day = factory.LazyAttribute(lambda o: o.clicked_at.astimezone(o.organization.tzinfo).date())
    click_id = factory.LazyAttribute(lambda o: new_click_id(o.clicked_at.timestamp()))
    visitor_id = factory.LazyFunction(new_visitor_id)
    ip_hash = "x" * 32
    channel = "direct"
    is_unique = True


class DailySaltFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailySalt
        django_get_or_create = ("day",)

    day = factory.LazyFunction(lambda: timezone.now().date())
    salt = factory.LazyFunction(lambda: secrets.token_hex(32))


class PortalVisitorFactory(factory.django.DjangoModelFactory):
    """A visitor id seen on a user's portal session: their clicks on their own links are self-clicks."""

    class Meta:
        model = PortalVisitor

    user = factory.SubFactory(UserFactory)
    visitor_id = factory.LazyFunction(new_visitor_id)


class CustomerFactory(TenantFactory):
    """A lead as stored, not attributed yet (tracking.services.conversions.record_lead applies the
    rules: identity, the first lead, pending sales)."""

    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    external_id = factory.Sequence(lambda n: f"cus_{n}")
    visitor_id = factory.LazyFunction(new_visitor_id)
    first_lead_at = factory.LazyFunction(timezone.now)
    last_lead_at = factory.SelfAttribute("first_lead_at")


class SaleFactory(TenantFactory):
    """A paid sale of a customer, not attributed yet (customer=None needs organization=)."""

    class Meta:
        model = Sale

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.LazyAttribute(lambda o: o.customer.organization)
    invoice_id = factory.Sequence(lambda n: f"inv_{n}")
    customer_external_id = factory.LazyAttribute(lambda o: o.customer.external_id if o.customer else "cus_unknown")
    amount = Decimal("100.00")
    currency = factory.LazyAttribute(lambda o: o.organization.currency)
    occurred_at = factory.LazyFunction(timezone.now)
    status = SaleStatus.PAID


class CreditFactory(TenantFactory):
    """One credit row as attribution writes it: a customer's whole lead (kind lead) by default; with
    `sale=` and kind sale, the sale's whole amount. Its rollups are not written."""

    class Meta:
        model = Credit

    class Params:
        link = _in_organization("...organization")

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.LazyAttribute(lambda o: o.customer.organization)
    kind = CreditKind.LEAD
    sale = None
    model = AttributionModel.LINEAR
    ambassador_id = factory.LazyAttribute(lambda o: o.link.ambassador_id)
    link_id = factory.LazyAttribute(lambda o: o.link.pk)
    campaign_id = factory.LazyAttribute(lambda o: o.link.campaign_id)
    amount = factory.LazyAttribute(lambda o: o.sale.amount if o.kind == CreditKind.SALE else Decimal("0"))
    lead_share = factory.LazyAttribute(lambda o: Decimal("0") if o.kind == CreditKind.SALE else Decimal("1.0000"))
    converted_at = factory.LazyAttribute(lambda o: o.sale.occurred_at if o.sale else o.customer.first_lead_at)
    version = 1


class AttributionSettingsFactory(OrganizationRowFactory):
    class Meta:
        model = AttributionSettings

    organization = factory.SubFactory(OrganizationFactory)
    reporting_model = AttributionModel.LINEAR
    window_days = 30
    half_life_days = 7


class TrackingSettingsFactory(OrganizationRowFactory):
    class Meta:
        model = TrackingSettings

    organization = factory.SubFactory(OrganizationFactory)
    mode = TrackingMode.FULL
    cookie_days = 30
    visitor_cookie = True


IMPORT_FILES = {
    ImportKind.SALES: ("Invoice ID,Customer ID,Amount,Sale date\ninv-1,cus-1,10.00,2026-01-05\n",
                       {"invoice_id": "Invoice ID", "customer_external_id": "Customer ID", "amount": "Amount",
                        "occurred_at": "Sale date"}),
    ImportKind.LEADS: ("Customer ID,E-mail,Lead date\ncus-1,ann@example.com,2026-01-04\n",
                       {"customer_external_id": "Customer ID", "email": "E-mail", "occurred_at": "Lead date"}),
}


class ConversionImportFactory(TenantFactory):
    """A queued CSV import of one row, as tracking.services.imports stores an accepted upload."""

    class Meta:
        model = ConversionImport

    organization = factory.SubFactory(OrganizationFactory)
    kind = ImportKind.SALES
    file_name = factory.LazyAttribute(lambda o: f"{o.kind}.csv")
    content = factory.LazyAttribute(lambda o: IMPORT_FILES[o.kind][0])
    file_sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.content.encode()).hexdigest())
    mapping = factory.LazyAttribute(lambda o: dict(IMPORT_FILES[o.kind][1]))


# Rollup rows, one table at a time (tests.factories.click_rollup writes a click rollup the way
# click processing does, with the per-ambassador rollups beside it).


class DailyClickRollupFactory(TenantFactory):
    class Meta:
        model = DailyClickRollup

    class Params:
        link = factory.SubFactory(LinkFactory)

    organization = factory.LazyAttribute(lambda o: o.link.organization)
    campaign_id = factory.LazyAttribute(lambda o: o.link.campaign_id)
    ambassador_id = factory.LazyAttribute(lambda o: o.link.ambassador_id)
    channel = "linkedin"
    day = factory.LazyFunction(lambda: timezone.now().date())
    total = factory.LazyAttribute(lambda o: o.clicks + o.bot_clicks + o.self_clicks)
    clicks = 1
    unique_clicks = 1
    bot_clicks = 0
    self_clicks = 0


class _AmbassadorRollupFactory(TenantFactory):
    class Meta:
        abstract = True

    class Params:
        ambassador = factory.SubFactory(AmbassadorFactory)

    organization = factory.LazyAttribute(lambda o: o.ambassador.organization)
    ambassador_id = factory.LazyAttribute(lambda o: o.ambassador.pk)


class DailyAmbassadorClicksFactory(_AmbassadorRollupFactory):
    class Meta:
        model = DailyAmbassadorClicks

    day = factory.LazyFunction(lambda: timezone.now().date())
    total = factory.LazyAttribute(lambda o: o.clicks + o.bot_clicks + o.self_clicks)
    clicks = 1
    unique_clicks = 1
    bot_clicks = 0
    self_clicks = 0


class WeeklyAmbassadorClicksFactory(DailyAmbassadorClicksFactory):
    class Meta:
        model = WeeklyAmbassadorClicks
        exclude = ("day",)

    week = factory.LazyAttribute(lambda o: o.day - timedelta(days=o.day.weekday()))  # its Monday


class _CreditSumsFactory(TenantFactory):
    """Leads and customers in 1/10,000, revenue in cents (tracking.models.CreditSums)."""

    class Meta:
        abstract = True

    version = 1
    model = AttributionModel.LINEAR
    leads = 10_000
    customers = 0
    revenue_cents = 0


class DailyCreditRollupFactory(_CreditSumsFactory):
    class Meta:
        model = DailyCreditRollup

    class Params:
        link = factory.SubFactory(LinkFactory)

    organization = factory.LazyAttribute(lambda o: o.link.organization)
    campaign_id = factory.LazyAttribute(lambda o: o.link.campaign_id)
    ambassador_id = factory.LazyAttribute(lambda o: o.link.ambassador_id)
    day = factory.LazyFunction(lambda: timezone.now().date())


class DailyChannelClicksFactory(TenantFactory):
    """Clicks per organisation × day × campaign × channel (tracking's channel split summary)."""

    class Meta:
        model = DailyChannelClicks

    class Params:
        campaign = factory.SubFactory(CampaignFactory)

    organization = factory.LazyAttribute(lambda o: o.campaign.organization)
    campaign_id = factory.LazyAttribute(lambda o: o.campaign.pk)
    channel = "linkedin"
    day = factory.LazyFunction(lambda: timezone.now().date())
    total = 1
    clicks = 1
    unique_clicks = 1


class DailyChannelCreditsFactory(_CreditSumsFactory):
    class Meta:
        model = DailyChannelCredits

    class Params:
        campaign = factory.SubFactory(CampaignFactory)

    organization = factory.LazyAttribute(lambda o: o.campaign.organization)
    campaign_id = factory.LazyAttribute(lambda o: o.campaign.pk)
    channel = "linkedin"
    day = factory.LazyFunction(lambda: timezone.now().date())


class DailyAmbassadorCreditsFactory(_CreditSumsFactory):
    class Meta:
        model = DailyAmbassadorCredits

    class Params:
        ambassador = factory.SubFactory(AmbassadorFactory)

    organization = factory.LazyAttribute(lambda o: o.ambassador.organization)
    ambassador_id = factory.LazyAttribute(lambda o: o.ambassador.pk)
    day = factory.LazyFunction(lambda: timezone.now().date())


class WeeklyAmbassadorCreditsFactory(DailyAmbassadorCreditsFactory):
    class Meta:
        model = WeeklyAmbassadorCredits
        exclude = ("day",)

    week = factory.LazyAttribute(lambda o: o.day - timedelta(days=o.day.weekday()))  # its Monday


class DailyCampaignCreditsFactory(_CreditSumsFactory):
    class Meta:
        model = DailyCampaignCredits

    class Params:
        campaign = factory.SubFactory(CampaignFactory)

    organization = factory.LazyAttribute(lambda o: o.campaign.organization)
    campaign_id = factory.LazyAttribute(lambda o: o.campaign.pk)
    day = factory.LazyFunction(lambda: timezone.now().date())


# --- reports ------------------------------------------------------------------------------------


class PointsRulesFactory(OrganizationRowFactory):
    class Meta:
        model = PointsRules

    organization = factory.SubFactory(OrganizationFactory)
    per_share = Decimal("1.00")
    per_unique_click = Decimal("1.00")
    per_lead = Decimal("25.00")
    per_revenue_unit = Decimal("0.1000")


class ReportSubscriptionFactory(TenantFactory):
    """A manager's digest (the user is made a manager of the organisation unless given)."""

    class Meta:
        model = ReportSubscription

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.LazyAttribute(lambda o: member(o.organization, Role.MANAGER))
    frequency = Frequency.WEEKLY


class ProgrammeReportFactory(TenantFactory):
    """A queued board report of the last 30 days."""

    class Meta:
        model = ProgrammeReport

    organization = factory.SubFactory(OrganizationFactory)
    period_key = "30d"
    period_start = factory.LazyFunction(lambda: timezone.now().date() - timedelta(days=29))
    period_end = factory.LazyFunction(lambda: timezone.now().date())


class HistoryGenerationFactory(TenantFactory):
    class Meta:
        model = HistoryGeneration

    organization = factory.SubFactory(OrganizationFactory)
    generation = 1


class RankingSnapshotFactory(TenantFactory):
    """The closed days of "last 30 days" and the 30 days before, under the linear model."""

    class Meta:
        model = RankingSnapshot

    organization = factory.SubFactory(OrganizationFactory)
    version = 1
    model = "linear"
    before_start = factory.LazyFunction(lambda: timezone.now().date() - timedelta(days=59))
    now_start = factory.LazyFunction(lambda: timezone.now().date() - timedelta(days=29))
    closed_end = factory.LazyFunction(lambda: timezone.now().date() - timedelta(days=1))
    time_zone = "UTC"
    history_generation = 0


class RankingSnapshotRowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RankingSnapshotRow

    snapshot = factory.SubFactory(RankingSnapshotFactory)
    ambassador_id = factory.Sequence(lambda n: n + 1)
    clicks_now = 3
    unique_clicks_now = 2


class ExchangeRateFactory(TenantFactory):
    """A reference rate: 1.0850 units of USD for one unit of the organisation's currency."""

    class Meta:
        model = ExchangeRate

    organization = factory.SubFactory(OrganizationFactory)
    day = factory.LazyFunction(lambda: timezone.now().date())
    currency = "USD"
    rate = Decimal("1.0850000000")
    source = RateSource.REFERENCE


class WebhookEndpointFactory(TenantFactory):
    class Meta:
        model = WebhookEndpoint

    organization = factory.SubFactory(OrganizationFactory)
    url = factory.Sequence(lambda n: f"https://hooks{n}.example.com/in")
    events = factory.LazyFunction(lambda: ["sale.created"])
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class WebhookMessageFactory(TenantFactory):
    class Meta:
        model = WebhookMessage

    organization = factory.SubFactory(OrganizationFactory)
    msg_id = factory.Sequence(lambda n: f"msg_{n:026d}")
    event_type = "sale.created"
    cause = factory.Sequence(lambda n: f"event:sale.created:{n}")
    payload = factory.LazyFunction(lambda: {"type": "sale.created", "timestamp": "2026-03-01T10:00:00Z", "data": {}})


class WebhookDeliveryFactory(TenantFactory):
    class Meta:
        model = WebhookDelivery

    organization = factory.SubFactory(OrganizationFactory)
    endpoint = factory.SubFactory(WebhookEndpointFactory, organization=factory.SelfAttribute("..organization"))
    message = factory.SubFactory(WebhookMessageFactory, organization=factory.SelfAttribute("..organization"))


class DeliveryAttemptFactory(TenantFactory):
    class Meta:
        model = DeliveryAttempt

    organization = factory.SubFactory(OrganizationFactory)
    delivery = factory.SubFactory(WebhookDeliveryFactory, organization=factory.SelfAttribute("..organization"))
    response_status = 200


class IntegrationConnectionFactory(TenantFactory):
    class Meta:
        model = IntegrationConnection

    organization = factory.SubFactory(OrganizationFactory)
    provider = Provider.STRIPE
    public_token = factory.Sequence(lambda n: f"token-{n:030d}")
    signing_secret = "whsec_test_secret"


class InboundEventFactory(TenantFactory):
    class Meta:
        model = InboundEvent

    organization = factory.SubFactory(OrganizationFactory)
    connection = factory.SubFactory(IntegrationConnectionFactory, organization=factory.SelfAttribute("..organization"))
    provider = Provider.STRIPE
    event_id = factory.Sequence(lambda n: f"evt_{n:024d}")
    event_type = "invoice.paid"
    outcome = InboundOutcome.PROCESSED


class OutboxEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboxEvent

    topic = "test.event"
    key = factory.Sequence(lambda n: f"test.event:{n}")
    payload = factory.LazyFunction(dict)


class NotificationSettingsFactory(OrganizationRowFactory):
    class Meta:
        model = NotificationSettings

    organization = factory.SubFactory(OrganizationFactory)


class PreferenceFactory(TenantFactory):
    class Meta:
        model = Preference

    ambassador = factory.SubFactory(AmbassadorFactory)
    organization = factory.LazyAttribute(lambda o: o.ambassador.organization)
    channel = DeliveryChannel.EMAIL
    kind = NotifyKind.CAMPAIGN_NEW
    frequency = NotifyFrequency.DAILY


class DeliveryFactory(TenantFactory):
    class Meta:
        model = Delivery

    ambassador = factory.SubFactory(AmbassadorFactory)
    organization = factory.LazyAttribute(lambda o: o.ambassador.organization)
    campaign = factory.SubFactory(CampaignFactory, organization=factory.SelfAttribute("..organization"))
    kind = NotifyKind.CAMPAIGN_NEW
    channel = DeliveryChannel.EMAIL
    key = factory.LazyAttribute(lambda o: f"{o.kind}:{o.channel}:{o.campaign.pk}:{o.ambassador.pk}")


class RewardRuleFactory(TenantFactory):
    """A programme-wide rule: 10 % of every sale, split by the reporting model."""

    class Meta:
        model = RewardRule

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    event = "sale"
    unit = "money"
    amount_kind = "percent"
    percent = Decimal("10.00")


class RewardSettingsFactory(OrganizationRowFactory):
    class Meta:
        model = RewardSettings

    organization = factory.SubFactory(OrganizationFactory)


class GroupHoldingFactory(TenantFactory):
    class Meta:
        model = GroupHolding

    group = factory.SubFactory(GroupFactory)
    organization = factory.LazyAttribute(lambda o: o.group.organization)
    money_holding_days = 14
    points_holding_days = 0


class EarningEntryFactory(TenantFactory):
    """A pending money entry written directly (earnings are computed by rewards.services)."""

    class Meta:
        model = EarningEntry

    rule = factory.SubFactory(RewardRuleFactory)
    organization = factory.LazyAttribute(lambda o: o.rule.organization)
    ambassador = factory.SubFactory(AmbassadorFactory, organization=factory.SelfAttribute("..organization"))
    cause = factory.Sequence(lambda n: f"sale:{n}")
    event = "sale"
    unit = "money"
    currency = "EUR"
    amount = Decimal("10.00")
    earned_at = factory.LazyFunction(timezone.now)
    approve_after = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))


class EarningsCursorFactory(OrganizationRowFactory):
    class Meta:
        model = EarningsCursor

    organization = factory.SubFactory(OrganizationFactory)


class PayoutRunFactory(TenantFactory):
    class Meta:
        model = PayoutRun
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)


class PayoutItemFactory(TenantFactory):
    class Meta:
        model = PayoutItem

    run = factory.SubFactory(PayoutRunFactory)
    organization = factory.LazyAttribute(lambda o: o.run.organization)
    ambassador = factory.SubFactory(AmbassadorFactory, organization=factory.SelfAttribute("..organization"))
    currency = "EUR"
    amount = Decimal("50.00")
    entry_count = 1


class PayoutDetailsFactory(TenantFactory):
    """A row with placeholder ciphertext: real details are stored by rewards.services (encrypted)."""

    class Meta:
        model = PayoutDetails

    ambassador = factory.SubFactory(AmbassadorFactory)
    organization = factory.LazyAttribute(lambda o: o.ambassador.organization)
    method = "paypal"
    encrypted = "not-a-real-token"
    fingerprint = factory.Sequence(lambda n: hashlib.sha256(f"details-{n}".encode()).hexdigest())
    masked = "a•••@example.com"


class CatalogueItemFactory(TenantFactory):
    class Meta:
        model = CatalogueItem
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Hoodie {n}")
    points_cost = 500


class RedemptionFactory(TenantFactory):
    class Meta:
        model = Redemption

    item = factory.SubFactory(CatalogueItemFactory)
    organization = factory.LazyAttribute(lambda o: o.item.organization)
    ambassador = factory.SubFactory(AmbassadorFactory, organization=factory.SelfAttribute("..organization"))
    points = factory.LazyAttribute(lambda o: o.item.points_cost)


class FraudCaseFactory(TenantFactory):
    class Meta:
        model = FraudCase

    ambassador = factory.SubFactory(AmbassadorFactory)
    organization = factory.LazyAttribute(lambda o: o.ambassador.organization)
    status = CaseStatus.OPEN
    opened_at = factory.LazyFunction(timezone.now)
    last_signal_at = factory.LazyFunction(timezone.now)


class FraudSignalFactory(TenantFactory):
    class Meta:
        model = FraudSignal

    case = factory.SubFactory(FraudCaseFactory)
    organization = factory.LazyAttribute(lambda o: o.case.organization)
    reason = FraudReason.SAME_EMAIL
    subject = factory.Sequence(lambda n: f"sale:{n}")
    created_at = factory.LazyFunction(timezone.now)


class AuditEntryFactory(TenantFactory):
    class Meta:
        model = AuditEntry

    organization = factory.SubFactory(OrganizationFactory)
    at = factory.LazyFunction(timezone.now)
    actor_label = "system"
    action = "rule.created"
    object_type = "reward_rule"
    object_id = factory.Sequence(lambda n: str(n))


# --- helpers -----------------------------------------------------------------------------------


def member(organization, role=Role.AMBASSADOR, *, ambassador=False, **user_kwargs):
    """A user with `role` in `organization` (and an active ambassador profile if asked)."""
    user = UserFactory(**user_kwargs)
    MembershipFactory(organization=organization, user=user, role=role)
    if ambassador:
        AmbassadorFactory(organization=organization, user=user)
    return user


def click_rollup(**fields):
    """A DailyClickRollup row written the way click processing writes one: the per-ambassador
    rollup gets the same counts (call inside the organisation's scope)."""
    from tracking.models import DailyClickRollup
    from tracking.services import rollups

    row = DailyClickRollup.objects.create(**fields)
    key = tuple(getattr(row, name) for name in rollups.DAILY_CLICKS.key)
    rollups.add_summaries(rollups.DAILY_CLICKS, row.organization_id,
                          {key: [getattr(row, name) for name in rollups.DAILY_CLICKS.sums]})
    return row
