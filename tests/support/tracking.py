"""Clicks, leads and sales one at a time, for the tests of attribution and of the tracking API
(a whole programme: tests/support/scenario.py).

NOW is the suite's "now" for these: fixed once (whole seconds), so a test can compare what it
stored with what it computed from the same instant."""

from decimal import Decimal

from django.utils import timezone
from rest_framework.test import APIClient

from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key
from tests.factories import ClickFactory
from tracking.ids import new_click_id
from tracking.services.conversions import record_lead, record_sale

NOW = timezone.now().replace(microsecond=0)

LEAD = "/api/v1/track/lead"
SALE = "/api/v1/track/sale"


def click(organization, link, visitor_id, clicked_at, *, is_bot=False, is_self=False, click_id=None):
    """A processed click of `visitor_id` on `link` (no rollups: attribution reads Click rows)."""
    return ClickFactory(organization=organization, link=link, visitor_id=visitor_id, clicked_at=clicked_at,
                        click_id=click_id or new_click_id(), is_bot=is_bot, is_self=is_self)


def lead(org, visitor, *, at=NOW, ext="cus_1", email=None):
    """A lead of `visitor` through tracking.services.conversions.record_lead; its customer."""
    customer, _ = record_lead(org, visitor_id=visitor, customer_external_id=ext, occurred_at=at, email=email)
    return customer


def sale(org, *, ext="cus_1", amount="100.00", invoice="inv_1", at=NOW):
    """A sale through tracking.services.conversions.record_sale; the Sale."""
    created, _ = record_sale(org, customer_external_id=ext, amount=Decimal(amount), currency="EUR",
                             invoice_id=invoice, occurred_at=at)
    return created


def reload(obj):
    """The row as stored now."""
    with tenant_scope(obj.organization_id):
        return type(obj).objects.get(pk=obj.pk)


def api(organization):
    """A client of the tracking API with a new key of the organisation's."""
    _, full_key = create_api_key(organization=organization, name="CRM")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {full_key}")
    return client


def post(client, url, data):
    return client.post(url, data, format="json")
