"""A hand-made ledger for the earnings pages and API tests: one ambassador's entries in every
status, in two currencies and points, with a paid run, a refund correction, a held entry with a
fraud signal, and another ambassador's entry that must never show. The figures the pages must
show are in `EXPECTED` (worked out by hand below, not by the code under test)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from ambassadors.models import Ambassador
from rewards.models import EntryStatus, PayoutStatus
from tenancy.scoping import tenant_scope
from tests.factories import (
    AmbassadorFactory,
    CampaignFactory,
    EarningEntryFactory,
    FraudCaseFactory,
    FraudSignalFactory,
    PayoutItemFactory,
    PayoutRunFactory,
    RewardRuleFactory,
    RewardSettingsFactory,
)

# Far enough ahead that nothing is due whenever the tests run; dates are in Europe/Paris.
APPROVABLE_1 = datetime(2031, 5, 12, 8, 0, tzinfo=UTC)  # 12 May 2031 in Paris
APPROVABLE_2 = datetime(2031, 6, 2, 8, 0, tzinfo=UTC)
APPROVABLE_REFUND = datetime(2031, 4, 30, 8, 0, tzinfo=UTC)
PAID_AT = datetime(2026, 3, 31, 14, 0, tzinfo=UTC)
SIGNAL_DETAIL = "customer e-mail ada@ada-secret.test matches"
CANCEL_NOTE = "duplicate order 4711"

# What Ada's page shows (money per currency and status; points; the estimates).
EXPECTED = {
    "EUR": {"pending": "6.66 EUR", "held": "4.00 EUR", "approved": "12.40 EUR", "in_payout": "0.00 EUR",
            "paid": "50.00 EUR"},
    "USD": {"pending": "5.00 USD", "held": "0.00 USD", "approved": "30.00 USD", "in_payout": "0.00 USD",
            "paid": "0.00 USD"},
}


@dataclass
class Ledger:
    ada: object
    bob: object
    spring: object
    entries: dict = field(default_factory=dict)


def at(year, month, day, hour=12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def build_ledger(org, ada_user, *, minimum_payout=Decimal("20")) -> Ledger:
    """Ada's (the user's ambassador profile, made if missing) and Bob's entries in `org`.

    EUR: pending 7.40 + 2.60 (approvable 12 May 2031) − 3.34 (a refund after payout, approvable
    30 Apr 2031) = 6.66; held 4.00; approved 12.40; paid 20.00 + 30.00 = 50.00 in one run paid
    31 Mar 2026; canceled 9.99 (left out). USD: pending 5.00 (2 Jun 2031), approved 30.00.
    Points: approved 500, pending 40 → 500 to spend, 540 lifetime."""
    with tenant_scope(org):
        RewardSettingsFactory(organization=org, minimum_payout=minimum_payout)
        ada = Ambassador.objects.filter(user=ada_user).first() or AmbassadorFactory(
            organization=org, user=ada_user, display_name="Ada Lovelace")
        bob = AmbassadorFactory(organization=org, display_name="Bob Secret")
        spring = CampaignFactory(organization=org, name="Spring launch")
        sale_rule = RewardRuleFactory(organization=org, name="10 % of sales")
        lead_rule = RewardRuleFactory(organization=org, name="5 per lead", event="lead", amount_kind="flat",
                                      percent=None, amount=Decimal("5.00"))
        click_rule = RewardRuleFactory(organization=org, name="Points per click", event="click", unit="points",
                                       amount_kind="flat", percent=None, amount=Decimal("20"))
        run = PayoutRunFactory(organization=org, status=PayoutStatus.PAID, paid_at=PAID_AT, confirmed_at=PAID_AT)
        item = PayoutItemFactory(run=run, ambassador=ada, amount=Decimal("50.00"), entry_count=2)
        case = FraudCaseFactory(ambassador=ada)
        FraudSignalFactory(case=case, detail=SIGNAL_DETAIL)

        def entry(name, amount, status, *, earned_at, rule=sale_rule, currency="EUR", approve_after=APPROVABLE_1,
                  who=ada, **extra):
            row = EarningEntryFactory(rule=rule, ambassador=who, amount=Decimal(amount), status=status,
                                      currency=currency if rule.unit == "money" else "", unit=rule.unit,
                                      event=rule.event, approve_after=approve_after, earned_at=earned_at,
                                      campaign=extra.pop("campaign", spring), **extra)
            ledger.entries[name] = row
            return row

        ledger = Ledger(ada=ada, bob=bob, spring=spring)
        paid_1 = entry("paid_1", "20.00", EntryStatus.PAID, payout_item=item, cause="sale:1",
                       earned_at=at(2026, 1, 5), approve_after=at(2026, 2, 4))
        entry("paid_2", "30.00", EntryStatus.PAID, payout_item=item, cause="sale:2", earned_at=at(2026, 1, 6),
              approve_after=at(2026, 2, 5))
        entry("pending_1", "7.40", EntryStatus.PENDING, cause="sale:3", earned_at=at(2026, 4, 12))
        entry("pending_2", "2.60", EntryStatus.PENDING, rule=lead_rule, cause="lead:3", earned_at=at(2026, 4, 11))
        entry("refund", "-3.34", EntryStatus.PENDING, cause="sale:1:refund", adjusts=paid_1,
              approve_after=APPROVABLE_REFUND, earned_at=at(2026, 4, 1))
        entry("pending_usd", "5.00", EntryStatus.PENDING, currency="USD", cause="sale:4", approve_after=APPROVABLE_2,
              earned_at=at(2026, 4, 2))
        entry("held", "4.00", EntryStatus.HELD, cause="sale:5", fraud_case=case, note=SIGNAL_DETAIL,
              earned_at=at(2026, 3, 20))
        entry("approved", "12.40", EntryStatus.APPROVED, cause="sale:6", earned_at=at(2026, 2, 1),
              approve_after=at(2026, 3, 3))
        entry("approved_usd", "30.00", EntryStatus.APPROVED, currency="USD", cause="sale:7", earned_at=at(2026, 2, 2),
              approve_after=at(2026, 3, 4))
        entry("canceled", "9.99", EntryStatus.CANCELED, cause="sale:8", note=CANCEL_NOTE, earned_at=at(2026, 2, 3))
        entry("points", "500", EntryStatus.APPROVED, rule=click_rule, cause="click:AAAA", earned_at=at(2026, 3, 1),
              approve_after=at(2026, 3, 1), campaign=None)
        entry("points_pending", "40", EntryStatus.PENDING, rule=click_rule, cause="click:BBBB",
              earned_at=at(2026, 4, 13), approve_after=APPROVABLE_1)
        entry("bob", "111.11", EntryStatus.APPROVED, who=bob, cause="sale:9", earned_at=at(2026, 3, 15))
    return ledger
