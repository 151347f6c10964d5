"""Fraud holds through the real pipeline: clicks through click processing, leads and sales through
the tracking services and attribution, entries written by the earnings engine, which screens them in
its own transaction. Each rule that the pipeline can trigger holds its entry, a released case's
entries are approved when due, and bot, HEAD and self clicks never earn anything."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from rewards.models import CaseStatus, EarningEntry, EntryStatus, FraudCase, FraudSignal
from rewards.services import ledger
from rewards.services.earnings import compute_earnings
from rewards.services.fraud import release
from rewards.tasks import release_stale_fraud_cases
from tenancy.scoping import tenant_scope
from tests.factories import PortalVisitorFactory, RewardSettingsFactory, UserFactory
from tests.support.rewards import flat_rule, reward_rule
from tests.support.scenario import Scenario
from tracking.capture import ClickRecord, insert_rows
from tracking.ids import new_click_id
from tracking.models import Click

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def entries_of(org, **filters):
    with tenant_scope(org):
        return list(EarningEntry.objects.filter(**filters).order_by("pk"))


def reasons_of(org, ambassador):
    with tenant_scope(org):
        return sorted(FraudSignal.objects.filter(case__ambassador=ambassador).values_list("reason", flat=True))


@pytest.fixture
def programme(org):
    s = Scenario(org)
    spring = s.campaign("Spring")
    # Ada signs in with a private address: attribution already gives no credit to a lead with an
    # ambassador's programme address (a self-referral); the fraud rule also knows the sign-in one.
    ada = s.ambassador("Ada", email="ada@lovelace-consulting.test", user=UserFactory(email="ada.private@gmail.com"))
    bob = s.ambassador("Bob", email="bob@babbage.test", user=UserFactory(email="bob@babbage.test"))
    return s, spring, ada, bob


def test_a_lead_with_the_ambassadors_sign_in_email_is_held_and_released_then_approved(org, programme):
    s, spring, ada, bob = programme
    flat_rule(org, "lead", "5.00")
    ada_link, bob_link = s.link(spring, ada), s.link(spring, bob)
    s.visitor().clicks(ada_link, T0).lead("self-buyer", at=T0 + timedelta(minutes=5),
                                          email="Ada.Private@gmail.com")
    s.visitor().clicks(bob_link, T0).lead("real-buyer", at=T0 + timedelta(minutes=5), email="jo@bigcorp.test")
    s.process().attribute()
    compute_earnings(org.pk, now=T0 + timedelta(hours=1))

    [held] = entries_of(org, ambassador=ada)
    [clean] = entries_of(org, ambassador=bob)
    assert (held.status, clean.status) == (EntryStatus.HELD, EntryStatus.PENDING)
    assert reasons_of(org, ada) == ["same_email"] and reasons_of(org, bob) == []

    # Computing again (the engine reprocesses a margin) adds nothing.
    compute_earnings(org.pk, now=T0 + timedelta(hours=2))
    with tenant_scope(org):
        assert FraudSignal.objects.count() == 1 and EarningEntry.objects.count() == 2
        case = FraudCase.objects.get(ambassador=ada)
    release(case, UserFactory(email="admin@acme.test"), "Checked: her company bought it.",
            now=T0 + timedelta(days=31))
    ledger.approve_due(org.pk, T0 + timedelta(days=31))
    assert [e.status for e in entries_of(org, ambassador=ada)] == [EntryStatus.APPROVED]


def test_a_sale_from_a_disposable_address_and_a_colleagues_lead_are_held(org, programme):
    s, spring, ada, bob = programme
    reward_rule(org)  # 10 % of every sale
    flat_rule(org, "lead", "5.00")
    ada_link, bob_link = s.link(spring, ada), s.link(spring, bob)
    s.visitor().clicks(ada_link, T0).lead("throwaway", at=T0 + timedelta(minutes=1),
                                          email="x@mailinator.com").buys("200.00")
    s.visitor().clicks(bob_link, T0).lead("colleague", at=T0 + timedelta(minutes=1), email="carol@babbage.test")
    s.process().attribute()
    compute_earnings(org.pk, now=T0 + timedelta(hours=1))
    assert sorted((e.event, e.status) for e in entries_of(org, ambassador=ada)) == [
        ("lead", EntryStatus.HELD), ("sale", EntryStatus.HELD)]
    assert reasons_of(org, ada) == ["disposable"]  # one customer: one signal for its lead and its sale
    assert [e.status for e in entries_of(org, ambassador=bob)] == [EntryStatus.HELD]
    assert reasons_of(org, bob) == ["same_domain"]


def test_clicks_faster_than_the_velocity_hold_the_links_click_points(org, programme):
    s, spring, ada, bob = programme
    RewardSettingsFactory(organization=org, max_clicks_per_minute=3)
    flat_rule(org, "click", "1", unit="points")
    farmed, normal = s.link(spring, ada), s.link(spring, bob)
    for second in (0, 10, 20, 30):
        s.visitor().clicks(farmed, T0 + timedelta(seconds=second))
    for minute in (0, 1, 2, 3):
        s.visitor().clicks(normal, T0 + timedelta(minutes=minute))
    s.process()
    compute_earnings(org.pk, now=T0 + timedelta(hours=1))
    assert [e.status for e in entries_of(org, ambassador=ada)] == [EntryStatus.HELD] * 4
    # Points have no holding period: the unflagged ones are approved as they are written.
    assert [e.status for e in entries_of(org, ambassador=bob)] == [EntryStatus.APPROVED] * 4
    assert reasons_of(org, ada) == ["velocity"]


def test_bot_head_and_self_clicks_never_earn(org, programme):
    s, spring, ada, _ = programme
    flat_rule(org, "click", "1", unit="points")
    link = s.link(spring, ada)
    s.visitor().clicks(link, T0)  # a person: earns
    s.visitor().clicks(link, T0 + timedelta(seconds=5), user_agent="Twitterbot/1.0")
    s.visitor().clicks(link, T0 + timedelta(seconds=6),
                       user_agent="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    head_visitor = s.visitor()
    insert_rows([ClickRecord(new_click_id((T0 + timedelta(seconds=7)).timestamp()), org.pk, link.pk,
                             (T0 + timedelta(seconds=7)).timestamp(), head_visitor.id, "ab" * 16,
                             "Mozilla/5.0", "", "x", True).row()])
    own = s.visitor()
    PortalVisitorFactory(user=ada.user, visitor_id=own.id)
    own.clicks(link, T0 + timedelta(seconds=8))
    s.process()
    with tenant_scope(org):
        flagged = dict(Click.objects.values_list("visitor_id", "is_bot"))
        assert len(flagged) == 5
        assert Click.objects.filter(is_head=True).count() == 1 and Click.objects.filter(is_self=True).count() == 1
        earning_click = Click.objects.get(is_bot=False, is_head=False, is_self=False)
    compute_earnings(org.pk, now=T0 + timedelta(hours=1))
    assert [e.click_id for e in entries_of(org)] == [earning_click.click_id]


def test_the_daily_task_releases_cases_quiet_for_30_days(org, programme):
    s, spring, ada, _ = programme
    flat_rule(org, "lead", "5.00")
    s.visitor().clicks(s.link(spring, ada), T0).lead("self", at=T0, email="ada.private@gmail.com")
    s.process().attribute()
    compute_earnings(org.pk, now=T0 + timedelta(minutes=10))
    with tenant_scope(org):
        case = FraudCase.objects.get(ambassador=ada)
    # The case's last signal was at T0 + 10 min, long before today: the task releases it as the system.
    assert release_stale_fraud_cases.apply(args=[org.pk]).get() == 1
    with tenant_scope(org):
        case.refresh_from_db()
    assert case.status == CaseStatus.RELEASED and case.closed_by is None
    assert [e.status for e in entries_of(org, ambassador=ada)] == [EntryStatus.APPROVED]
    assert Decimal("5.00") == entries_of(org, ambassador=ada)[0].amount
