"""tests/factories.py has a factory for every model of every app, and each makes a valid row:
saved, in one organisation with whatever it hangs off."""

from datetime import date
from pathlib import Path

import factory
import pytest
from django.apps import apps
from django.conf import settings

from tenancy.scoping import TenantModel, tenant_scope
from tests import factories
from tests.factories import (
    ApiKeyFactory,
    ClickFactory,
    CreditFactory,
    CustomerFactory,
    LinkFactory,
    SaleFactory,
    WeeklyAmbassadorClicksFactory,
)
from tracking.models import CreditKind


def project_models():
    """The models of the project's own apps (those in the repository, not in the virtualenv)."""
    base = Path(settings.BASE_DIR).resolve()
    ours = {config.label for config in apps.get_app_configs()
            if Path(config.path).resolve().parent == base}
    return sorted((model for model in apps.get_models() if model._meta.app_label in ours),
                  key=lambda model: model._meta.label)


def factories_by_model():
    found = {}
    for value in vars(factories).values():
        if isinstance(value, type) and issubclass(value, factory.django.DjangoModelFactory):
            model = value._meta.model
            if model is not None and not value._meta.abstract:
                found.setdefault(model, value)
    return found


def test_every_model_has_a_factory():
    assert len(project_models()) > 20
    missing = [model._meta.label for model in project_models() if model not in factories_by_model()]
    assert missing == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", project_models(), ids=lambda model: model._meta.label)
def test_each_factory_makes_a_row(model):
    row = factories_by_model()[model]()
    assert row.pk is not None
    if isinstance(row, TenantModel):
        with tenant_scope(row.organization_id):
            assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.django_db
def test_rows_hanging_off_another_share_its_organisation(org):
    link = LinkFactory(campaign__organization=org)
    click = ClickFactory(link=link)
    assert (click.organization_id, click.campaign_id, click.ambassador_id) == (org.pk, link.campaign_id,
                                                                              link.ambassador_id)
    customer = CustomerFactory(organization=org)
    sale = SaleFactory(customer=customer)
    credit = CreditFactory(customer=customer, kind=CreditKind.SALE, sale=sale)
    assert sale.organization_id == credit.organization_id == org.pk
    with tenant_scope(org):
        made_for_it = type(link).objects.get(pk=credit.link_id)
    assert made_for_it.organization_id == org.pk and credit.amount == sale.amount
    assert credit.converted_at == sale.occurred_at and credit.lead_share == 0


@pytest.mark.django_db
def test_an_api_key_factory_gives_its_full_key_once(org, client):
    key = ApiKeyFactory(organization=org)
    assert key.full_key.startswith(key.prefix + "_")
    response = client.post("/api/v1/track/lead", {"customer_external_id": "cus_1"}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {key.full_key}")
    assert response.status_code == 201


@pytest.mark.django_db
def test_a_weekly_rollup_is_dated_by_its_monday(org):
    row = WeeklyAmbassadorClicksFactory(ambassador__organization=org, day=date(2026, 3, 5))  # a Thursday
    assert row.week == date(2026, 3, 2)
