"""Programmes worked by hand, whose figures several test modules check (built with
tests/support/scenario.py)."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from tests.support.scenario import Scenario

NEW_YORK = ZoneInfo("America/New_York")
WEEK = ("2026-03-02", "2026-03-08")  # Monday–Sunday; the week before is 23 Feb – 1 Mar


def at(day: str, hour: int, tz=NEW_YORK) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=tz)


def build_programme(org) -> dict:
    """One campaign (6 minutes per share); Ada (internal, 60.00/h) and Ben (external, 30.00/h), in
    an organisation in New York time (the dashboard's tests/reports/test_summary.py, the digest's
    tests/reports/test_digest.py).

    This week (2–8 March):  shares Ada 3, Ben 2 → time 18.00 + 6.00; spend 100.00;
      clicks Ada 10 (8 unique), Ben 5 (5 unique); a lead from Ada's link who buys for 300.00,
      a lead from Ben's link who doesn't buy.
    The week before:  1 share by Ada → time 6.00; spend 50.00; 4 clicks (4 unique) for Ada;
      one lead from Ada's link buying for 100.00.
    """
    s = Scenario(org)
    ada = s.ambassador("Ada Lovelace", hourly_rate=Decimal("60.00"))
    ben = s.ambassador("Ben Franklin", hourly_rate=Decimal("30.00"), kind="external")
    campaign = s.campaign("Spring", slug="spring", minutes_per_share=Decimal("6.00"),
                          destination_url="https://shop.example.com/spring")
    links = {person.pk: s.link(campaign, person, code=f"Sum{person.pk:05d}") for person in (ada, ben)}
    for person, day, count in ((ada, "2026-03-03", 3), (ben, "2026-03-07", 2)):
        for n in range(count):
            s.shares(links[person.pk], at(day, 9 + n))
    # 23:30 local on Sunday 1 March is still the week before (04:30 UTC on 2 March).
    s.shares(links[ada.pk], datetime(2026, 3, 1, 23, 30, tzinfo=NEW_YORK))
    s.cost(campaign, "2026-03-03", "100.00")
    s.cost(campaign, "2026-02-25", "50.00")
    # The clicks reports count (their rollups); the Click rows below are the ones attribution reads.
    for person, day, clicks, unique in ((ada, "2026-03-03", 10, 8), (ben, "2026-03-04", 5, 5),
                                        (ada, "2026-02-24", 4, 4)):
        s.click_counts(campaign, person, day, clicks=clicks, unique=unique)
    for person, clicked, ext, sale in ((ada, at("2026-03-03", 10), "cus_1", ("300.00", at("2026-03-05", 15))),
                                       (ben, at("2026-03-04", 11), "cus_2", None),
                                       (ada, at("2026-02-24", 10), "cus_3", ("100.00", at("2026-02-25", 9)))):
        visitor = s.visitor().clicked(links[person.pk], clicked)
        visitor.lead(ext, at=clicked.replace(hour=clicked.hour + 1))
        if sale:
            visitor.buys(sale[0], at=sale[1])
    s.attribute()
    return {"ada": ada, "ben": ben, "campaign": campaign}
