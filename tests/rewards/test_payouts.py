"""Payout runs (rewards.services.payouts): approved money netted per ambassador and currency
(negative corrections included), the minimum payout, exclusions, payout details, one open run at
a time, confirm, cancel (entries approved again), mark paid acting only on its own run, the
audit log and the outbox event, and nothing half-written when a run fails midway."""

from decimal import Decimal

import pytest

from ambassadors.models import Kind
from common.models import OutboxEvent
from rewards.models import AuditEntry, EarningEntry, EntryStatus, PayoutItem, PayoutRun, PayoutStatus
from rewards.services import RewardError, payouts
from tenancy.models import Role
from tenancy.scoping import scopes_disabled, tenant_scope
from tests.factories import AmbassadorFactory, RewardRuleFactory, RewardSettingsFactory, member
from tests.support.payouts import approved, give_iban, give_paypal

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def admin(org):
    return member(org, Role.ADMIN, email="admin@acme.test")


@pytest.fixture
def rule(org):
    return RewardRuleFactory(organization=org)


def external(org, name, email=None):
    ambassador = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL, display_name=name)
    give_paypal(ambassador, email or f"{name.lower()}@paypal.example")
    return ambassador


def items_of(run) -> dict[tuple[str, str], tuple[Decimal, int]]:
    with tenant_scope(run.organization_id):
        return {(item.ambassador.display_name, item.currency): (item.amount, item.entry_count)
                for item in run.items.select_related("ambassador")}


def statuses(*entries) -> list[str]:
    with scopes_disabled():
        return [EarningEntry.objects.get(pk=entry.pk).status for entry in entries]


def test_a_run_nets_approved_money_per_ambassador_and_currency(org, admin, rule):
    ana, ben = external(org, "Ana"), external(org, "Ben")
    entries = [approved(ana, "33.34", rule=rule), approved(ana, "10.00", rule=rule), approved(ana, "-3.34", rule=rule),
               approved(ana, "7.50", "USD", rule=rule), approved(ben, "33.33", rule=rule)]
    pending = approved(ben, "99.00", rule=rule, status=EntryStatus.PENDING)
    points = approved(ben, "5", "", rule=RewardRuleFactory(organization=org, unit="points", amount_kind="flat",
                                                           amount=D("5"), percent=None), unit="points")
    run = payouts.create_run(org.pk, admin)
    assert run.status == PayoutStatus.DRAFT and run.created_by == admin
    assert items_of(run) == {("Ana", "EUR"): (D("40.00"), 3), ("Ana", "USD"): (D("7.50"), 1),
                             ("Ben", "EUR"): (D("33.33"), 1)}
    assert set(statuses(*entries)) == {EntryStatus.IN_PAYOUT}
    assert statuses(pending, points) == [EntryStatus.PENDING, EntryStatus.APPROVED]
    with scopes_disabled():
        assert all(e.payout_item.run_id == run.pk for e in EarningEntry.objects.filter(status=EntryStatus.IN_PAYOUT))
    review = payouts.review(run)
    assert review.totals == {"EUR": D("73.33"), "USD": D("7.50")}
    with tenant_scope(org):
        entry = AuditEntry.objects.get(action="payout_run.created")
    assert entry.after["totals"] == {"EUR": "73.33", "USD": "7.50"} and entry.after["entries"] == 5


def test_a_refund_after_payout_is_netted_in_the_next_run(org, admin, rule):
    """The hand-worked case: 33.34 paid; the sale refunded → −33.34 approved, netted against new money."""
    ana = external(org, "Ana")
    sale = approved(ana, "33.34", rule=rule, cause="sale:1")
    first = payouts.create_run(org.pk, admin)
    payouts.confirm(first, admin)
    payouts.mark_paid(first, admin)
    refund = approved(ana, "-33.34", rule=rule, cause="sale:1:refund", adjusts=sale)
    with pytest.raises(RewardError, match="Nothing to pay"):  # alone, the refund is owed, not payable
        payouts.create_run(org.pk, admin)
    assert payouts.preview(org.pk).left_out[0].reason == payouts.Reason.NOT_POSITIVE
    later = approved(ana, "50.00", rule=rule, cause="sale:2")
    second = payouts.create_run(org.pk, admin)
    assert items_of(second) == {("Ana", "EUR"): (D("16.66"), 2)}
    assert statuses(sale, refund, later) == [EntryStatus.PAID, EntryStatus.IN_PAYOUT, EntryStatus.IN_PAYOUT]


def test_the_minimum_payout_leaves_small_totals_to_carry_over(org, admin, rule):
    RewardSettingsFactory(organization=org, minimum_payout=D("50"))
    ana, ben = external(org, "Ana"), external(org, "Ben")
    approved(ana, "49.99", rule=rule)
    big = approved(ben, "30.00", rule=rule), approved(ben, "20.00", rule=rule)
    run = payouts.create_run(org.pk, admin)
    assert items_of(run) == {("Ben", "EUR"): (D("50.00"), 2)}
    left = payouts.review(run).left_out
    assert [(row.ambassador.display_name, row.amount, row.reason) for row in left] == [
        ("Ana", D("49.99"), payouts.Reason.BELOW_MINIMUM)]
    assert set(statuses(*big)) == {EntryStatus.IN_PAYOUT}


def test_exclusions_and_missing_details_are_left_out_and_listed(org, admin, rule):
    ana, ben = external(org, "Ana"), external(org, "Ben")
    cat = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL, display_name="Cat")  # no payout details
    dan = AmbassadorFactory(organization=org, kind=Kind.INTERNAL, display_name="Dan")  # payroll: no details needed
    for person in (ana, ben, cat, dan):
        approved(person, "20.00", rule=rule)
    run = payouts.create_run(org.pk, admin, exclude=[ben])
    assert set(items_of(run)) == {("Ana", "EUR"), ("Dan", "EUR")}
    review = payouts.review(run)
    assert [a.display_name for a in review.excluded] == ["Ben"]
    assert {(row.ambassador.display_name, row.reason) for row in review.left_out} == {
        ("Ben", payouts.Reason.EXCLUDED), ("Cat", payouts.Reason.NO_DETAILS)}
    assert {row.item.ambassador.display_name: row.channel for row in review.items} == {"Ana": "paypal",
                                                                                       "Dan": "payroll"}


def test_excluding_another_organisations_ambassador_is_refused(org, other_org, admin, rule):
    approved(external(org, "Ana"), "20.00", rule=rule)
    stranger = AmbassadorFactory(organization=other_org)
    with pytest.raises(RewardError) as error:
        payouts.create_run(org.pk, admin, exclude=[stranger])
    assert error.value.field == "exclude"
    with scopes_disabled():
        assert not PayoutRun.objects.exists()


def test_one_open_run_at_a_time(org, admin, rule):
    ana = external(org, "Ana")
    approved(ana, "20.00", rule=rule)
    first = payouts.create_run(org.pk, admin)
    approved(ana, "5.00", rule=rule)
    with pytest.raises(RewardError, match="already open") as error:
        payouts.create_run(org.pk, admin)
    assert error.value.code == "run_open"
    payouts.confirm(first, admin)
    with pytest.raises(RewardError, match="already open"):
        payouts.create_run(org.pk, admin)
    payouts.mark_paid(first, admin)
    second = payouts.create_run(org.pk, admin)
    assert items_of(second) == {("Ana", "EUR"): (D("5.00"), 1)}


def test_an_entry_approved_after_the_run_was_made_waits_for_the_next(org, admin, rule):
    ana = external(org, "Ana")
    approved(ana, "20.00", rule=rule)
    run = payouts.create_run(org.pk, admin)
    late = approved(ana, "3.00", rule=rule)
    assert [(row.amount, row.reason) for row in payouts.review(run).left_out] == [(D("3.00"), payouts.Reason.LATER)]
    payouts.confirm(run, admin)
    payouts.mark_paid(run, admin)
    assert statuses(late) == [EntryStatus.APPROVED]


def test_cancel_returns_the_entries_to_approved_and_keeps_the_run_as_history(org, admin, rule):
    ana = external(org, "Ana")
    entries = [approved(ana, "20.00", rule=rule), approved(ana, "-5.00", rule=rule)]
    run = payouts.create_run(org.pk, admin)
    payouts.confirm(run, admin)
    payouts.cancel(run, admin)
    assert run.status == PayoutStatus.CANCELED
    assert statuses(*entries) == [EntryStatus.APPROVED, EntryStatus.APPROVED]
    with scopes_disabled():
        assert not EarningEntry.objects.filter(payout_item__isnull=False).exists()
        assert PayoutItem.objects.filter(run=run).count() == 1  # what it would have paid, kept
    with pytest.raises(RewardError, match="canceled"):
        payouts.mark_paid(run, admin)
    again = payouts.create_run(org.pk, admin)  # the money goes into the next run
    assert items_of(again) == {("Ana", "EUR"): (D("15.00"), 2)}


def test_status_moves_are_refused_out_of_order(org, admin, rule):
    approved(external(org, "Ana"), "20.00", rule=rule)
    run = payouts.create_run(org.pk, admin)
    with pytest.raises(RewardError, match="can't be marked paid"):
        payouts.mark_paid(run, admin)  # a draft must be confirmed first
    payouts.confirm(run, admin)
    with pytest.raises(RewardError, match="can't be confirmed"):
        payouts.confirm(run, admin)
    payouts.mark_paid(run, admin)
    for move in (payouts.cancel, payouts.mark_paid, payouts.confirm):
        with pytest.raises(RewardError):
            move(run, admin)


def test_mark_paid_acts_only_on_its_own_run(org, other_org, admin, rule):
    """Two organisations each with an open run: marking one paid leaves the other's entries in
    their payout, and entries outside any run untouched."""
    ana = external(org, "Ana")
    mine = [approved(ana, "20.00", rule=rule), approved(ana, "1.00", "USD", rule=rule)]
    theirs_admin = member(other_org, Role.ADMIN)
    zed = external(other_org, "Zed")
    theirs = approved(zed, "30.00")
    run = payouts.create_run(org.pk, admin)
    other_run = payouts.create_run(other_org.pk, theirs_admin)
    outside = approved(ana, "4.00", rule=rule)
    held = approved(ana, "9.00", rule=rule, status=EntryStatus.HELD)
    payouts.confirm(run, admin)
    payouts.confirm(other_run, theirs_admin)
    payouts.mark_paid(run, admin)
    assert statuses(*mine) == [EntryStatus.PAID, EntryStatus.PAID]
    assert statuses(theirs, outside, held) == [EntryStatus.IN_PAYOUT, EntryStatus.APPROVED, EntryStatus.HELD]
    other_run.refresh_from_db()
    assert other_run.status == PayoutStatus.CONFIRMED and other_run.paid_at is None
    run.refresh_from_db()
    assert run.status == PayoutStatus.PAID and run.paid_at is not None
    with scopes_disabled():
        event = OutboxEvent.objects.get(topic="payout.paid")
    assert (event.key, event.organization_id, event.payload) == (f"payout.paid:{run.pk}", org.pk, {"run": run.pk})


def test_every_step_is_audited(org, admin, rule):
    approved(external(org, "Ana"), "20.00", rule=rule)
    run = payouts.create_run(org.pk, admin)
    payouts.confirm(run, admin)
    payouts.mark_paid(run, admin)
    with tenant_scope(org):
        rows = list(AuditEntry.objects.filter(object_id=str(run.public_id)).order_by("pk"))
    assert [(r.action, r.actor_id, (r.before or {}).get("status"), r.after["status"]) for r in rows] == [
        ("payout_run.created", admin.pk, None, "draft"),
        ("payout_run.confirmed", admin.pk, "draft", "confirmed"),
        ("payout_run.marked_paid", admin.pk, "confirmed", "paid"),
    ]
    assert rows[-1].after["entries_paid"] == 1 and rows[-1].after["totals"] == {"EUR": "20.00"}


def test_an_entry_already_in_a_run_is_never_claimed_again(org, admin, rule, monkeypatch):
    """The claim is conditional on approved-and-in-no-run: an entry moved by someone else between
    the totals' read and the claim (here: held) is not taken, and the item is recounted."""
    ana, ben = external(org, "Ana"), external(org, "Ben")
    kept = approved(ana, "20.00", rule=rule)
    taken = approved(ana, "5.00", rule=rule)
    gone = approved(ben, "8.00", rule=rule)
    plan = payouts._plan

    def plan_then_hold(*args, **kwargs):  # a concurrent hold lands right after the totals were read
        result = plan(*args, **kwargs)
        EarningEntry.objects.filter(pk__in=[taken.pk, gone.pk]).update(status=EntryStatus.HELD)
        return result

    monkeypatch.setattr(payouts, "_plan", plan_then_hold)
    run = payouts.create_run(org.pk, admin)
    assert items_of(run) == {("Ana", "EUR"): (D("20.00"), 1)}  # Ben's item dropped: nothing left to pay
    assert statuses(kept, taken, gone) == [EntryStatus.IN_PAYOUT, EntryStatus.HELD, EntryStatus.HELD]


def test_a_failure_midway_leaves_nothing_half_written(org, admin, rule, monkeypatch):
    """create_run runs in the request, in one transaction: an error after the entries were claimed
    (here: the audit write) rolls back the run, its items and every claim."""
    ana = external(org, "Ana")
    entries = [approved(ana, "20.00", rule=rule), approved(ana, "2.00", rule=rule)]

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(payouts.audit, "record", broken)
    with pytest.raises(RuntimeError):
        payouts.create_run(org.pk, admin)
    with scopes_disabled():
        assert not PayoutRun.objects.exists() and not PayoutItem.objects.exists()
    assert statuses(*entries) == [EntryStatus.APPROVED, EntryStatus.APPROVED]
    monkeypatch.undo()
    run = payouts.create_run(org.pk, admin)  # and the next attempt pays it all, once
    assert items_of(run) == {("Ana", "EUR"): (D("22.00"), 2)}


def test_iban_ambassadors_are_paid_by_bank(org, admin, rule):
    bea = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL, display_name="Bea")
    give_iban(bea)
    approved(bea, "12.00", rule=rule)
    review = payouts.review(payouts.create_run(org.pk, admin))
    assert [(row.channel, row.masked) for row in review.items] == [("bank", "DE89 •••• •••• 3000")]
