"""Issue 17: the ROI CSV exports add up as the pages do. Under a kind or group filter each campaign's
spend is the segment's share (allocated by shares, largest remainder), the spend no segment carries
is on its own "Spend not allocated" line, and every CSV's lines add up to its totals to the cent."""

from datetime import date
from decimal import Decimal

import pytest

from ambassadors.models import Kind
from tests.support.responses import csv_rows
from tests.support.scenario import Scenario

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}
MONEY = ("revenue", "spend", "rewards", "time_cost", "cost")


def unitless(row: dict) -> dict:
    return {key.split(" (")[0]: value for key, value in row.items()}


def money(value: str) -> Decimal:
    return Decimal(value or "0")


@pytest.fixture
def programme(org):
    """The issue's campaign (spend 1250.52; Ann and Bob internal, Cy external: 10, 5 and 4 shares at 1.5
    minutes) and Idle, 300.00 of spend and no share in March."""
    s = Scenario(org)
    spring = s.campaign("Spring", minutes_per_share=Decimal("1.5"))
    idle = s.campaign("Idle", minutes_per_share=Decimal("5"))
    s.cost(spring, date(2026, 3, 1), "1000.00")
    s.cost(spring, date(2026, 3, 31), "250.52")
    s.cost(idle, date(2026, 3, 5), "300.00")
    for name, kind, rate, times in (("Ann", Kind.INTERNAL, "68.30", 10), ("Bob", Kind.INTERNAL, "122.23", 5),
                                    ("Cy", Kind.EXTERNAL, "166.70", 4)):
        link = s.link(spring, s.ambassador(name, kind=kind, hourly_rate=Decimal(rate)))
        s.shares(link, s.at(2026, 3, 10, 12), times=times)
    return spring, idle


@pytest.mark.django_db
def test_the_roi_csvs_add_up_under_a_filter_with_the_unallocated_line(programme, org, manager, login):
    spring, idle = programme
    client = login(manager)
    base = f"/o/{org.slug}/reports/roi"

    whole = [unitless(row) for row in csv_rows(client.get(f"{base}.csv", MARCH))]
    assert [row["campaign"] for row in whole] == ["Idle", "Spring", "Total (programme)"]
    assert whole[-1]["cost"] == "1599.54"  # 300.00 + 1250.52 + 49.02
    segments = {}
    for kind in (Kind.INTERNAL, Kind.EXTERNAL):
        rows = [unitless(row) for row in csv_rows(client.get(f"{base}.csv", MARCH | {"kind": kind}))]
        *campaigns, total, unallocated = rows
        assert total["campaign"] == "Total (programme)"
        for name in MONEY:
            assert sum(money(row[name]) for row in campaigns) == money(total[name]), (kind, name)
        assert unallocated["campaign"].startswith("Spend not allocated")
        assert unallocated["spend"] == "300.00" and unallocated["cost"] == ""
        segments[kind] = total
    # internal 987.25 + 32.35 = 1019.60, external 263.27 + 16.67 = 279.94 (test_roi_parts_add_up works it by hand)
    assert (segments[Kind.INTERNAL]["spend"], segments[Kind.INTERNAL]["cost"]) == ("987.25", "1019.60")
    assert (segments[Kind.EXTERNAL]["spend"], segments[Kind.EXTERNAL]["cost"]) == ("263.27", "279.94")
    assert (money(segments[Kind.INTERNAL]["cost"]) + money(segments[Kind.EXTERNAL]["cost"]) + Decimal("300.00")
            == money(whole[-1]["cost"]))

    # The detail's split: each kind's own cost + the spend line = the total line, under every filter.
    share = "campaign spend (this segment's share)"
    for query, spend_label, spend in ((MARCH, "campaign spend (not split)", "1250.52"),
                                      (MARCH | {"kind": "internal"}, share, "987.25"),
                                      (MARCH | {"kind": "external"}, share, "263.27")):
        rows = {row["kind"]: unitless(row)
                for row in csv_rows(client.get(f"{base}/{spring.public_id}.csv", query | {"table": "split"}))}
        total = rows.pop("total (cost = the lines above)")
        assert rows.pop(spend_label)["own_cost"] == spend
        assert sum(money(row["own_cost"]) for row in rows.values()) + money(spend) == money(total["own_cost"])
        for name in ("revenue", "rewards", "time_cost"):
            assert sum(money(row[name]) for row in rows.values()) == money(total[name]), (query, name)
        time_lines = csv_rows(client.get(f"{base}/{spring.public_id}.csv", query | {"table": "ambassadors"}))
        assert sum(money(unitless(row)["time_cost"]) for row in time_lines) == money(total["time_cost"])
        assert not any(key.startswith("spend not allocated") for key in rows)

    # Idle under a filter: its spend is in no segment's cost, on its own line in both tables.
    query = MARCH | {"kind": "internal"}
    figures = {row["item"].split(" (")[0]: row["value"]
               for row in csv_rows(client.get(f"{base}/{idle.public_id}.csv", query | {"table": "figures"}))}
    assert (figures["cost"], figures["spend"], figures["unallocated_spend"]) == ("0.00", "0.00", "300.00")
    split = {row["kind"]: unitless(row)
             for row in csv_rows(client.get(f"{base}/{idle.public_id}.csv", query | {"table": "split"}))}
    assert split["spend not allocated (no shares in the period; not in the cost above)"]["own_cost"] == "300.00"
    assert split["total (cost = the lines above)"]["own_cost"] == "0.00"
    # Without a filter nothing is unallocated: no such line.
    assert "unallocated_spend" not in {row["item"].split(" (")[0] for row in csv_rows(
        client.get(f"{base}/{idle.public_id}.csv", MARCH | {"table": "figures"}))}
