"""Factories for campaigns (created inside their organisation's scope, like tests/factories.py)."""

from datetime import date
from decimal import Decimal

import factory

from campaigns.codes import new_code
from campaigns.models import Campaign, CampaignCost, CampaignMessage, CampaignStatus, Domain, TrackedLink
from tests.factories import AmbassadorFactory, OrganizationFactory, TenantFactory


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


class DomainFactory(TenantFactory):
    class Meta:
        model = Domain

    organization = factory.SubFactory(OrganizationFactory)
    host = factory.Sequence(lambda n: f"links{n}.example.com")
