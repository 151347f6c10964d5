"""One builder for a whole programme, made the way production makes it: clicks → processing →
leads → sales → attribution.

    s = Scenario(org)
    spring = s.campaign("Spring", minutes_per_share=Decimal("6"))
    ada = s.ambassador("Ada", hourly_rate=Decimal("60.00"))
    link = s.link(spring, ada)
    s.cost(spring, date(2026, 3, 5), "500.00")
    s.shares(link, s.at(2026, 3, 10, 12), times=10)
    buyer = s.visitor().clicks(link, s.at(2026, 3, 15, 10))
    s.process()                                   # click processing: Click rows and their rollups
    buyer.lead("cus_1", at=s.at(2026, 3, 15, 11)).buys("1200.00", at=s.at(2026, 3, 20, 9))
    s.attribute()                                 # attribution, until nothing is left to attribute

A visitor's `clicks()` are raw clicks, stored as the redirect stores them
(tracking.capture.insert_rows) and waiting for `process()`; `clicked()` stores processed Click
rows directly (no rollups: for tests of attribution, which reads the Click rows), and
`Scenario.click_counts()` a click rollup as processing would add it (for tests of reports, which
read the rollups). Leads and sales go through tracking.services.conversions (record_lead,
record_sale), so their rules apply. Nothing runs behind the test's back: clicks wait for
`process()`, conversions for `attribute()`.
"""

from datetime import datetime
from decimal import Decimal

from campaigns.models import ShareEvent
from tenancy.scoping import tenant_scope
from tests.factories import (
    BROWSER,
    AmbassadorFactory,
    CampaignFactory,
    ClickFactory,
    CostFactory,
    LinkFactory,
    click_rollup,
)
from tracking.capture import ClickRecord, insert_rows
from tracking.ids import new_click_id, new_visitor_id
from tracking.services import history
from tracking.services.attribution import attribute_pending
from tracking.services.click_processing import process_pending
from tracking.services.conversions import record_lead, record_sale


class Scenario:
    """A programme in one organisation: people, campaigns and links, costs and shares, and the
    visitors who click, become leads and buy."""

    def __init__(self, organization):
        self.org = organization

    def at(self, *args) -> datetime:
        """A moment in the organisation's time zone: `at(2026, 3, 15, 10)`."""
        return datetime(*args, tzinfo=self.org.tzinfo)

    # --- the programme --------------------------------------------------------------------------

    def ambassador(self, name: str | None = None, **fields):
        """An active ambassador (tests.factories.AmbassadorFactory's defaults, a user included)."""
        if name is not None:
            fields["display_name"] = name
        return AmbassadorFactory(organization=self.org, **fields)

    def campaign(self, name: str | None = None, **fields):
        """An active campaign."""
        if name is not None:
            fields["name"] = name
        return CampaignFactory(organization=self.org, **fields)

    def link(self, campaign, ambassador=None, **fields):
        """The ambassador's link in the campaign (a new ambassador's if none is given)."""
        return LinkFactory(organization=self.org, campaign=campaign, ambassador=ambassador or self.ambassador(),
                           **fields)

    def cost(self, campaign, day, amount, **fields):
        """Spend on the campaign on that day."""
        return CostFactory(organization=self.org, campaign=campaign, date=day, amount=Decimal(amount), **fields)

    def shares(self, link, at: datetime, *, channel: str = "linkedin", times: int = 1) -> list:
        """The link's ambassador shared it `times` times at `at` (what their time costs is counted from shares)."""
        with tenant_scope(self.org):
            events = ShareEvent.objects.bulk_create([
                ShareEvent(organization=self.org, link=link, campaign_id=link.campaign_id,
                           ambassador_id=link.ambassador_id, channel=channel, shared_at=at) for _ in range(times)])
            history.note_moments(self.org.pk, [at])  # bulk_create sends no post_save (tracking.signals)
            return events

    def click_counts(self, campaign, ambassador, day, *, clicks: int = 0, unique: int = 0, bots: int = 0,
                     selfs: int = 0, channel: str = "linkedin"):
        """Clicks counted for the day in the click rollups, as click processing adds them (without
        Click rows): `clicks` credited ones, `unique` of them unique, and bots and self-clicks."""
        with tenant_scope(self.org):
            return click_rollup(organization=self.org, campaign_id=campaign.pk, ambassador_id=ambassador.pk,
                                channel=channel, day=day, total=clicks + bots + selfs, clicks=clicks,
                                unique_clicks=unique, bot_clicks=bots, self_clicks=selfs)

    # --- the visitors ---------------------------------------------------------------------------

    def visitor(self, visitor_id: str | None = None) -> "Visitor":
        """A visitor (a new one, or the one with that id)."""
        return Visitor(self, visitor_id or new_visitor_id())

    # --- the work the workers do ----------------------------------------------------------------

    def process(self) -> "Scenario":
        """Click processing, until no raw click is left."""
        with tenant_scope(self.org):
            while process_pending(self.org.pk).more:
                pass
        return self

    def attribute(self) -> "Scenario":
        """Attribution, until no lead or sale is left to attribute."""
        with tenant_scope(self.org):
            while attribute_pending(self.org.pk).more:
                pass
        return self


class Visitor:
    """One visitor (`id`: their visitor id, the amb_vid cookie): clicks, a lead, purchases."""

    def __init__(self, scenario: Scenario, visitor_id: str):
        self.scenario = scenario
        self.id = visitor_id
        self.customer_external_id: str | None = None
        self.lead_at: datetime | None = None

    def clicks(self, link, *times: datetime, channel: str = "linkedin", user_agent: str = BROWSER,
               referrer_host: str = "") -> "Visitor":
        """Raw clicks on the link at these times, as the redirect stores them; `Scenario.process()`
        classifies them (bots, self-clicks, uniqueness) and counts them."""
        insert_rows([ClickRecord(new_click_id(at.timestamp()), self.scenario.org.pk, link.pk, at.timestamp(), self.id,
                                 "ab" * 16, user_agent, referrer_host, channel, False).row() for at in times])
        return self

    def clicked(self, link, *times: datetime, channel: str = "linkedin", **fields) -> "Visitor":
        """Processed clicks on the link at these times, stored directly (no rollups)."""
        for at in times:
            ClickFactory(organization=self.scenario.org, link=link, clicked_at=at, visitor_id=self.id, channel=channel,
                         **fields)
        return self

    def lead(self, external_id: str, *, at: datetime, **fields) -> "Visitor":
        """The visitor becomes a lead, customer `external_id` (tracking.services.conversions.record_lead)."""
        with tenant_scope(self.scenario.org):
            record_lead(self.scenario.org, visitor_id=self.id, customer_external_id=external_id, occurred_at=at,
                        **fields)
        self.customer_external_id, self.lead_at = external_id, at
        return self

    def buys(self, amount, *, at: datetime | None = None, invoice_id: str | None = None,
             currency: str | None = None) -> "Visitor":
        """The customer pays `amount` (at the lead's moment unless told; invoice `inv-<customer>`
        unless told; in the organisation's currency)."""
        ext = self.customer_external_id
        assert ext is not None, "a visitor buys after becoming a lead (lead() first)"
        with tenant_scope(self.scenario.org):
            record_sale(self.scenario.org, customer_external_id=ext, amount=Decimal(amount),
                        currency=currency or self.scenario.org.currency, invoice_id=invoice_id or f"inv-{ext}",
                        occurred_at=at or self.lead_at)
        return self
