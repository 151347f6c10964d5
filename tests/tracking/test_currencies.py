"""Sales in any currency (issue 17, item 3): the rate table, the conversion at the rate of the
sale's day (half-up to the cent, once), estimated and awaiting sales, uploaded rates overriding
the reference ones, and the hand-worked fixture of the acceptance line."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Sum

from tenancy.scoping import tenant_scope
from tests.support.scenario import Scenario
from tracking.models import Credit, CreditKind, ExchangeRate, RateSource, RateStatus, Sale
from tracking.services import rates
from tracking.services.conversions import ConversionError, record_sale

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}

# Reference rates (ECB convention: units of the currency for 1 EUR). GBP has none for 20 March.
REFERENCE = """day,currency,rate
2026-03-19,USD,1.0830
2026-03-20,USD,1.0900
2026-03-19,GBP,0.8500
"""


def d(value: str) -> Decimal:
    return Decimal(value)


# --- the conversion itself ---------------------------------------------------------------------

def test_the_conversion_rounds_half_up_once_to_the_cent():
    assert rates.convert(d("100.01"), d("2")) == d("50.01")  # 50.005: half-up, not half-even
    assert rates.convert(d("500.00"), d("1.0900")) == d("458.72")  # 458.7155…
    assert rates.convert(d("300.00"), d("0.8500")) == d("352.94")  # 352.9411…


def test_the_rates_csv_is_checked_line_by_line():
    assert rates.parse_rates_csv("day,currency,rate\n2026-03-20,usd,1.09\n") == [
        (date(2026, 3, 20), "USD", d("1.0900000000"))]
    for bad, fragment in (("2026-03-20,USD\n", "Line 1"), ("2026-13-01,USD,1\n", "date"),
                          ("2026-03-20,US,1\n", "ISO 4217"), ("2026-03-20,USD,0\n", "greater than 0"),
                          ("day,currency,rate\n2026-03-20,USD,abc\n", "Line 2")):
        with pytest.raises(rates.RateFileError, match=fragment):
            rates.parse_rates_csv(bad)


@pytest.mark.django_db
def test_the_rate_table_is_constrained_in_the_database(org):
    with tenant_scope(org):
        ExchangeRate.objects.create(organization=org, day=date(2026, 3, 20), currency="USD", rate=d("1.09"),
                                    source=RateSource.REFERENCE)
        ExchangeRate.objects.create(organization=org, day=date(2026, 3, 20), currency="USD", rate=d("1.10"),
                                    source=RateSource.UPLOADED)  # both kept: the uploaded one wins
        for fields in ({"currency": "USD", "rate": d("1.2"), "source": RateSource.REFERENCE},  # duplicate
                       {"currency": "USD", "rate": d("0"), "source": "manual"},
                       {"currency": "CHF", "rate": d("-1"), "source": RateSource.REFERENCE},
                       {"currency": "usd", "rate": d("1"), "source": RateSource.REFERENCE}):
            with pytest.raises(IntegrityError), transaction.atomic():
                ExchangeRate.objects.create(organization=org, day=date(2026, 3, 20), **fields)
        assert rates.rate_for(org, "USD", date(2026, 3, 20)) == (d("1.1000000000"), date(2026, 3, 20))
        assert rates.rate_for(org, "USD", date(2026, 3, 25)) == (d("1.1000000000"), date(2026, 3, 20))
        assert rates.rate_for(org, "USD", date(2026, 3, 19)) is None


@pytest.mark.django_db
def test_a_sale_in_the_organisations_currency_is_unchanged(org):
    with tenant_scope(org):
        sale, created = record_sale(org, customer_external_id="c", amount=d("12.34"), currency="EUR",
                                    invoice_id="i1")
        assert created and (sale.amount, sale.currency, sale.rate_status) == (d("12.34"), "EUR", RateStatus.OWN)
        assert (sale.original_amount, sale.original_currency, sale.rate) == (d("12.34"), "EUR", None)
        with pytest.raises(ConversionError, match="ISO 4217"):
            record_sale(org, customer_external_id="c", amount=d("1"), currency="EURO", invoice_id="i2",
                        other_currencies=True)
        with pytest.raises(ConversionError, match="Currency must be EUR"):  # not asked for: refused as before
            record_sale(org, customer_external_id="c", amount=d("1"), currency="USD", invoice_id="i3")


# --- the hand-worked fixture -------------------------------------------------------------------

def _buy(scenario, visitor, amount, currency, at):
    """Scenario's Visitor.buys, in another currency (record_sale with other_currencies)."""
    with tenant_scope(scenario.org):
        record_sale(scenario.org, customer_external_id=visitor.customer_external_id, amount=Decimal(amount),
                    currency=currency, invoice_id=f"inv-{visitor.customer_external_id}", occurred_at=at,
                    other_currencies=True)


def _revenue_credits(org) -> dict[str, Decimal]:
    """Sale credits per model: each sale's converted amount in full (one link per sale)."""
    with tenant_scope(org):
        rows = (Credit.objects.filter(organization=org, kind=CreditKind.SALE).values("model")
                .annotate(total=Sum("amount")).order_by("model"))
        return {row["model"]: row["total"] for row in rows}


def _roi(client, org, campaign) -> dict:
    answer = client.get(f"/api/v1/o/{org.slug}/reports/roi/{campaign.public_id}/", MARCH)
    assert answer.status_code == 200
    return answer.json()["figures"]


@pytest.mark.django_db
def test_three_currencies_a_missing_day_and_rates_uploaded_later_add_up_by_hand(org, manager, login):
    """Hand computation (EUR organisation; ECB convention; half-up to the cent once):

    cost: spend 500.00 + 10 shares × 6 min × 61.00/h = 61.00 → 561.00
    A  1,200.00 EUR on 20 Mar                                      = 1,200.00 (own)
    B    500.00 USD on 20 Mar at 1.0900 (its day)  500/1.09 = 458.7155… = 458.72 (exact)
    C    300.00 GBP on 20 Mar, no GBP rate that day: 19 Mar's 0.8500
                                                   300/0.85 = 352.9411… = 352.94 (estimated)
    D  1,000.00 CHF on 21 Mar, no CHF rate at all  → awaiting, 0.00, no revenue
    revenue 1,200.00 + 458.72 + 352.94 = 2,011.66; profit 1,450.66; ROI 1450.66/561 = 2.5858…

    Then an admin uploads GBP 20 Mar 0.8400, USD 20 Mar 1.0950 (overrides the reference 1.0900)
    and CHF 21 Mar 0.9600:
    B 500/1.095 = 456.6210… = 456.62;  C 300/0.84 = 357.1428… = 357.14 (exact now);
    D 1000/0.96 = 1,041.6666… = 1,041.67
    revenue 1,200.00 + 456.62 + 357.14 + 1,041.67 = 3,055.43; profit 2,494.43; ROI 2494.43/561 = 4.4463…
    """
    s = Scenario(org)
    campaign = s.campaign("Spring", minutes_per_share=d("6"))
    link = s.link(campaign, s.ambassador(hourly_rate=d("61.00")))
    s.cost(campaign, date(2026, 3, 5), "500.00")
    s.shares(link, s.at(2026, 3, 10, 12), times=10)
    buyers = [s.visitor().clicks(link, s.at(2026, 3, 15, 10 + n)) for n in range(4)]
    s.process()
    rates.store_rates(org, rates.parse_rates_csv(REFERENCE), source=RateSource.REFERENCE)

    buyers[0].lead("cus_a", at=s.at(2026, 3, 15, 11)).buys("1200.00", at=s.at(2026, 3, 20, 9))
    _buy(s, buyers[1].lead("cus_b", at=s.at(2026, 3, 15, 12)), "500.00", "USD", s.at(2026, 3, 20, 9))
    _buy(s, buyers[2].lead("cus_c", at=s.at(2026, 3, 15, 13)), "300.00", "GBP", s.at(2026, 3, 20, 9))
    _buy(s, buyers[3].lead("cus_d", at=s.at(2026, 3, 15, 14)), "1000.00", "CHF", s.at(2026, 3, 21, 9))
    s.attribute()

    with tenant_scope(org):
        stored = {sale.invoice_id: sale for sale in Sale.objects.filter(organization=org)}
    assert {inv: (sale.original_amount, sale.original_currency, sale.amount, sale.currency, sale.rate_status,
                  sale.rate_day) for inv, sale in stored.items()} == {
        "inv-cus_a": (d("1200.00"), "EUR", d("1200.00"), "EUR", RateStatus.OWN, None),
        "inv-cus_b": (d("500.00"), "USD", d("458.72"), "EUR", RateStatus.EXACT, date(2026, 3, 20)),
        "inv-cus_c": (d("300.00"), "GBP", d("352.94"), "EUR", RateStatus.ESTIMATED, date(2026, 3, 19)),
        "inv-cus_d": (d("1000.00"), "CHF", d("0.00"), "EUR", RateStatus.AWAITING, None)}
    assert stored["inv-cus_d"].attributed_at is not None  # attributed, never dropped: it waits for its rate
    assert set(_revenue_credits(org).values()) == {d("2011.66")}
    client = login(manager)
    figures = _roi(client, org, campaign)
    assert (figures["revenue"], figures["cost"], figures["profit"], figures["roi"]) == (
        "2011.66", "561.00", "1450.66", "2.5858")

    uploaded = "day,currency,rate\n2026-03-20,GBP,0.8400\n2026-03-20,USD,1.0950\n2026-03-21,CHF,0.9600\n"
    assert rates.store_rates(org, rates.parse_rates_csv(uploaded), source=RateSource.UPLOADED) == 3
    s.attribute()

    with tenant_scope(org):
        stored = {sale.invoice_id: sale for sale in Sale.objects.filter(organization=org)}
    assert {inv: (sale.amount, sale.rate_status, sale.rate_day) for inv, sale in stored.items()} == {
        "inv-cus_a": (d("1200.00"), RateStatus.OWN, None),
        "inv-cus_b": (d("456.62"), RateStatus.EXACT, date(2026, 3, 20)),
        "inv-cus_c": (d("357.14"), RateStatus.EXACT, date(2026, 3, 20)),
        "inv-cus_d": (d("1041.67"), RateStatus.EXACT, date(2026, 3, 21))}
    credits = _revenue_credits(org)
    assert len(credits) == 5 and set(credits.values()) == {d("3055.43")}
    with tenant_scope(org):
        per_sale = dict(Credit.objects.filter(organization=org, kind=CreditKind.SALE, model="last_touch")
                        .values("sale__invoice_id").annotate(total=Sum("amount")).values_list("sale__invoice_id",
                                                                                                "total"))
    assert per_sale == {"inv-cus_a": d("1200.00"), "inv-cus_b": d("456.62"), "inv-cus_c": d("357.14"),
                        "inv-cus_d": d("1041.67")}
    figures = _roi(client, org, campaign)
    assert (figures["revenue"], figures["cost"], figures["profit"], figures["roi"]) == (
        "3055.43", "561.00", "2494.43", "4.4464")

    # Storing the same rates again changes nothing.
    assert rates.store_rates(org, rates.parse_rates_csv(uploaded), source=RateSource.UPLOADED) == 0


# --- the admins' upload page -------------------------------------------------------------------

@pytest.mark.django_db
def test_admins_upload_rates_and_the_sale_awaiting_one_is_converted(org, admin_user, manager, login, client):
    with tenant_scope(org):
        sale, _ = record_sale(org, customer_external_id="c", amount=d("100.00"), currency="USD", invoice_id="i1",
                              occurred_at=Scenario(org).at(2026, 3, 20, 9), other_currencies=True)
    assert (sale.amount, sale.rate_status) == (d("0.00"), RateStatus.AWAITING)
    url = f"/o/{org.slug}/manage/rates/"

    login(manager)
    assert client.get(url).status_code in (403, 404)
    client.logout()
    login(admin_user)
    page = client.get(url)
    assert page.status_code == 200 and "i1" in page.content.decode()  # shown as awaiting a rate

    bad = client.post(url, {"file": SimpleUploadedFile("r.csv", b"2026-03-20,USD,zero\n", "text/csv")})
    assert bad.status_code == 400 and "Line 1" in bad.content.decode()
    good = client.post(url, {"file": SimpleUploadedFile("r.csv", b"day,currency,rate\n2026-03-20,USD,1.2500\n",
                                                        "text/csv")})
    assert good.status_code == 302
    with tenant_scope(org):
        sale.refresh_from_db()
        assert (sale.amount, sale.rate_status, sale.rate, sale.attributed_at) == (
            d("80.00"), RateStatus.EXACT, d("1.2500000000"), None)
        assert ExchangeRate.objects.get(organization=org).source == RateSource.UPLOADED
    assert "i1" not in client.get(url).content.decode().split("Sales awaiting a rate")[1].split("<h2>")[0]


# --- reference rates: the shipped (demo) file, cross rates, the ECB fetch ------------------------

ECB_XML = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
<Cube><Cube time="2026-03-20"><Cube currency="USD" rate="1.0900"/><Cube currency="GBP" rate="0.8400"/></Cube>
<Cube time="2026-03-19"><Cube currency="USD" rate="1.0830"/></Cube></Cube></gesmes:Envelope>"""


def test_the_shipped_file_reads_as_the_ecbs_layout_and_cross_rates_go_through_the_euro():
    table = rates.shipped_reference()
    assert table[date(2026, 3, 20)]["USD"] == d("1.0900") and "GBP" not in table[date(2026, 3, 20)]  # N/A
    assert rates.reference_rows(table, "EUR", {"USD"})[-1] == (date(2026, 3, 20), "USD", d("1.0900"))
    # A USD organisation: 1 USD = 0.8500 / 1.0830 GBP on 19 March; EUR = 1 / 1.0830.
    usd = {(day, c): r for day, c, r in rates.reference_rows(table, "USD")}
    assert usd[(date(2026, 3, 19), "GBP")] == d("0.7848568790")
    assert usd[(date(2026, 3, 19), "EUR")] == d("0.9233610342")
    assert (date(2026, 3, 19), "USD") not in usd


@pytest.mark.django_db
def test_the_beats_fetch_stores_reference_rates_and_converts_the_waiting_sales(org, tmp_path):
    from tracking.tasks import fetch_reference_rates

    feed = tmp_path / "ecb.xml"
    feed.write_text(ECB_XML)
    with tenant_scope(org):
        sale, _ = record_sale(org, customer_external_id="c", amount=d("109.00"), currency="USD", invoice_id="i1",
                              occurred_at=Scenario(org).at(2026, 3, 20, 9), other_currencies=True)
    assert sale.rate_status == RateStatus.AWAITING
    assert fetch_reference_rates.run(feed.as_uri()) == 1  # .run: not through the worker signals
    with tenant_scope(org):
        sale.refresh_from_db()
        assert (sale.amount, sale.rate_status) == (d("100.00"), RateStatus.EXACT)
        assert set(ExchangeRate.objects.values_list("currency", flat=True)) == {"USD"}  # the currencies it sells in


@pytest.mark.django_db
def test_the_daily_fetch_calls_nobody_when_no_sale_is_in_another_currency(org):
    from tracking.tasks import fetch_reference_rates

    # An address nothing listens on: fetching would raise; with no foreign-currency sale it isn't asked.
    assert fetch_reference_rates.run("http://127.0.0.1:9/eurofxref-hist-90d.xml") == 0
