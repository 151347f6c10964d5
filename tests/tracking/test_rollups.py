"""The rollups module (tracking.services.rollups): it owns every rollup table, and its one upsert
adds signed deltas, leaves out zero keys and keeps unsigned counts from being proposed negative."""

from datetime import date

import pytest
from django.apps import apps

from tenancy.scoping import tenant_scope
from tracking.models import (
    ClickCounts,
    CreditSums,
    DailyAmbassadorClicks,
    DailyClickRollup,
    DailyCreditRollup,
    WeeklyAmbassadorClicks,
)
from tracking.services import rollups

TABLES = [rollups.DAILY_CLICKS, *rollups.DAILY_CLICKS.summaries, rollups.DAILY_CREDITS,
          *rollups.DAILY_CREDITS.summaries, rollups.DAILY_CHANNEL_CREDITS]


def test_every_rollup_model_has_one_table():
    models = {model for model in apps.get_app_config("tracking").get_models()
              if issubclass(model, ClickCounts | CreditSums)} | {DailyClickRollup, DailyCreditRollup}
    assert sorted(table.model.__name__ for table in TABLES) == sorted(model.__name__ for model in models)


def test_a_postgresql_upsert_has_a_fixed_number_of_placeholders():
    for table in TABLES:
        assert table.pg_sql["%s"].count("%s") == 1 + len(table.key) + len(table.sums)
        assert table.pg_sql["%b"].count("%b") == len(table.key) + len(table.sums)


def test_summary_keys_are_picked_from_the_detailed_key_by_name():
    key = (7, 3, "x", date(2026, 3, 5))  # campaign, ambassador, channel, day (a Thursday)
    assert rollups.DAILY_AMBASSADOR_CLICKS.project(key) == (date(2026, 3, 5), 3)
    assert rollups.WEEKLY_AMBASSADOR_CLICKS.project(key) == (date(2026, 3, 2), 3)
    credit_key = (1, "linear", date(2026, 3, 5), 7, 3)  # version, model, day, campaign, ambassador
    assert rollups.DAILY_CAMPAIGN_CREDITS.project(credit_key) == (1, "linear", date(2026, 3, 5), 7)
    assert rollups.WEEKLY_AMBASSADOR_CREDITS.project(credit_key) == (1, "linear", date(2026, 3, 2), 3)


@pytest.mark.django_db
def test_add_clicks_adds_signed_deltas_to_the_table_and_its_summaries(org):
    day = date(2026, 3, 5)
    with tenant_scope(org):
        rollups.add_clicks(org.pk, {(1, 2, "x", day): [3, 3, 2, 0, 0], (1, 2, "li", day): [0, 0, 0, 0, 0]})
        rollups.add_clicks(org.pk, {(1, 2, "x", day): [1, 1, -1, 0, 0]})  # a late click: one fewer unique
        assert list(DailyClickRollup.objects.values_list("channel", "total", "clicks", "unique_clicks")) == [
            ("x", 4, 4, 1)]  # the zero key was left out
        assert list(DailyAmbassadorClicks.objects.values_list("day", "ambassador_id", "unique_clicks")) == [
            (day, 2, 1)]
        assert list(WeeklyAmbassadorClicks.objects.values_list("week", "total")) == [(date(2026, 3, 2), 4)]
