"""Reminders of featured campaigns not shared: only where the organisation turned them on, after
its number of days, for the ambassadors a campaign is meant for who have not shared it and did
not turn reminders off — once ever per (ambassador, campaign), under re-runs and overlapping
producers; e-mails through a real SMTP server on loopback, with one-click share buttons that work."""

from datetime import timedelta
from email.header import decode_header, make_header
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from ambassadors.models import Status
from campaigns.models import ShareEvent, TrackedLink
from campaigns.share import share_action_url
from notifications import reminders
from notifications.delivery import send_due
from notifications.models import Delivery, DeliveryStatus, Frequency, Kind
from notifications.preferences import set_frequency
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import GroupFactory, MembershipFactory, NotificationSettingsFactory, OrganizationFactory
from tests.support.concurrency import at_once
from tests.support.scenario import Scenario

NOW = timezone.now().replace(microsecond=0)


def programme(org, *, enabled=True, after_days=3):
    """Ada (Sales) shared "Featured"; Ben shared nothing; Cy turned reminders off; Dee is paused;
    Eve (Sales) shared nothing. Campaigns (announced … days before NOW): "Featured" 4 (everyone),
    "Sales only" 5 (Sales), "Fresh" 1, "Plain" 10 (not featured), "Over" 10 (featured, ended)."""
    NotificationSettingsFactory(organization=org, reminders_enabled=enabled, reminder_after_days=after_days)
    s = Scenario(org)
    sales = GroupFactory(organization=org, name="Sales")
    people = {name: s.ambassador(name, email=f"{name.lower()}@acme.test") for name in ("Ada", "Ben", "Cy", "Dee",
                                                                                      "Eve")}
    people["Ada"].groups.add(sales)
    people["Eve"].groups.add(sales)
    with tenant_scope(org):
        set_frequency(people["Cy"], Kind.REMINDER, Frequency.OFF)
        people["Dee"].status = Status.PAUSED
        people["Dee"].save()
    ago = lambda days: NOW - timedelta(days=days)  # noqa: E731
    campaigns = {
        "Featured": s.campaign("Featured", featured=True, description="Our big launch.", announced_at=ago(4)),
        "Sales only": s.campaign("Sales only", featured=True, announced_at=ago(5)),
        "Fresh": s.campaign("Fresh", featured=True, announced_at=ago(1)),
        "Plain": s.campaign("Plain", announced_at=ago(10)),
        "Over": s.campaign("Over", featured=True, announced_at=ago(10), ends_at=ago(1)),
    }
    campaigns["Sales only"].target_groups.add(sales)
    s.shares(s.link(campaigns["Featured"], people["Ada"]), ago(3))
    return people, campaigns


def due(org) -> set[tuple[str, str]]:
    with tenant_scope(org):
        return {(d.campaign.name, d.ambassador.display_name) for d in Delivery.objects.filter(kind=Kind.REMINDER)}


def subject_of(arrival) -> str:
    """The Subject as a reader sees it (decoded from RFC 2047, unfolded)."""
    return " ".join(str(make_header(decode_header(arrival.message["Subject"]))).split())


@pytest.fixture
def acme(db):
    return OrganizationFactory(name="Acme", slug="acme", time_zone="Europe/Paris")


@pytest.mark.django_db
def test_each_ambassador_who_has_not_shared_a_due_featured_campaign_is_reminded_once(acme, smtp_server):
    people, campaigns = programme(acme)
    assert reminders.produce_reminders(now=NOW) == 4
    assert due(acme) == {("Featured", "Ben"), ("Featured", "Eve"), ("Sales only", "Ada"), ("Sales only", "Eve")}
    with tenant_scope(acme):
        keys = set(Delivery.objects.values_list("key", flat=True))
    assert f"reminder:email:{campaigns['Featured'].pk}:{people['Ben'].pk}" in keys

    run = send_due(now=NOW)
    assert (run.sent, run.failed) == (4, 0)
    smtp_server.wait_for(3)
    assert sorted(smtp_server.recipients()) == ["ada@acme.test", "ben@acme.test", "eve@acme.test"]  # Eve: one e-mail

    [ben] = smtp_server.to("ben@acme.test")
    assert subject_of(ben) == "Reminder: “Featured” is waiting for your share"
    assert ben.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = ben.body("plain")
    assert "you haven't shared this featured campaign yet" in text and "Our big launch." in text
    assert "This is the only reminder for this campaign." in text
    with tenant_scope(acme):
        link = TrackedLink.objects.get(ambassador=people["Ben"], campaign=campaigns["Featured"])
    linkedin = share_action_url(link, "linkedin", org_slug="acme")
    assert f"Share on LinkedIn: {linkedin}" in text
    assert f'href="{linkedin.replace("&", "&amp;")}"' in ben.body("html")
    assert "/notifications/unsubscribe/" in text

    [eve] = smtp_server.to("eve@acme.test")
    assert subject_of(eve) == "Reminder: 2 featured campaigns of Acme are waiting for your share"
    assert "Featured" in eve.body("plain") and "Sales only" in eve.body("plain")

    # The button in the e-mail is one click: signed in, it records Ben's share and opens LinkedIn.
    MembershipFactory(organization=acme, user=people["Ben"].user, role=Role.AMBASSADOR)
    client = Client()
    client.force_login(people["Ben"].user)
    response = client.get(urlsplit(linkedin).path + "?" + urlsplit(linkedin).query)
    assert response.status_code == 302
    assert response["Location"].startswith("https://www.linkedin.com/")
    with tenant_scope(acme):
        assert ShareEvent.objects.filter(ambassador=people["Ben"], campaign=campaigns["Featured"]).count() == 1


@pytest.mark.django_db
def test_once_ever_per_ambassador_and_campaign_whatever_the_re_runs(acme, smtp_server):
    programme(acme)
    reminders.produce_reminders(now=NOW)
    send_due(now=NOW)
    smtp_server.wait_for(3)
    for later in (NOW, NOW + timedelta(minutes=15), NOW + timedelta(days=1)):
        assert reminders.produce_reminders(now=later) == 0
        send_due(now=later)
    assert len(smtp_server.settle()) == 3
    # Weeks later, still unshared: only "Fresh", due since, is new (one each for Ada, Ben and Eve).
    assert reminders.produce_reminders(now=NOW + timedelta(days=20)) == 3
    assert reminders.produce_reminders(now=NOW + timedelta(days=21)) == 0
    with tenant_scope(acme):
        assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 4
        assert sorted(Delivery.objects.exclude(status=DeliveryStatus.SENT).values_list("campaign__name", flat=True)) \
            == ["Fresh"] * 3


@pytest.mark.django_db
def test_a_campaign_becomes_due_after_the_organisations_number_of_days(acme):
    programme(acme, after_days=5)
    reminders.produce_reminders(now=NOW)
    assert due(acme) == {("Sales only", "Ada"), ("Sales only", "Eve")}  # "Featured" (4 days) not yet
    reminders.produce_reminders(now=NOW + timedelta(days=1))
    assert due(acme) == {("Sales only", "Ada"), ("Sales only", "Eve"), ("Featured", "Ben"), ("Featured", "Eve")}


@pytest.mark.django_db
def test_nothing_when_the_organisation_has_not_turned_reminders_on(acme):
    programme(acme, enabled=False)
    other = OrganizationFactory(name="Nobody", slug="nobody")  # no settings row at all
    Scenario(other).campaign("Theirs", featured=True, announced_at=NOW - timedelta(days=30))
    Scenario(other).ambassador("Zed")
    assert reminders.produce_reminders(now=NOW) == 0
    assert due(acme) == set()
    with tenant_scope(other):
        assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_reminders_turned_off_before_the_send_are_skipped_and_never_made_again(acme, smtp_server):
    """Turned off between production and sending: the engine skips it, and it is never made again."""
    people, _ = programme(acme)
    reminders.produce_reminders(now=NOW)
    with tenant_scope(acme):
        set_frequency(people["Ben"], Kind.REMINDER, Frequency.OFF)
    send_due(now=NOW)
    smtp_server.wait_for(2)
    assert "ben@acme.test" not in smtp_server.recipients()
    with tenant_scope(acme):
        set_frequency(people["Ben"], Kind.REMINDER, Frequency.IMMEDIATELY)
    assert reminders.produce_reminders(now=NOW + timedelta(hours=1)) == 0
    with tenant_scope(acme):
        assert Delivery.objects.get(ambassador=people["Ben"]).status == DeliveryStatus.SKIPPED


@pytest.mark.django_db(transaction=True)
def test_overlapping_producers_write_each_reminder_once(acme):
    programme(acme)
    at_once(lambda i: reminders.produce_reminders(now=NOW), 3)
    with tenant_scope(acme):
        keys = list(Delivery.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == 4
