"""Reward rules: what a rule must keep (the model's check constraints) is refused with a message on
its field, the same on the page, the API and in the service; every change is in the audit log with
its values before and after; managers read, admins write, ambassadors are refused, another
organisation's rules are 404."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from rewards.models import AuditEntry, RewardRule
from rewards.services import RewardError, rules
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import (
    CampaignFactory,
    EarningEntryFactory,
    GroupFactory,
    OrganizationFactory,
    RewardRuleFactory,
    member,
)

pytestmark = pytest.mark.django_db

VALID = {"name": "10 % of sales", "event": "sale", "unit": "money", "amount_kind": "percent", "percent": "10.00",
         "split": "model", "recurrence": "lifetime"}


def api(org):
    return f"/api/v1/o/{org.slug}/reward-rules/"


def post_json(client, url, body, method="post"):
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def form_data(**changes):
    data = {"name": "Lead bonus", "event": "lead", "unit": "money", "amount_kind": "flat", "amount": "5.00",
            "percent": "", "split": "model", "recurrence": "lifetime", "recurrence_months": "", "cap_amount": "",
            "cap_period": "", "starts_at": "", "ends_at": "", "campaign": "", "group": "", "ambassador_kind": ""}
    data.update(changes)
    return data


# --- what a rule must keep: one message per broken rule, on its field -----------------------------------

BROKEN = [
    ({"event": "lead", "unit": "money", "amount_kind": "percent", "percent": "10.00"},
     "amount_kind", rules.PERCENT_ONLY_FOR_MONEY_SALES),
    ({"event": "sale", "unit": "points", "amount_kind": "percent", "percent": "10.00"},
     "amount_kind", rules.PERCENT_ONLY_FOR_MONEY_SALES),
    ({"amount_kind": "percent", "percent": None}, "percent", rules.PERCENT_NEEDED),
    ({"amount_kind": "percent", "percent": "150.00"}, "percent", rules.PERCENT_RANGE),
    ({"amount_kind": "flat", "percent": None, "amount": None}, "amount", rules.AMOUNT_NEEDED),
    ({"amount_kind": "flat", "percent": "10.00", "amount": "5.00"}, "percent", rules.NO_PERCENT_WITH_FLAT),
    ({"amount_kind": "flat", "percent": None, "amount": "0.00"}, "amount", rules.AMOUNT_POSITIVE),
    ({"unit": "points", "amount_kind": "flat", "percent": None, "amount": "2.50"}, "amount", rules.WHOLE_POINTS),
    ({"cap_amount": "100.00"}, "cap_period", rules.CAP_NEEDS_PERIOD),
    ({"cap_period": "month"}, "cap_amount", rules.PERIOD_NEEDS_CAP),
    ({"recurrence": "months"}, "recurrence_months", rules.MONTHS_NEEDED),
    ({"recurrence": "months", "recurrence_months": 200}, "recurrence_months", rules.MONTHS_RANGE),
    ({"recurrence": "lifetime", "recurrence_months": 6}, "recurrence_months", rules.MONTHS_ONLY_WITH_MONTHS),
    ({"event": "click", "unit": "points", "amount_kind": "flat", "percent": None, "amount": "1",
      "recurrence": "first_sale"}, "recurrence", rules.RECURRENCE_ONLY_FOR_SALES),
    ({"starts_at": "2026-05-01T00:00:00Z", "ends_at": "2026-04-01T00:00:00Z"}, "ends_at", rules.DATES_ORDERED),
    ({"name": "   "}, "name", rules.NAME_NEEDED),
]


def service_values(changes):
    values = {**VALID, **changes}
    for name in ("percent", "amount", "cap_amount"):
        if values.get(name) is not None:
            values[name] = Decimal(values[name])
    for name in ("starts_at", "ends_at"):
        if values.get(name):
            values[name] = datetime.fromisoformat(values[name].replace("Z", "+00:00"))
    return values


@pytest.mark.parametrize(("changes", "field", "message"), BROKEN)
def test_the_service_refuses_a_broken_rule_with_the_message_on_its_field(org, owner, changes, field, message):
    with pytest.raises(RewardError) as refused:
        rules.create_rule(organization=org, actor=owner, **service_values(changes))
    assert (refused.value.field, refused.value.message) == (field, message)
    with tenant_scope(org):
        assert not RewardRule.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize(("changes", "field", "message"), BROKEN)
def test_the_api_refuses_a_broken_rule_with_the_message_on_its_field(org, owner, login, changes, field, message):
    response = post_json(login(owner), api(org), {**VALID, **changes})
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert message in response.json()[field]


@pytest.mark.parametrize(("changes", "field", "message"),
                         [b for b in BROKEN if "starts_at" not in b[0] and b[1] != "amount_kind"])
def test_the_form_refuses_a_broken_rule_with_the_message_on_its_field(org, owner, login, changes, field, message):
    data = form_data(**{**VALID, **{k: ("" if v is None else v) for k, v in changes.items()}})
    response = login(owner).post(reverse("reward_rule_create", args=[org.slug]), data)
    assert response.status_code == 400
    assert message in response.context["form"].errors.get(field, []), response.context["form"].errors
    with tenant_scope(org):
        assert not RewardRule.objects.exists()


def test_the_database_keeps_the_constraints_the_services_state(org):
    """The check constraints hold even for a write that skips the services."""
    with tenant_scope(org):
        for broken in ({"event": "lead", "amount_kind": "percent", "percent": Decimal("10")},
                       {"amount_kind": "flat", "amount": Decimal("5"), "cap_amount": Decimal("9")},
                       {"amount_kind": "flat", "amount": Decimal("5"), "recurrence": "months"}):
            with pytest.raises(IntegrityError), transaction.atomic():
                RewardRule.objects.create(organization=org, name="x", unit="money",
                                          **{"event": "sale", **broken})


def test_another_organisations_campaign_or_group_is_refused(org, owner, login):
    rival = OrganizationFactory(slug="rival")
    their_campaign, their_group = CampaignFactory(organization=rival), GroupFactory(organization=rival)
    client = login(owner)
    response = post_json(client, api(org), {**VALID, "campaign": str(their_campaign.public_id)})
    assert response.status_code == 400 and "no campaign" in response.json()["campaign"][0]
    response = post_json(client, api(org), {**VALID, "group": their_group.pk})
    assert response.status_code == 400 and "no group" in response.json()["group"][0]
    with pytest.raises(RewardError) as refused:
        rules.create_rule(organization=org, actor=owner, **service_values({}), campaign=their_campaign)
    assert refused.value.field == "campaign"
    response = client.post(reverse("reward_rule_create", args=[org.slug]),
                           form_data(campaign=str(their_campaign.pk)))
    assert response.status_code == 400 and "campaign" in response.context["form"].errors
    with tenant_scope(org):
        assert not RewardRule.objects.exists()


# --- writes and the audit log -------------------------------------------------------------------------

def test_create_update_deactivate_are_audited_with_before_and_after(org, owner, login):
    client = login(owner)
    spring = CampaignFactory(organization=org, name="Spring")
    response = post_json(client, api(org), {**VALID, "campaign": str(spring.public_id), "cap_amount": "100.00",
                                            "cap_period": "month"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["percent"], body["cap_amount"], body["campaign"], body["active"]) == \
        ("10.00", "100.00", str(spring.public_id), True)
    rule_url = f"{api(org)}{body['id']}/"

    response = post_json(client, rule_url, {"percent": "12.50"}, method="patch")
    assert response.status_code == 200 and response.json()["percent"] == "12.50"
    response = post_json(client, rule_url, {"active": False}, method="patch")
    assert response.status_code == 200 and response.json()["active"] is False
    # A PATCH is checked with the rest of the rule: removing the cap's period alone is refused.
    response = post_json(client, rule_url, {"cap_period": ""}, method="patch")
    assert response.status_code == 400 and response.json() == {"cap_period": [rules.CAP_NEEDS_PERIOD]}

    with tenant_scope(org):
        audit = list(AuditEntry.objects.filter(object_id=body["id"]).order_by("pk"))
    assert [a.action for a in audit] == ["reward_rule.create", "reward_rule.update", "reward_rule.deactivate"]
    assert all(a.actor_label == "owner@acme.test" and a.object_type == "reward_rule" for a in audit)
    created, updated, deactivated = audit
    assert created.before is None and created.after["percent"] == "10.00"
    assert created.after["campaign"] == {"id": str(spring.public_id), "name": "Spring"}
    assert (updated.before, updated.after) == ({"percent": "10.00"}, {"percent": "12.50"})
    assert (deactivated.before, deactivated.after) == ({"active": True}, {"active": False})


def test_a_rule_with_earnings_is_not_deleted_but_can_be_deactivated_on_the_page(org, owner, login):
    client = login(owner)
    used, unused = RewardRuleFactory(organization=org, name="Used"), RewardRuleFactory(organization=org)
    EarningEntryFactory(rule=used)
    response = client.delete(f"{api(org)}{used.public_id}/")
    assert response.status_code == 409 and response.json()["code"] == "has_entries"
    assert client.delete(f"{api(org)}{unused.public_id}/").status_code == 204

    response = client.post(reverse("reward_rule_active", args=[org.slug, used.public_id]), {"active": "0"})
    assert response.status_code == 302
    with tenant_scope(org):
        used.refresh_from_db()
        assert not used.active
        assert AuditEntry.objects.filter(action="reward_rule.delete").count() == 1
    page = client.get(reverse("reward_rule_list", args=[org.slug]) + "?show=inactive").content.decode()
    assert "Used" in page and "Reactivate" in page
    assert client.post(reverse("reward_rule_active", args=[org.slug, used.public_id]),
                       {"active": "maybe"}).status_code == 400


def test_the_form_creates_and_edits_a_rule_in_the_organisations_time_zone(org, owner, login):
    client = login(owner)
    group = GroupFactory(organization=org, name="Partners")
    response = client.post(reverse("reward_rule_create", args=[org.slug]), form_data(
        name="Partner leads", group=str(group.pk), starts_at="2026-03-01T09:00", cap_amount="50.00",
        cap_period="week"))
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    with tenant_scope(org):
        rule = RewardRule.objects.get(name="Partner leads")
    assert rule.group == group and rule.amount == Decimal("5.00")
    assert rule.starts_at == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # 09:00 in Paris
    page = client.get(reverse("reward_rule_list", args=[org.slug])).content.decode()
    assert "5.00 EUR per lead; split by the reporting model; at most 50.00 EUR per week" in page

    edit = reverse("reward_rule_edit", args=[org.slug, rule.public_id])
    assert 'value="2026-03-01T09:00"' in client.get(edit).content.decode()
    response = client.post(edit, form_data(name="Partner leads", group=str(group.pk), amount="6.00",
                                           starts_at="2026-03-01T09:00", cap_amount="50.00", cap_period="week"))
    assert response.status_code == 302
    with tenant_scope(org):
        update = AuditEntry.objects.get(action="reward_rule.update")
    assert (update.before, update.after) == ({"amount": "5.00"}, {"amount": "6.00"})
    assert "reward_rule.update" in client.get(edit).content.decode()  # the rule's history


# --- who may do what ------------------------------------------------------------------------------------

def test_managers_read_admins_write_ambassadors_are_refused(org, login):
    rule = RewardRuleFactory(organization=org, name="Visible rule")
    manager = member(org, Role.MANAGER, email="m@acme.test")
    ambassador = member(org, Role.AMBASSADOR, ambassador=True, email="a@acme.test")
    admin = member(org, Role.ADMIN, email="ad@acme.test")
    client = login(manager)
    assert client.get(api(org)).json()["results"][0]["name"] == "Visible rule"
    assert "Visible rule" in client.get(reverse("reward_rule_list", args=[org.slug])).content.decode()
    assert post_json(client, api(org), VALID).status_code == 403
    assert post_json(client, f"{api(org)}{rule.public_id}/", {"active": False}, method="patch").status_code == 403
    assert client.get(reverse("reward_rule_create", args=[org.slug])).status_code == 403
    assert client.post(reverse("reward_rule_active", args=[org.slug, rule.public_id]),
                       {"active": "0"}).status_code == 403
    client = login(ambassador)
    assert client.get(api(org)).status_code == 403
    assert client.get(reverse("reward_rule_list", args=[org.slug])).status_code == 403
    client = login(admin)
    assert post_json(client, api(org), VALID).status_code == 201
    assert client.get(reverse("reward_rule_edit", args=[org.slug, rule.public_id])).status_code == 200


def test_another_organisations_rules_are_not_found(org, owner, login):
    rival = OrganizationFactory(slug="rival")
    theirs = RewardRuleFactory(organization=rival, name="Rival rule")
    client = login(owner)
    assert client.get(f"{api(org)}{theirs.public_id}/").status_code == 404
    assert post_json(client, f"{api(org)}{theirs.public_id}/", {"active": False}, method="patch").status_code == 404
    assert client.delete(f"{api(org)}{theirs.public_id}/").status_code == 404
    assert client.get(reverse("reward_rule_edit", args=[org.slug, theirs.public_id])).status_code == 404
    assert client.post(reverse("reward_rule_active", args=[org.slug, theirs.public_id]),
                       {"active": "0"}).status_code == 404
    assert client.get(f"/api/v1/o/{rival.slug}/reward-rules/").status_code == 404
    assert "Rival rule" not in client.get(api(org)).content.decode()
    with tenant_scope(rival):
        theirs.refresh_from_db()
        assert theirs.active


def test_points_amounts_are_whole_numbers_in_the_api(org, owner, login):
    response = post_json(login(owner), api(org), {"name": "Click points", "event": "click", "unit": "points",
                                                  "amount_kind": "flat", "amount": "3"})
    assert response.status_code == 201 and response.json()["amount"] == "3"
    starts = timezone.now()
    rule = rules.create_rule(organization=org, actor=owner, name="Dated", event="lead", unit="money",
                             amount=Decimal("1.00"), starts_at=starts, ends_at=starts + timedelta(days=1))
    assert rule.ends_at > rule.starts_at
