"""A click that got its 302 is never lost: the spool's promise, tested with real processes."""

import fcntl
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import OperationalError
from django_scopes import scopes_disabled

from tracking import capture
from tracking.models import RawClick

from .conftest import drain_spool

ROOT = Path(__file__).resolve().parents[2]


def recorded_ids():
    with scopes_disabled():
        return list(RawClick.objects.values_list("click_id", flat=True))


def sample(n=0, user_agent="Mozilla/5.0"):
    return capture.ClickRecord(f"{n:022d}", 1, 2, 1_700_000_000.25 + n, "v" * 22, "h" * 32, user_agent,
                               "lnkd.in", "linkedin", False)


def test_spool_line_round_trip():
    click = sample(7, user_agent=capture.clean_text("tab\there\nnewline é", 512))
    assert capture.ClickRecord.from_line(click.to_line()) == click


def test_torn_and_garbled_lines_are_skipped(tmp_path):
    path = tmp_path / "clicks-x.spool"
    path.write_bytes(sample(1).to_line() + b"garbage\n" + sample(2).to_line()[:-5])
    assert [r.click_id for r in capture.read_spool(path)] == [sample(1).click_id]


@pytest.mark.django_db
def test_only_spools_of_dead_processes_are_taken_as_orphans(tmp_path, org, link):
    live = tmp_path / "clicks-live.spool"
    live.write_bytes(sample(1)._replace(organization_id=org.pk, link_id=link.pk).to_line())
    holder = os.open(live, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # its process is alive and holds it
    dead = tmp_path / "clicks-dead.spool"
    dead.write_bytes(sample(2)._replace(organization_id=org.pk, link_id=link.pk).to_line())
    try:
        assert capture.drain_orphans(tmp_path) == 1
        assert recorded_ids() == [sample(2).click_id]
        assert live.exists() and not dead.exists()
    finally:
        os.close(holder)


@pytest.mark.django_db
def test_a_spool_committed_before_its_owner_died_is_not_drained_twice(tmp_path, org, link):
    """Regression (CI run of 2026-11-23): a worker killed between the drain's commit and
    the file's deletion left a spool whose clicks were already in; the next drain doubled them."""
    path = tmp_path / "clicks-dead.spool"
    lines = [sample(n)._replace(organization_id=org.pk, link_id=link.pk) for n in range(3)]
    path.write_bytes(b"".join(record.to_line() for record in lines))
    capture.drain_file(path)  # committed; its owner dies before the unlink
    assert capture.drain_orphans(tmp_path) == 0
    assert sorted(recorded_ids()) == [record.click_id for record in lines]
    assert not path.exists()


@pytest.mark.django_db
def test_an_orphan_spool_holding_a_click_that_is_in_already_loses_none_of_the_others(tmp_path, org, link):
    """A click whose INSERT committed although the database answered with an error went to the
    spool as well; when it is that spool's last line, the file's other clicks still go in."""
    lines = [sample(n)._replace(organization_id=org.pk, link_id=link.pk) for n in range(3)]
    capture.insert_rows([lines[-1].row()])
    path = tmp_path / "clicks-dead.spool"
    path.write_bytes(b"".join(record.to_line() for record in lines))
    assert capture.drain_orphans(tmp_path) == 2
    assert sorted(recorded_ids()) == [record.click_id for record in lines]
    assert not path.exists()


@pytest.mark.django_db
def test_database_down_the_visitor_still_gets_the_redirect_and_the_click_is_kept(client, link, monkeypatch,
                                                                                  click_capture):
    real_insert = capture.insert_rows

    def database_down(rows):
        raise OperationalError("connection refused")

    monkeypatch.setattr(capture, "insert_rows", database_down)
    answered = [client.get(f"/l/{link.code}") for _ in range(3)]
    assert [r.status_code for r in answered] == [302, 302, 302]
    with pytest.raises(OperationalError):
        drain_spool()  # the drain fails too: the spool keeps everything
    assert recorded_ids() == []

    monkeypatch.setattr(capture, "insert_rows", real_insert)  # the database is back
    drain_spool()
    ids = [parse_qs(urlsplit(r["Location"]).query)["amb_cid"][0] for r in answered]
    assert sorted(recorded_ids()) == sorted(ids)
    drain_spool()
    assert len(recorded_ids()) == 3  # nothing twice
