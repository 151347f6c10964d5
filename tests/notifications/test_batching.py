"""Daily and weekly ambassadors: new-campaign e-mails wait for the batch time (08:00 in the
organisation's time zone; Mondays for weekly) and go out as ONE e-mail listing every campaign
due. The clock is fixed with explicit `now` arguments (no sleeping)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications import delivery, fanout
from notifications.models import Delivery, Frequency, Kind
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, CampaignFactory, PreferenceFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
WEDNESDAY_10_UTC = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # 11:00 in Paris


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """March 2026, UTC (Paris is UTC+1 until the 29th)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def readers(org):
    assert org.time_zone == "Europe/Paris"
    daily = AmbassadorFactory(organization=org, display_name="Daily reader")
    weekly = AmbassadorFactory(organization=org, display_name="Weekly reader")
    instant = AmbassadorFactory(organization=org, display_name="Instant reader")
    PreferenceFactory(ambassador=daily, kind=Kind.CAMPAIGN_NEW, frequency=Frequency.DAILY)
    PreferenceFactory(ambassador=weekly, kind=Kind.CAMPAIGN_NEW, frequency=Frequency.WEEKLY)
    return daily, weekly, instant


def announce(org, name: str, now: datetime):
    campaign = CampaignFactory(organization=org, name=name, description=f"About {name}.")
    fanout.fan_out_campaign(org.pk, campaign.pk, now=now)
    return campaign


def received(smtp_server, ambassador) -> list[str]:
    return [str(arrival.message["Subject"]) for arrival in smtp_server.to(ambassador.email)]


def test_daily_and_weekly_readers_get_one_email_per_batch(org, readers, smtp_server):
    daily, weekly, instant = readers
    announce(org, "Alpha", at(4, 10))  # Wednesday 11:00 Paris
    delivery.send_due(now=at(4, 10, 1))
    announce(org, "Bravo", at(4, 15))
    with tenant_scope(org):
        due = {(row.ambassador_id, row.campaign.name): row.due_at
               for row in Delivery.objects.select_related("campaign")}
    assert due[(daily.pk, "Alpha")] == due[(daily.pk, "Bravo")] == at(5, 7)  # Thursday 08:00 Paris
    assert due[(weekly.pk, "Alpha")] == at(9, 7)  # Monday 08:00 Paris
    assert due[(instant.pk, "Alpha")] == at(4, 10)

    delivery.send_due(now=at(4, 15, 1))
    assert received(smtp_server, instant) == ["New campaign to share: Alpha", "New campaign to share: Bravo"]
    assert received(smtp_server, daily) == received(smtp_server, weekly) == []

    delivery.send_due(now=at(5, 6, 59))  # a minute early: still nothing
    assert received(smtp_server, daily) == []

    delivery.send_due(now=at(5, 7))
    assert received(smtp_server, daily) == ["2 new campaigns to share from Acme"]
    [digest] = smtp_server.to(daily.email)
    for body in (digest.body("plain"), digest.body("html")):
        assert "Alpha" in body and "About Alpha." in body and "Bravo" in body and "About Bravo." in body

    announce(org, "Charlie", at(5, 9))  # Thursday 10:00 Paris: after today's batch
    delivery.send_due(now=at(5, 9, 1))
    assert received(smtp_server, instant)[-1] == "New campaign to share: Charlie"
    delivery.send_due(now=at(6, 7))
    assert received(smtp_server, daily) == ["2 new campaigns to share from Acme", "New campaign to share: Charlie"]
    assert received(smtp_server, weekly) == []

    delivery.send_due(now=at(9, 7))
    assert received(smtp_server, weekly) == ["3 new campaigns to share from Acme"]
    body = smtp_server.to(weekly.email)[0].body("plain")
    assert all(name in body for name in ("Alpha", "Bravo", "Charlie"))
    assert len(smtp_server.settle(quiet=0.2)) == 3 + 2 + 1  # instant 3, daily 2, weekly 1: nothing more


@pytest.mark.parametrize(("frequency", "now", "expected"), [
    (Frequency.IMMEDIATELY, datetime(2026, 3, 4, 10, tzinfo=UTC), datetime(2026, 3, 4, 10, tzinfo=UTC)),
    (Frequency.DAILY, datetime(2026, 3, 4, 6, 59, tzinfo=UTC), datetime(2026, 3, 4, 8, tzinfo=PARIS)),  # 07:59 local
    (Frequency.DAILY, datetime(2026, 3, 4, 7, 0, tzinfo=UTC), datetime(2026, 3, 5, 8, tzinfo=PARIS)),  # 08:00 sharp
    (Frequency.WEEKLY, datetime(2026, 3, 9, 6, 0, tzinfo=UTC), datetime(2026, 3, 9, 8, tzinfo=PARIS)),  # Monday 07:00
    (Frequency.WEEKLY, datetime(2026, 3, 9, 8, 0, tzinfo=UTC), datetime(2026, 3, 16, 8, tzinfo=PARIS)),
    (Frequency.WEEKLY, datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 3, 30, 8, tzinfo=PARIS)),  # over DST
])
def test_batch_times_are_local(frequency, now, expected):
    assert fanout.due_at_for(frequency, now, PARIS) == expected
    assert fanout.due_at_for(frequency, now, PARIS).tzinfo == UTC


def test_a_reader_who_switches_to_off_before_the_batch_gets_nothing(org, readers, smtp_server):
    daily, _, _ = readers
    announce(org, "Alpha", at(4, 10))
    with tenant_scope(org):
        from notifications.preferences import set_frequency

        set_frequency(daily, Kind.CAMPAIGN_NEW, Frequency.OFF)
    run = delivery.send_due(now=at(5, 7) + timedelta(hours=1))
    assert received(smtp_server, daily) == []
    assert run.skipped == 1
