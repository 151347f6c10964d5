"""The demo's leads and sales: enough conversions, attributed by the real engine, for the
reports to show funnels and ROI."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django_scopes import scopes_disabled

from demo.conversions import conversions_rng, seed_conversions
from tenancy.models import Organization
from tenancy.scoping import tenant_scope
from tracking.models import AttributionModel, Click, Credit, CreditKind, Customer, Sale, SaleStatus
from tracking.services.attribution import ambassador_email_hashes


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.CLICK_SPOOL_DIR = tmp_path
    call_command("seed_demo")
    return {org.slug: org for org in Organization.objects.all()}


def has_touch(customer: Customer) -> bool:
    """Recounted here, not through the attribution service: a creditable click of the lead's
    visitor in the 30 days up to the lead."""
    return customer.visitor_id is not None and Click.objects.filter(
        organization_id=customer.organization_id, visitor_id=customer.visitor_id, is_bot=False, is_self=False,
        clicked_at__gte=customer.first_lead_at - timedelta(days=30), clicked_at__lte=customer.first_lead_at,
    ).exists()


def test_leads_and_sales_attributed_with_every_model(demo):
    with scopes_disabled():
        for org in demo.values():
            customers = list(Customer.objects.filter(organization=org))
            insiders = ambassador_email_hashes(org.pk)
            self_referrals = [c for c in customers if c.email_hash in insiders]
            direct = [c for c in customers if c.visitor_id is None and c.first_click_id is None]
            credited = [c for c in customers if c not in self_referrals and has_touch(c)]
            humans = Click.objects.filter(organization=org, is_bot=False, is_self=False).values("visitor_id")
            assert 0.03 <= len(credited) / humans.distinct().count() <= 0.08
            assert len(self_referrals) == 1 and len(direct) >= 3
            assert len(credited) + len(self_referrals) + len(direct) == len(customers)
            assert all(c.attributed_at for c in customers)

            sales = Sale.objects.filter(organization=org)
            assert 0.2 <= sales.count() / len(customers) <= 0.5
            assert set(sales.values_list("currency", flat=True)) == {org.currency}
            assert all(Decimal("49.00") <= s.original_amount <= Decimal("4800.00") for s in sales)
            foreign = sales.exclude(original_currency=org.currency)  # every fifth, converted at the ECB's rates
            assert foreign.exists() and all(s.amount > 0 and s.rate for s in foreign)
            assert all(s.customer_id and s.attributed_at for s in sales)  # the deferred one was linked
            assert all(s.occurred_at >= s.customer.first_lead_at for s in sales.select_related("customer"))
            assert any(s.occurred_at - s.customer.first_lead_at >= timedelta(days=7)
                       for s in sales.select_related("customer"))
            assert sales.filter(status=SaleStatus.REFUNDED).count() == 2
            assert not Credit.objects.filter(sale__status=SaleStatus.REFUNDED).exists()

            credits = Credit.objects.filter(organization=org)
            credited_paid = sales.filter(status=SaleStatus.PAID, customer__in=credited)
            assert credited_paid.exists()
            revenue = credited_paid.aggregate(total=Sum("amount"))["total"]
            for model in AttributionModel.values:
                leads = credits.filter(kind=CreditKind.LEAD, model=model)
                assert leads.aggregate(total=Sum("lead_share"))["total"] == len(credited), model
                assert {c.customer_id for c in leads} == {c.pk for c in credited}
                assert credits.filter(kind=CreditKind.SALE, model=model).aggregate(
                    total=Sum("amount"))["total"] == revenue, model
            ambassadors_of = defaultdict(set)
            for credit in credits.filter(kind=CreditKind.LEAD, model=AttributionModel.LINEAR):
                ambassadors_of[credit.customer_id].add(credit.ambassador_id)
            assert sum(len(ids) > 1 for ids in ambassadors_of.values()) >= 3  # multi-touch


def test_seeding_again_creates_no_leads_sales_or_credits(demo):
    def counts():
        with scopes_disabled():
            return Customer.objects.count(), Sale.objects.count(), Credit.objects.count()

    before = counts()
    assert all(before)
    call_command("seed_demo")
    assert counts() == before
    # Even the conversions step itself, run again, only finds what it made.
    for org in demo.values():
        with tenant_scope(org):
            seed_conversions(org, conversions_rng(7, org))
    assert counts() == before
