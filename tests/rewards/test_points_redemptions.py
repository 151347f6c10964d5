"""Redemptions (rewards.services.points): balance, stock, per-ambassador limits and groups are
checked under row locks; a first redemption, or one by an ambassador who joined without an
invitation, waits for an admin; declining gives the points and the stock back; every step is
in the audit log; ten ambassadors racing for the last item leave exactly one winner."""

import threading

import pytest
from django.db import connection

from ambassadors.models import Status
from ambassadors.services import invitations, programme
from rewards.models import AuditEntry, CatalogueItem, Redemption, RedemptionStatus
from rewards.selectors.points import points_balance
from rewards.services import RewardError
from rewards.services import points as service
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import (
    AmbassadorFactory,
    CatalogueItemFactory,
    GroupFactory,
    JoinPageFactory,
    OrganizationFactory,
    RedemptionFactory,
    UserFactory,
    member,
)
from tests.support.points import earn, invited_ambassador


@pytest.fixture
def admin(org):
    return member(org, Role.ADMIN, email="admin@acme.test")


@pytest.fixture
def ada(org):
    ambassador = invited_ambassador(org, display_name="Ada")
    earn(ambassador, 1000)
    return ambassador


def redeem(ambassador, item):
    with tenant_scope(ambassador.organization):
        return service.request_redemption(ambassador, item)


def refusal(ambassador, item) -> RewardError:
    with tenant_scope(ambassador.organization), pytest.raises(RewardError) as caught:
        service.request_redemption(ambassador, item)
    return caught.value


def test_not_enough_points_says_how_many_they_have_and_need(org):
    ambassador = invited_ambassador(org)
    earn(ambassador, 120)
    earn(ambassador, 900, status="pending")  # not spendable yet
    item = CatalogueItemFactory(organization=org, points_cost=500)
    error = refusal(ambassador, item)
    assert (error.field, error.message) == ("points", "You have 120 points; this needs 500.")
    with tenant_scope(org):
        assert not Redemption.objects.exists() and not AuditEntry.objects.exists()


def test_a_first_redemption_waits_for_approval_then_later_ones_are_approved_at_once(org, ada, admin):
    item = CatalogueItemFactory(organization=org, points_cost=300, stock=5)
    first = redeem(ada, item)
    assert (first.status, first.needs_approval, first.points) == ("requested", True, 300)
    second = redeem(ada, item)
    assert second.status == "requested"  # still nothing of theirs approved
    with tenant_scope(org):
        assert points_balance(ada) == 400  # both set their points aside at once
        service.approve_redemption(first, actor=admin, note="Enjoy")
        third = service.request_redemption(ada, item)
        assert (third.status, third.needs_approval, third.decided_at is not None) == ("approved", False, True)
        assert CatalogueItem.objects.get(pk=item.pk).stock == 2
        actions = list(AuditEntry.objects.filter(object_id=str(third.public_id)).order_by("pk")
                       .values_list("action", "actor_label"))
    assert actions == [("redemption.requested", ada.user.email), ("redemption.approved", "system")]
    assert points_balance_in(org, ada) == 100


def points_balance_in(org, ambassador):
    with tenant_scope(org):
        return points_balance(ambassador)


def test_an_ambassador_who_came_through_the_join_page_always_needs_approval(org, admin):
    JoinPageFactory(organization=org, requires_approval=False)
    user = UserFactory(email="walkin@example.com")
    with tenant_scope(org):
        walk_in = programme.apply(organization=org, user=user, display_name="Walk In")
    earn(walk_in, 1000)
    item = CatalogueItemFactory(organization=org, points_cost=100)
    first = redeem(walk_in, item)
    with tenant_scope(org):
        service.approve_redemption(first, actor=admin)
        service.fulfil_redemption(first, actor=admin)
    assert redeem(walk_in, item).status == "requested"  # approved before, but no invitation vouched for them


def test_an_invited_ambassador_who_then_applied_on_the_join_page_counts_as_invited(org, admin):
    JoinPageFactory(organization=org, requires_approval=True)
    user = UserFactory(email="invitee@example.com")
    with tenant_scope(org):
        invitations.invite(organization=org, email="invitee@example.com", send=False)
        ambassador = programme.apply(organization=org, user=user, display_name="Invitee")
    assert ambassador.status == Status.ACTIVE
    earn(ambassador, 1000)
    item = CatalogueItemFactory(organization=org, points_cost=100)
    with tenant_scope(org):
        service.approve_redemption(service.request_redemption(ambassador, item), actor=admin)
        assert service.request_redemption(ambassador, item).status == "approved"


def test_decline_returns_the_points_and_the_stock_and_is_audited(org, ada, admin):
    item = CatalogueItemFactory(organization=org, points_cost=400, stock=1)
    redemption = redeem(ada, item)
    with tenant_scope(org):
        assert (points_balance(ada), CatalogueItem.objects.get(pk=item.pk).stock) == (600, 0)
        service.decline_redemption(redemption, actor=admin, note="Out of sizes")
        assert (points_balance(ada), CatalogueItem.objects.get(pk=item.pk).stock) == (1000, 1)
        redemption.refresh_from_db()
        assert (redemption.status, redemption.note, redemption.decided_by) == ("declined", "Out of sizes", admin)
        entry = AuditEntry.objects.get(action="redemption.declined")
        assert entry.actor == admin and entry.before == {"status": "requested"}
        assert entry.after["points_returned"] == 400 and entry.after["stock_returned"] is True
        with pytest.raises(RewardError, match="already declined"):
            service.decline_redemption(redemption, actor=admin)
        assert CatalogueItem.objects.get(pk=item.pk).stock == 1  # declining twice returns nothing twice


def test_decisions_follow_the_order_requested_approved_fulfilled(org, ada, admin):
    item = CatalogueItemFactory(organization=org, points_cost=100)
    redemption = redeem(ada, item)
    with tenant_scope(org):
        with pytest.raises(RewardError, match="Approve this redemption before marking it fulfilled"):
            service.fulfil_redemption(redemption, actor=admin)
        service.approve_redemption(redemption, actor=admin)
        with pytest.raises(RewardError, match="already approved"):
            service.approve_redemption(redemption, actor=admin)
        service.fulfil_redemption(redemption, actor=admin)
        with pytest.raises(RewardError, match="fulfilled .* can't be declined"):
            service.decline_redemption(redemption, actor=admin)
        assert points_balance(ada) == 900
        actions = AuditEntry.objects.filter(object_type="redemption").order_by("pk").values_list("action", flat=True)
        assert list(actions) == ["redemption.requested", "redemption.approved", "redemption.fulfilled"]


def test_stock_limits_groups_and_withdrawn_items(org, ada):
    sold_out = CatalogueItemFactory(organization=org, points_cost=10, stock=0)
    assert refusal(ada, sold_out).message == "This item is out of stock."
    once = CatalogueItemFactory(organization=org, points_cost=10, per_ambassador_limit=1)
    redeem(ada, once)
    assert refusal(ada, once).message == "Each ambassador may redeem this item once, and you have."
    twice = CatalogueItemFactory(organization=org, points_cost=10, per_ambassador_limit=2)
    declined = redeem(ada, twice)
    with tenant_scope(org):
        declined.status = RedemptionStatus.DECLINED
        declined.save()
    redeem(ada, twice)
    redeem(ada, twice)  # the declined one doesn't count against the limit
    assert "2 times" in refusal(ada, twice).message
    group, other_group = GroupFactory(organization=org), GroupFactory(organization=org)
    ada.groups.add(group)
    theirs = CatalogueItemFactory(organization=org, points_cost=10)
    theirs.groups.add(other_group)
    assert refusal(ada, theirs).message == "This item is for other groups of ambassadors."
    ours = CatalogueItemFactory(organization=org, points_cost=10)
    ours.groups.add(group, other_group)
    assert redeem(ada, ours).status == "requested"
    withdrawn = CatalogueItemFactory(organization=org, points_cost=10, active=False)
    assert refusal(ada, withdrawn).message == "This item is no longer in the catalogue."
    removed = invited_ambassador(org)
    earn(removed, 100)
    removed.status = Status.REMOVED
    with tenant_scope(org):
        removed.save()
    assert refusal(removed, ours).message == "Only active ambassadors can redeem points."


def test_another_organisations_item_cant_be_redeemed(org, ada):
    other = OrganizationFactory()
    foreign = CatalogueItemFactory(organization=other, points_cost=1)
    with tenant_scope(org), pytest.raises(CatalogueItem.DoesNotExist):
        service.request_redemption(ada, foreign)  # not even found in this organisation's scope


def test_catalogue_items_are_created_changed_and_deleted_with_audit_entries(org, admin):
    group = GroupFactory(organization=org, name="Partners")
    with tenant_scope(org):
        with pytest.raises(RewardError) as caught:
            service.create_item(organization=org, actor=admin, name="  ", points_cost=10)
        assert caught.value.field == "name"
        with pytest.raises(RewardError, match="whole number of points"):
            service.create_item(organization=org, actor=admin, name="Mug", points_cost=0)
        item = service.create_item(organization=org, actor=admin, name="Mug", points_cost=200, stock=10,
                                   groups=[group])
        service.update_item(item, actor=admin, points_cost=250, stock=10, groups=[])
        service.update_item(item, actor=admin, name="Mug")  # no change: nothing recorded
        created, changed = AuditEntry.objects.filter(object_type="catalogue_item").order_by("pk")
        assert created.action == "catalogue_item.created" and created.after["groups"] == ["Partners"]
        assert (changed.before, changed.after) == ({"points_cost": 200, "groups": ["Partners"]},
                                                   {"points_cost": 250, "groups": []})
        assert AuditEntry.objects.filter(object_type="catalogue_item").count() == 2
        ambassador = AmbassadorFactory(organization=org)
        RedemptionFactory(organization=org, item=item, ambassador=ambassador)
        with pytest.raises(RewardError, match="deactivate it instead"):
            service.delete_item(item, actor=admin)
        unused = service.create_item(organization=org, actor=admin, name="Sticker", points_cost=5)
        service.delete_item(unused, actor=admin)
        assert not CatalogueItem.objects.filter(pk=unused.pk).exists()
        assert AuditEntry.objects.get(action="catalogue_item.deleted").before["name"] == "Sticker"


N = 10


@pytest.mark.django_db(transaction=True)
def test_ten_ambassadors_racing_for_the_last_item_leave_one_winner():
    """Each thread has its own connection; on PostgreSQL the transactions really overlap and
    the item's row lock decides, on SQLite (IMMEDIATE transactions) they queue."""
    org = OrganizationFactory(slug="race")
    racers = []
    for n in range(N):
        ambassador = invited_ambassador(org, display_name=f"Racer {n}")
        earn(ambassador, 500)
        racers.append(ambassador)
    item = CatalogueItemFactory(organization=org, points_cost=500, stock=1)
    barrier = threading.Barrier(N)
    outcomes = [None] * N

    def race(i):
        try:
            barrier.wait(timeout=30)
            with tenant_scope(org):
                outcomes[i] = service.request_redemption(racers[i], item).status
        except RewardError as error:
            outcomes[i] = error.message
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(i,)) for i in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes, key=str) == ["This item is out of stock."] * (N - 1) + ["requested"]
    with tenant_scope(org):
        assert CatalogueItem.objects.get(pk=item.pk).stock == 0
        assert Redemption.objects.count() == 1
        winner = Redemption.objects.get().ambassador
        assert [points_balance(a) for a in racers].count(0) == 1 and points_balance(winner) == 0


@pytest.mark.django_db(transaction=True)
def test_one_ambassador_cant_spend_the_same_points_twice_at_once():
    """Two different items (two item locks): the ambassador's row lock serialises their spending."""
    org = OrganizationFactory(slug="twice")
    ambassador = invited_ambassador(org)
    earn(ambassador, 500)
    items = [CatalogueItemFactory(organization=org, points_cost=400) for _ in range(N)]
    barrier = threading.Barrier(N)
    outcomes = [None] * N

    def spend(i):
        try:
            barrier.wait(timeout=30)
            with tenant_scope(org):
                outcomes[i] = service.request_redemption(ambassador, items[i]).status
        except RewardError as error:
            outcomes[i] = error.message
        finally:
            connection.close()

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("requested") == 1
    assert outcomes.count("You have 100 points; this needs 400.") == N - 1
    with tenant_scope(org):
        assert points_balance(ambassador) == 100
