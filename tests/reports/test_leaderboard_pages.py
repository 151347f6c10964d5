"""The leaderboard's pages and its ranking snapshots (reports.selectors.snapshots).

A page is ranked in the database without a window over every row: ranks are counted (1 + how
many have more), so a page must give exactly the rows, ranks, previous ranks and movement that
the whole ranking gives at those positions, ties across a page boundary included. The closed
days' sums come from a snapshot keyed by the history generation: a late click, a backdated share
or a new credit on a closed day must show at once, and today's activity is added live.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from ambassadors.models import Ambassador, Kind, Status
from campaigns.services.links import record_share
from reports.filters import ReportFilter
from reports.models import RankingSnapshot
from reports.periods import Period, local_today, period_for
from reports.selectors.leaderboard import leaderboard, leaderboard_page, top_and_mine
from tenancy.scoping import tenant_scope
from tests.support.scenario import Scenario
from tracking.models import DailyClickRollup, HistoryGeneration
from tracking.services import history, rollups

PARIS = ZoneInfo("Europe/Paris")
METRICS = ("points", "clicks", "unique_clicks", "revenue", "shares")


def comparable(row):
    return (row.ambassador_id, row.rank, row.previous_rank, row.movement, row.shares, row.clicks, row.unique_clicks,
            row.leads, row.customers, row.revenue, row.points)


@pytest.fixture
def board(org):
    """37 ambassadors with many ties (clicks i % 4 on two days of the period, i % 3 the period before),
    a paused one without activity (off the board) and one with activity only before."""
    org.time_zone = "Europe/Paris"
    org.save(update_fields=["time_zone"])
    s = Scenario(org)
    campaign = s.campaign("Spring", slug="spring", destination_url="https://shop.example.com/")
    with tenant_scope(org):
        people = Ambassador.objects.bulk_create([
            Ambassador(organization=org, email=f"p{i}@example.com", display_name=f"Person {i % 9} {i:02d}",
                       kind=Kind.EXTERNAL if i % 2 else Kind.INTERNAL, status=Status.ACTIVE) for i in range(37)])
        people = list(Ambassador.objects.filter(organization=org).order_by("pk"))
        Ambassador.objects.filter(pk=people[-1].pk).update(status=Status.PAUSED)
        DailyClickRollup.objects.bulk_create([
            DailyClickRollup(organization=org, campaign_id=campaign.pk, ambassador_id=person.pk, channel="email",
                             day=day, total=count, clicks=count, unique_clicks=count // 2)
            for i, person in enumerate(people[:-2])
            for day, count in ((date(2026, 3, 3), i % 4), (date(2026, 3, 5), i % 4), (date(2026, 2, 25), i % 3))
            if count])
        rollups.rebuild(org.pk)
        link = s.link(campaign, people[-2])
    s.shares(link, datetime(2026, 2, 26, 12, tzinfo=PARIS), times=2)  # active only in the period before
    return s, people


def f_of(org, **kwargs):
    return ReportFilter(org.pk, Period(date(2026, 3, 1), date(2026, 3, 7), PARIS, "custom"), **kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("metric", METRICS)
def test_every_page_equals_the_whole_ranking_at_its_positions(org, board, metric):
    f = f_of(org)
    with tenant_scope(org):
        whole = leaderboard(f, metric)
        for per_page in (1, 4, 7, 50):
            paged = []
            number = 1
            while True:
                page = leaderboard_page(f, metric, number, per_page)
                assert page.count == len(whole) and page.totals.ambassadors == len(whole)
                paged.extend(page.rows)
                if not page.has_next:
                    break
                number += 1
            assert [comparable(row) for row in paged] == [comparable(row) for row in whole], per_page
            assert [row.position for row in paged] == list(range(1, len(whole) + 1))
    assert len(whole) == 36  # the paused one without activity is left out; the one active before is in
    assert len({row.rank for row in whole}) < len(whole)  # ties


@pytest.mark.django_db
def test_a_page_past_the_end_is_the_last_and_totals_are_the_whole_boards(org, board):
    f = f_of(org)
    with tenant_scope(org):
        whole = leaderboard(f, "clicks")
        last = leaderboard_page(f, "clicks", 999, 10)
    assert last.number == last.pages == 4 and [r.ambassador_id for r in last.rows] == [r.ambassador_id
                                                                                       for r in whole[30:]]
    assert last.totals.clicks == sum(row.clicks for row in whole)
    assert last.totals.points == sum(row.points for row in whole)


@pytest.mark.django_db
def test_top_and_mine_give_my_rank_from_off_the_page(org, board):
    s, people = board
    f = f_of(org)
    with tenant_scope(org):
        whole = leaderboard(f, "points")
        for someone in (whole[0], whole[5], whole[-1]):
            top, mine, ranked = top_and_mine(f, "points", 3, someone.ambassador_id)
            assert [comparable(row) for row in top] == [comparable(row) for row in whole[:3]]
            assert comparable(mine) == comparable(someone) and ranked == len(whole)
        _, nobody, _ = top_and_mine(f, "points", 3, people[-1].pk)  # paused, nothing done: not on the board
    assert nobody is None


@pytest.mark.django_db
def test_a_change_to_a_closed_day_shows_at_once(org, board):
    s, people = board
    f = f_of(org)
    with tenant_scope(org):
        before = {row.ambassador_id: row.clicks for row in leaderboard(f, "clicks")}
        assert RankingSnapshot.objects.filter(organization=org).count() == 1
        generation = history.generation(org.pk)
        campaign_id = DailyClickRollup.objects.first().campaign_id
        rollups.add_clicks(org.pk, {(campaign_id, people[0].pk, "email", date(2026, 3, 4)): [5, 5, 5, 0, 0]})
        assert history.generation(org.pk) == generation + 1
        after = {row.ambassador_id: row.clicks for row in leaderboard(f, "clicks")}
    assert after[people[0].pk] == before[people[0].pk] + 5
    with tenant_scope(org):  # a new snapshot; the one of the older history is gone
        assert list(RankingSnapshot.objects.values_list("history_generation", flat=True)) == [generation + 1]


@pytest.mark.django_db
def test_a_backdated_share_raises_the_generation_and_todays_one_does_not(org, board):
    s, people = board
    link = s.link(s.campaign("Summer", slug="summer", destination_url="https://x.example.com/"), people[3])

    generation = history.generation(org.pk)
    with tenant_scope(org):
        record_share(link=link, channel="x")  # now: today
        assert history.generation(org.pk) == generation
        record_share(link=link, channel="x", at=timezone.now() - timedelta(days=2))
        assert history.generation(org.pk) == generation + 1


@pytest.mark.django_db
def test_today_is_added_live_to_the_snapshot_of_the_closed_days(org, board):
    s, people = board
    tz = PARIS
    today = local_today(tz)
    with tenant_scope(org):
        f = ReportFilter(org.pk, period_for("30d", tz))
        campaign_id = DailyClickRollup.objects.first().campaign_id
        rollups.add_clicks(org.pk, {(campaign_id, people[1].pk, "email", today - timedelta(days=3)): [2, 2, 1, 0, 0]})
        first = {row.ambassador_id: row.clicks for row in leaderboard_page(f, "clicks").rows}
        snapshots = RankingSnapshot.objects.count()
        generation = HistoryGeneration.objects.get(organization=org).generation
        rollups.add_clicks(org.pk, {(campaign_id, people[1].pk, "email", today): [4, 4, 4, 0, 0]})
        assert HistoryGeneration.objects.get(organization=org).generation in (generation, generation + 1)
        second = {row.ambassador_id: row.clicks for row in leaderboard_page(f, "clicks").rows}
        reused = RankingSnapshot.objects.count() == snapshots
    assert first[people[1].pk] == 2 and second[people[1].pk] == 6
    if history.horizon(tz) == today:  # not in the last minutes before midnight: the snapshot was reused
        assert reused


@pytest.mark.django_db
def test_the_page_and_the_api_serve_pages_and_refuse_a_bad_page_size(org, board, manager, login):
    client = login(manager)
    params = {"period": "custom", "start": "2026-03-01", "end": "2026-03-07", "metric": "clicks"}
    with tenant_scope(org):
        whole = leaderboard(f_of(org), "clicks")
    api = f"/api/v1/o/{org.slug}/reports/leaderboard/"
    second = client.get(api, {**params, "page": 2, "page_size": 10}).json()
    assert (second["page"], second["page_size"], second["pages"], second["count"]) == (2, 10, 4, 36)
    assert [row["ambassador_id"] for row in second["rows"]] == [str(r.public_id) for r in whole[10:20]]
    assert second["totals"]["clicks"] == sum(r.clicks for r in whole)  # every page's, not this page's
    for bad in ({"page": 0}, {"page": "two"}, {"page_size": 0}, {"page_size": 1001}):
        response = client.get(api, {**params, **bad})
        assert response.status_code == 400, bad
        assert set(response.json()) == set(bad)  # names the bad parameter
    page = client.get(f"/o/{org.slug}/reports/leaderboard/", {**params, "page": 2})  # past the last: the last
    assert page.status_code == 200 and page.context["page"].number == 1
    assert [r.ambassador_id for r in page.context["rows"]] == [r.ambassador_id for r in whole]
    assert 'aria-label="Pages of the ranking"' not in page.content.decode()  # 36 rows: one page of 50
    assert client.get(f"/o/{org.slug}/reports/leaderboard/", {**params, "page": "x"}).status_code == 200
