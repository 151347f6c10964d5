"""The reward settings page (admins): point value, minimum payout, holding periods, click
velocity and per-group holding periods, each change in the audit log with before and after."""

from decimal import Decimal

import pytest

from rewards.models import AuditEntry, GroupHolding, RewardSettings
from rewards.selectors.settings import reward_settings
from rewards.services import RewardError
from rewards.services.settings import remove_group_holding, set_group_holding, update_settings
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import GroupFactory, OrganizationFactory, member
from tests.support.responses import content

URL = "/o/{slug}/manage/rewards/settings/"
FORM = {"point_value": "0.0100", "minimum_payout": "50.00", "money_holding_days": "14", "points_holding_days": "0",
        "max_clicks_per_minute": "60"}


@pytest.fixture
def admin(org):
    return member(org, Role.ADMIN, email="admin@acme.test")


def test_defaults_are_read_without_writing_and_changes_are_audited(org, admin, login):
    with tenant_scope(org):
        defaults = reward_settings(org.pk)
        assert (defaults.point_value, defaults.money_holding_days, defaults.points_holding_days) == (0, 30, 0)
        assert not RewardSettings.objects.exists()
    client = login(admin)
    page = content(client.get(URL.format(slug=org.slug)))
    assert "Reward settings" in page and 'name="point_value"' in page
    response = client.post(URL.format(slug=org.slug), FORM, follow=True)
    assert "Saved." in content(response)
    with tenant_scope(org):
        stored = RewardSettings.objects.get()
        assert (stored.point_value, stored.minimum_payout, stored.money_holding_days) == (
            Decimal("0.0100"), Decimal("50.00"), 14)
        entry = AuditEntry.objects.get(action="reward_settings.changed")
        assert entry.actor == admin and entry.actor_label == "admin@acme.test"
        assert entry.before == {"point_value": "0.0000", "minimum_payout": "0.00", "money_holding_days": 30}
        assert entry.after == {"point_value": "0.0100", "minimum_payout": "50.00", "money_holding_days": 14}
    client.post(URL.format(slug=org.slug), FORM)  # the same values again: nothing to record
    with tenant_scope(org):
        assert AuditEntry.objects.filter(action="reward_settings.changed").count() == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("point_value", "-1", "Ensure this value is greater than or equal to 0."),
    ("point_value", "0.00001", "Ensure that there are no more than 4 decimal places."),
    ("minimum_payout", "25.00", "Select a valid choice."),
    ("money_holding_days", "3", "Select a valid choice."),
    ("max_clicks_per_minute", "0", "Ensure this value is greater than or equal to 1."),
])
def test_bad_values_are_refused_with_a_message_and_nothing_changes(org, admin, login, field, value, message):
    response = login(admin).post(URL.format(slug=org.slug), FORM | {field: value})
    assert response.status_code == 400 and message in content(response)
    with tenant_scope(org):
        assert not RewardSettings.objects.exists() and not AuditEntry.objects.exists()


def test_the_service_refuses_what_the_form_would(org):
    with tenant_scope(org):
        for field, value, message in [("point_value", "abc", "Enter an amount"),
                                      ("point_value", "1.23456", "4 decimal"),
                                      ("minimum_payout", "7", "Choose one of 0, 10, 20, 50, 100"),
                                      ("points_holding_days", 5, "Choose one of 0, 7, 14, 30, 60, 90 days."),
                                      ("max_clicks_per_minute", "x", "whole number")]:
            with pytest.raises(RewardError, match=message) as caught:
                update_settings(org.pk, actor=None, **{field: value})
            assert caught.value.field == field
        assert not AuditEntry.objects.exists()


def test_group_holding_periods_are_set_changed_and_removed_with_audit(org, admin, login):
    group = GroupFactory(organization=org, name="Partners")
    client = login(admin)
    url = f"/o/{org.slug}/manage/rewards/settings/holding/"
    bad = client.post(url, {"holding-group": group.pk, "holding-money_holding_days": "5",
                            "holding-points_holding_days": "0"})
    assert bad.status_code == 400 and "Select a valid choice." in content(bad)
    page = content(client.post(url, {"holding-group": group.pk, "holding-money_holding_days": "60",
                                     "holding-points_holding_days": "7"}, follow=True))
    assert "Saved the holding periods of Partners." in page and "60 days" in page
    client.post(url, {"holding-group": group.pk, "holding-money_holding_days": "90",
                      "holding-points_holding_days": "7"})
    with tenant_scope(org):
        holding = GroupHolding.objects.get()
        assert (holding.money_holding_days, holding.points_holding_days) == (90, 7)
    client.post(f"/o/{org.slug}/manage/rewards/settings/holding/{group.pk}/delete/")
    with tenant_scope(org):
        assert not GroupHolding.objects.exists()
        entries = list(AuditEntry.objects.filter(object_type="group_holding").order_by("pk"))
    assert [e.action for e in entries] == ["group_holding.set", "group_holding.set", "group_holding.removed"]
    assert entries[0].before is None and entries[0].after == {"group": "Partners", "money_holding_days": 60,
                                                              "points_holding_days": 7}
    assert entries[1].before["money_holding_days"] == 60 and entries[1].after["money_holding_days"] == 90
    assert entries[2].before["money_holding_days"] == 90 and entries[2].after is None
    with tenant_scope(org):
        assert remove_group_holding(group, actor=None) is False
        set_group_holding(group, actor=None, money_holding_days=0, points_holding_days=0)
        set_group_holding(group, actor=None, money_holding_days=0, points_holding_days=0)  # unchanged: no entry
        assert AuditEntry.objects.filter(object_type="group_holding").count() == 4


def test_only_admins_of_this_organisation(org, admin, manager, login, client):
    login(manager)
    assert client.get(URL.format(slug=org.slug)).status_code == 403
    assert client.post(URL.format(slug=org.slug), FORM).status_code == 403
    other = OrganizationFactory(slug="rival")
    their_group = GroupFactory(organization=other)
    login(admin)
    assert client.get(URL.format(slug=other.slug)).status_code == 404
    assert client.post(f"/o/{org.slug}/manage/rewards/settings/holding/{their_group.pk}/delete/").status_code == 404
    response = client.post(f"/o/{org.slug}/manage/rewards/settings/holding/",
                           {"holding-group": their_group.pk, "holding-money_holding_days": "7",
                            "holding-points_holding_days": "7"})
    assert response.status_code == 400  # not one of this organisation's groups
    with tenant_scope(other):
        assert not GroupHolding.objects.exists()
