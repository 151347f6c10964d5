"""Credits keep the channel of their touch (issue 15): attribution writes Click.channel on every
credit row (a link whose touches came through several channels is split by channel), keeps the
per-channel rollup in step, and migration 0012 backfills credits written before."""

import importlib
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django_scopes import scopes_disabled

from campaigns.channels import Channel
from tenancy.scoping import tenant_scope
from tests.factories import ClickFactory
from tests.support.tracking import NOW, lead, sale
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import Credit, CreditChannel, DailyChannelCredits, Sale, SaleStatus
from tracking.services import attribution
from tracking.services.conversions import record_sale
from tracking.verification import verify_organization

backfill = importlib.import_module("tracking.migrations.0012_backfill_credit_channel")


@pytest.fixture(autouse=True)
def click_capture():
    """No click capture here (tests/tracking/conftest.py parametrises it): each test runs once."""
    return None


def touch(link, visitor, at, channel, **extra):
    return ClickFactory(organization=link.organization, link=link, visitor_id=visitor, clicked_at=at,
                        click_id=new_click_id(at.timestamp()), channel=channel, **extra)


def credit_rows(org, **filters):
    with tenant_scope(org):
        return list(Credit.objects.filter(**filters).values_list("kind", "model", "ambassador_id", "link_id",
                                                                 "channel", "lead_share", "amount"))


def by_channel(rows, index):
    totals = defaultdict(Decimal)
    for row in rows:
        totals[row[4]] += row[index]
    return dict(totals)


def attribute_all(org):
    with tenant_scope(org):
        run = attribution.attribute_pending(org.pk)
    assert run.deferred == 0
    return run


def assert_channel_rollup_matches_credits(org):
    """DailyChannelCredits is exactly the credits summed per (version, model, local day,
    campaign, channel), recounted here from the Credit rows."""
    expected = defaultdict(lambda: [0, 0, 0])
    with tenant_scope(org):
        for c in Credit.objects.all():
            key = (c.version, c.model, c.converted_at.astimezone(org.tzinfo).date(), c.campaign_id, c.channel)
            index = {"lead": 0, "customer": 1, "sale": 2}[c.kind]
            expected[key][index] += int(c.lead_share * 10000) if index < 2 else int(c.amount * 100)
        stored = {(r.version, r.model, r.day, r.campaign_id, r.channel): [r.leads, r.customers, r.revenue_cents]
                  for r in DailyChannelCredits.objects.all() if (r.leads, r.customers, r.revenue_cents) != (0, 0, 0)}
    assert stored == {key: value for key, value in expected.items() if value != [0, 0, 0]}


def test_the_credit_channels_are_the_click_channels():
    assert set(CreditChannel.values) == set(Channel.values) | {"unknown"}
    assert Credit._meta.get_field("channel").db_default == "unknown"


@pytest.mark.django_db
def test_a_lead_its_sale_and_its_customer_credit_carry_the_channel_of_their_touch(org, link):
    visitor = new_visitor_id()
    touch(link, visitor, NOW - timedelta(days=2), Channel.LINKEDIN)
    lead(org, visitor, at=NOW - timedelta(days=1))
    sale(org, amount="250.00")
    attribute_all(org)
    rows = credit_rows(org)
    assert {(kind, channel) for kind, _, _, _, channel, _, _ in rows} == {
        ("lead", "linkedin"), ("sale", "linkedin"), ("customer", "linkedin")}
    assert len(rows) == 15  # three kinds × five models, one row each
    assert_channel_rollup_matches_credits(org)


@pytest.mark.django_db
def test_one_link_reached_through_two_channels_is_split_between_them_by_the_model(org, link):
    """The same ambassador's link clicked from LinkedIn, then from X: linear halves the lead and
    the sale between the channels; last touch gives all to X, first touch all to LinkedIn; the
    link's (and the ambassador's) total is the whole lead and the sale to the cent."""
    visitor = new_visitor_id()
    touch(link, visitor, NOW - timedelta(days=3), Channel.LINKEDIN)
    touch(link, visitor, NOW - timedelta(days=1), Channel.X)
    lead(org, visitor, at=NOW)
    sale(org, amount="100.01")
    attribute_all(org)

    linear = credit_rows(org, model="linear")
    assert by_channel([r for r in linear if r[0] == "lead"], 5) == {"linkedin": Decimal("0.5000"),
                                                                     "x": Decimal("0.5000")}
    sale_cents = by_channel([r for r in linear if r[0] == "sale"], 6)
    assert sorted(sale_cents.values()) == [Decimal("50.00"), Decimal("50.01")]  # largest remainder, to the cent
    assert sum(sale_cents.values()) == Decimal("100.01")
    assert by_channel([r for r in credit_rows(org, model="last_touch") if r[0] == "lead"], 5) == {
        "x": Decimal("1.0000")}
    assert by_channel([r for r in credit_rows(org, model="first_touch") if r[0] == "lead"], 5) == {
        "linkedin": Decimal("1.0000")}
    time_decay = by_channel([r for r in credit_rows(org, model="time_decay") if r[0] == "lead"], 5)
    assert time_decay["x"] > time_decay["linkedin"] and sum(time_decay.values()) == Decimal("1.0000")
    assert_channel_rollup_matches_credits(org)
    # verify_credits sees one row per (ambassador, link, channel): no "duplicate" on a split link.
    report = verify_organization(org.pk)
    assert report.violations == []


@pytest.mark.django_db
def test_bot_and_own_clicks_lend_no_channel(org, link):
    visitor = new_visitor_id()
    touch(link, visitor, NOW - timedelta(days=2), Channel.EMAIL)
    touch(link, visitor, NOW - timedelta(days=1), Channel.X, is_bot=True, bot_reason="ua:twitterbot")
    touch(link, visitor, NOW - timedelta(hours=5), Channel.FACEBOOK, is_self=True)
    lead(org, visitor, at=NOW)
    attribute_all(org)
    assert {row[4] for row in credit_rows(org)} == {"email"}


@pytest.mark.django_db
def test_two_ambassadors_keep_their_own_channels_and_a_refund_takes_the_revenue_off_its_channel(
        org, make_link):
    first, second = make_link(), make_link()
    visitor = new_visitor_id()
    touch(first, visitor, NOW - timedelta(days=4), Channel.WHATSAPP)
    touch(second, visitor, NOW - timedelta(days=1), Channel.DIRECT)
    lead(org, visitor, at=NOW)
    paid = sale(org, amount="80.00")
    attribute_all(org)
    position = credit_rows(org, model="position_based", kind="sale")
    assert {(r[2], r[4]) for r in position} == {(first.ambassador_id, "whatsapp"), (second.ambassador_id, "direct")}
    assert_channel_rollup_matches_credits(org)

    record_sale(org, customer_external_id="cus_1", amount=Decimal("80.00"), currency="EUR", invoice_id="inv_1",
                occurred_at=NOW, status="refunded")
    with tenant_scope(org):
        assert Sale.objects.get(pk=paid.pk).status == SaleStatus.REFUNDED
    attribute_all(org)
    assert credit_rows(org, kind="sale") == []
    assert_channel_rollup_matches_credits(org)
    with tenant_scope(org):
        revenue = sum(DailyChannelCredits.objects.values_list("revenue_cents", flat=True))
    assert revenue == 0


@pytest.mark.django_db
def test_the_schema_refuses_a_channel_outside_the_vocabulary(org, link):
    visitor = new_visitor_id()
    touch(link, visitor, NOW - timedelta(days=1), Channel.LINKEDIN)
    lead(org, visitor, at=NOW)
    attribute_all(org)
    with tenant_scope(org):
        credit = Credit.objects.filter(kind="lead").first()
        with pytest.raises(IntegrityError), transaction.atomic():
            Credit.objects.filter(pk=credit.pk).update(channel="myspace")


@pytest.mark.django_db
def test_the_migration_backfills_the_channel_of_the_latest_touch_and_rebuilds_the_rollups(org, make_link):
    """Credits written before credits kept a channel (stored as "unknown", the column's default)
    get the channel of the latest creditable click of their link before the lead; a credit whose
    click is gone stays "unknown"; the channel rollups are rebuilt from the credits."""
    first, second, third = make_link(), make_link(), make_link()
    visitor, other = new_visitor_id(), new_visitor_id()
    touch(first, visitor, NOW - timedelta(days=5), Channel.LINKEDIN)
    touch(first, visitor, NOW - timedelta(days=2), Channel.EMAIL)  # the latest on this link
    touch(second, visitor, NOW - timedelta(days=1), Channel.FACEBOOK)
    touch(second, visitor, NOW + timedelta(hours=1), Channel.X)  # after the lead: not a touch
    lead(org, visitor, at=NOW, ext="cus_1")
    sale(org, ext="cus_1", amount="99.99")
    gone = touch(third, other, NOW - timedelta(days=1), Channel.WHATSAPP)
    lead(org, other, at=NOW, ext="cus_2")
    attribute_all(org)
    with tenant_scope(org):
        gone.delete()
        # As before this change: one row per (ambassador, link), no channel, no channel rollup.
        Credit.objects.filter(link_id=first.pk, channel="linkedin").delete()
        Credit.objects.update(channel="unknown")
        DailyChannelCredits.objects.all().delete()

    editor = SimpleNamespace(connection=connection)
    with scopes_disabled():  # as in a migration, whose historical models have no scopes
        backfill.backfill_channels(apps, editor)
        backfill.build_channel_clicks(apps, editor)
        backfill.build_channel_credits(apps, editor)

    assert {(row[3], row[4]) for row in credit_rows(org)} == {
        (first.pk, "email"), (second.pk, "facebook"), (third.pk, "unknown")}
    assert_channel_rollup_matches_credits(org)


@pytest.mark.django_db
def test_verify_credits_finds_a_credit_on_a_channel_its_link_was_not_reached_through(org, link):
    visitor = new_visitor_id()
    touch(link, visitor, NOW - timedelta(days=2), Channel.LINKEDIN)
    lead(org, visitor, at=NOW)
    attribute_all(org)
    assert verify_organization(org.pk).violations == []
    with tenant_scope(org):
        Credit.objects.filter(model="linear").update(channel="unknown")  # as backfilled without its click
    assert verify_organization(org.pk).violations == []
    with tenant_scope(org):
        Credit.objects.filter(model="linear").update(channel="facebook")
    found = verify_organization(org.pk).violations
    assert [(v.check, v.model) for v in found] == [("credit_on_wrong_channel", "linear")]
    assert "facebook" in found[0].message
