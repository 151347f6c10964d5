"""Issue 17: sales awaiting an exchange rate, or converted at an earlier day's rate (estimated), are
never silently dropped from the reports: the overview, the ROI pages and their API say how many
there are in the period, with the awaiting ones' original amounts, and link admins to the
exchange-rates page; the notice goes once a rate is uploaded and the sale counts in revenue."""

import inspect
from datetime import date
from decimal import Decimal

import pytest

from tenancy.scoping import tenant_scope
from tests.support.scenario import Scenario
from tracking.services.attribution import attribute_pending
from tracking.services.conversions import record_sale
from tracking.services.rates import store_rates

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}
# A currency the ECB publishes no reference rate for: only an uploaded rate converts it.
CURRENCY = "AED"
SALE_DAY = date(2026, 3, 10)
NO_PENDING = {"sales_awaiting_rate": {"count": 0, "original_totals": []}, "sales_estimated": 0}


def sell(org, visitor, amount: str, currency: str, at, invoice_id: str):
    """record_sale in another currency, as the entry points make it (other_currencies while that flag exists)."""
    extra = {"other_currencies": True} if "other_currencies" in inspect.signature(record_sale).parameters else {}
    with tenant_scope(org):
        sale, _ = record_sale(org, customer_external_id=visitor.customer_external_id, amount=Decimal(amount),
                              currency=currency, invoice_id=invoice_id, occurred_at=at, **extra)
    return sale


def attribute(org):
    with tenant_scope(org):
        while attribute_pending(org.pk).more:
            pass


def pending(data: dict) -> dict:
    return {key: data[key] for key in NO_PENDING}


@pytest.fixture
def programme(org):
    """Spring: a customer who bought for 100.00 AED on 10 March, with no AED rate at all."""
    s = Scenario(org)
    spring, autumn = s.campaign("Spring", minutes_per_share=Decimal("6")), s.campaign("Autumn")
    link = s.link(spring, s.ambassador(hourly_rate=Decimal("60.00")))
    s.link(autumn)
    buyer = s.visitor().clicks(link, s.at(2026, 3, 9, 10))
    s.process()
    buyer.lead("cus_usd", at=s.at(2026, 3, 9, 11))
    sale = sell(org, buyer, "100.00", CURRENCY, s.at(2026, 3, 10, 9), "inv-1")
    assert (sale.amount, sale.rate_status) == (Decimal("0.00"), "awaiting")
    attribute(org)
    return s, spring, autumn, buyer


@pytest.mark.django_db
def test_a_sale_awaiting_a_rate_is_shown_until_a_rate_is_uploaded(programme, org, manager, admin_user, login, client):
    s, spring, autumn, buyer = programme
    base, api = f"/o/{org.slug}/reports/", f"/api/v1/o/{org.slug}/reports/"
    awaiting = {"sales_awaiting_rate": {"count": 1, "original_totals": [{"currency": "AED", "amount": "100.00"}]},
                "sales_estimated": 0}

    login(manager)
    overview = client.get(f"{api}overview/", MARCH).json()
    assert pending(overview) == awaiting
    assert overview["current"]["revenue"] == "0.00"  # not in revenue yet, but said so just above
    assert pending(client.get(f"{api}roi/{spring.public_id}/", MARCH).json()) == awaiting
    assert pending(client.get(f"{api}roi/", MARCH).json()) == awaiting
    # The campaign its customer is credited to, not another one; nor another period.
    assert pending(client.get(f"{api}roi/{autumn.public_id}/", MARCH).json()) == NO_PENDING
    assert pending(client.get(f"{api}overview/", MARCH | {"campaign": str(autumn.public_id)}).json()) == NO_PENDING
    assert pending(client.get(f"{api}overview/", {"period": "custom", "start": "2026-04-01",
                                                  "end": "2026-04-30"}).json()) == NO_PENDING

    for url in (base, f"{base}roi/", f"{base}roi/{spring.public_id}/"):
        html = client.get(url, MARCH).content.decode()
        assert 'data-figure="sales_awaiting_rate"' in html and "1 sale awaiting rate" in html, url
        assert "100.00" in html.split('id="pending-sales"')[1].split("</div>")[0], url
        assert f"/o/{org.slug}/manage/rates/" not in html, url  # a manager can't upload rates: no link
    assert 'id="pending-sales"' not in client.get(f"{base}roi/{autumn.public_id}/", MARCH).content.decode()
    listed = client.get(f"{base}roi/", MARCH).content.decode()  # the flag on Spring's row only
    assert listed.count("data-pending=") == 1
    assert 'data-pending="1 0"' in listed.split(f'data-campaign="{spring.public_id}"')[1].split("</tr>")[0]
    client.logout()
    login(admin_user)
    assert f"/o/{org.slug}/manage/rates/" in client.get(base, MARCH).content.decode()  # admins: the rates page

    # An admin uploads AED for 10 March: the sale is converted (100 / 3.9800 = 25.1256… → 25.13) and counted.
    store_rates(org, [(SALE_DAY, CURRENCY, Decimal("3.9800"))], source="uploaded")
    attribute(org)
    overview = client.get(f"{api}overview/", MARCH).json()
    assert pending(overview) == NO_PENDING
    assert overview["current"]["revenue"] == "25.13"
    assert client.get(f"{api}roi/{spring.public_id}/", MARCH).json()["figures"]["revenue"] == "25.13"
    for url in (base, f"{base}roi/", f"{base}roi/{spring.public_id}/"):
        assert 'id="pending-sales"' not in client.get(url, MARCH).content.decode(), url

    # A sale on 12 March converts at 10 March's rate (no AED rate for its day): estimated, counted, and said so.
    sell(org, buyer, "50.00", CURRENCY, s.at(2026, 3, 12, 9), "inv-2")
    attribute(org)
    overview = client.get(f"{api}overview/", MARCH).json()
    assert pending(overview) == NO_PENDING | {"sales_estimated": 1}
    assert overview["current"]["revenue"] == "37.69"  # 25.13 + 50 / 3.98 = 12.5628… → 12.56
    assert pending(client.get(f"{api}roi/{spring.public_id}/", MARCH).json())["sales_estimated"] == 1
    html = client.get(f"{base}roi/{spring.public_id}/", MARCH).content.decode()
    assert 'data-figure="sales_estimated"' in html and "1 sale estimated" in html
    assert 'data-figure="sales_awaiting_rate"' not in html


@pytest.mark.django_db
def test_another_organisations_waiting_sales_are_not_counted(programme, org, other_org, login, client):
    from tenancy.models import Role
    from tests.factories import member

    rival = member(other_org, Role.MANAGER, email="manager@rival.test")
    login(rival)
    assert pending(client.get(f"/api/v1/o/{other_org.slug}/reports/overview/", MARCH).json()) == NO_PENDING
    assert 'id="pending-sales"' not in client.get(f"/o/{other_org.slug}/reports/", MARCH).content.decode()
