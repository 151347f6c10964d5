"""The beat keeps earnings and approvals moving: dispatchers find the organisations, the tasks
call the services with explicit ids."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from rewards import tasks
from rewards.models import EarningEntry
from tenancy.scoping import tenant_scope
from tests.factories import EarningEntryFactory, OrganizationFactory
from tests.support.rewards import flat_rule, reward_rule
from tests.support.scenario import Scenario

pytestmark = pytest.mark.django_db


def test_the_beat_schedules_both_dispatchers():
    assert settings.CELERY_BEAT_SCHEDULE["dispatch-earnings"]["task"] == tasks.dispatch_earnings.name
    assert settings.CELERY_BEAT_SCHEDULE["dispatch-earnings"]["schedule"] == timedelta(seconds=30)
    assert settings.CELERY_BEAT_SCHEDULE["dispatch-approvals"]["task"] == tasks.dispatch_approvals.name


def test_dispatch_earnings_queues_organisations_with_rules_once(org, monkeypatch):
    quiet = OrganizationFactory(slug="quiet")
    paused = OrganizationFactory(slug="paused")
    reward_rule(org)
    flat_rule(paused, "lead", "5.00", active=False)  # refunds still reach a paused rule's entries
    queued = []
    monkeypatch.setattr(tasks.compute_earnings, "delay", queued.append)
    assert tasks.dispatch_earnings() == 2
    assert sorted(queued) == sorted([org.pk, paused.pk])
    assert quiet.pk not in queued
    assert tasks.dispatch_earnings() == 0  # still queued (the cache key): not twice


def test_the_task_computes_and_approves_points_due_at_once(org):
    s = Scenario(org)
    link = s.link(s.campaign("Spring"), s.ambassador("Ada"))
    s.visitor().clicks(link, timezone.now() - timedelta(minutes=5))
    s.process()
    flat_rule(org, "click", "3", unit="points")  # points: 0 holding days by default
    assert tasks.compute_earnings(org.pk) == 1
    with tenant_scope(org):
        assert list(EarningEntry.objects.values_list("cause", "amount", "status")) == [
            (f"click:{_click_id(org)}", Decimal("3.00"), "approved")]


def test_dispatch_approvals_queues_organisations_with_due_entries(org, monkeypatch):
    other = OrganizationFactory(slug="other")
    with tenant_scope(org):
        EarningEntryFactory(organization=org, rule=reward_rule(org), approve_after=timezone.now() - timedelta(hours=1))
    with tenant_scope(other):
        EarningEntryFactory(organization=other, rule=reward_rule(other),
                            approve_after=timezone.now() + timedelta(days=1))
    queued = []
    monkeypatch.setattr(tasks.approve_due, "delay", queued.append)
    assert tasks.dispatch_approvals() == 1
    assert queued == [org.pk]
    assert tasks.approve_due(org.pk) == 1


def _click_id(org):
    from tracking.models import Click

    with tenant_scope(org):
        return Click.objects.get().click_id
