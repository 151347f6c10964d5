"""A published campaign is announced by e-mail, through a real SMTP server on loopback: one e-mail
per targeted active ambassador whose preference allows it, with the campaign, the ambassador's
suggested post, one-click share buttons, the preferences link and an RFC 8058 unsubscribe."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from ambassadors.models import Status
from campaigns.models import CampaignStatus, ShareEvent, TrackedLink
from campaigns.services.campaigns import update_campaign
from campaigns.share import share_action_url
from notifications.models import Delivery, DeliveryStatus, Frequency, Kind, Preference
from notifications.unsubscribe import unsubscribe_url
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, GroupFactory, MembershipFactory, MessageFactory, PreferenceFactory
from tests.support.notify import local_path, publish, run_notifications

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(org):
    """Who a campaign for the "Sales" group reaches, and who it must not."""
    sales = GroupFactory(organization=org, name="Sales")
    targeted = [AmbassadorFactory(organization=org, display_name=f"Seller {n}") for n in range(3)]
    for ambassador in targeted:
        ambassador.groups.add(sales)
    untargeted = AmbassadorFactory(organization=org, display_name="Engineer")
    paused = AmbassadorFactory(organization=org, status=Status.PAUSED)
    removed = AmbassadorFactory(organization=org, status=Status.REMOVED)
    invited = AmbassadorFactory(organization=org, user=None, status=Status.INVITED, email="invited@example.com")
    off = AmbassadorFactory(organization=org, display_name="Quiet seller")
    PreferenceFactory(ambassador=off, kind=Kind.CAMPAIGN_NEW, frequency=Frequency.OFF)
    for ambassador in (paused, removed, invited, off):
        ambassador.groups.add(sales)
    return {"group": sales, "targeted": targeted, "others": [untargeted, paused, removed, invited, off]}


def links_in(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_one_email_per_targeted_ambassador_and_none_to_anyone_else(org, people, smtp_server):
    ends = timezone.now() + timedelta(days=10)
    campaign = publish(org, name="Spring launch", groups=[people["group"]], ends_at=ends,
                       description="Our spring collection is out.")
    run_notifications()
    arrivals = smtp_server.settle(quiet=0.2)

    recipients = sorted(r for a in arrivals for r in a.rcpt_tos)
    assert recipients == sorted(a.email for a in people["targeted"])
    for arrival in arrivals:
        message = arrival.message
        assert message["Subject"] == "New campaign to share: Spring launch"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # (Folded onto its own line when long, as RFC 5322 allows: hence the strip.)
        assert re.fullmatch(r"<https?://[^>]+/notifications/unsubscribe/[^>]+/>", message["List-Unsubscribe"].strip())
        assert message["Message-ID"].startswith("<campaign_new.")
        text, html = arrival.body("plain"), arrival.body("html")
        for body in (text, html):
            assert "Spring launch" in body and "Our spring collection is out." in body
            assert timezone.localtime(ends, org.tzinfo).strftime("%-d %B %Y") in body
            assert f"/o/{org.slug}/me/notifications/" in body
            assert "/notifications/unsubscribe/" in body
    with tenant_scope(org):
        statuses = set(Delivery.objects.values_list("status", flat=True))
        assert statuses == {DeliveryStatus.SENT}
        assert Delivery.objects.count() == 3
        assert campaign.announced_at is not None


def test_the_email_carries_the_suggested_post_and_one_click_share_buttons(org, people, smtp_server, client):
    seller = people["targeted"][0]
    campaign = publish(org, name="Webinar", groups=[people["group"]], status=CampaignStatus.DRAFT)
    with tenant_scope(org):
        MessageFactory(campaign=campaign, organization=org, channel="linkedin", text="Join our webinar: {link}")
        update_campaign(campaign, status=CampaignStatus.ACTIVE)
    run_notifications()
    [arrival] = smtp_server.to(seller.email)
    with tenant_scope(org):
        link = TrackedLink.objects.get(ambassador=seller, campaign=campaign)
    html, text = arrival.body("html"), arrival.body("plain")
    short = f"{settings.SITE_URL}/l/{link.code}/li"
    assert f"Join our webinar: {short}" in text and f"Join our webinar: {short}" in html
    for channel in ("linkedin", "x", "facebook", "email", "whatsapp"):
        button = share_action_url(link, channel, org_slug=org.slug)
        assert button in text and button.replace("&", "&amp;") in html
    # Following a button, signed in as that ambassador, records the share and opens the network.
    MembershipFactory(organization=org, user=seller.user)
    client.force_login(seller.user)
    response = client.get(local_path(share_action_url(link, "linkedin", org_slug=org.slug)))
    assert response.status_code == 302 and "linkedin.com" in response["Location"]
    with tenant_scope(org):
        assert ShareEvent.objects.filter(link=link, channel="linkedin").count() == 1


def test_a_campaign_is_announced_once_whatever_happens_to_it_later(org, people, smtp_server):
    campaign = publish(org, name="Once", groups=[people["group"]])
    run_notifications()
    assert len(smtp_server.settle(quiet=0.2)) == 3
    with tenant_scope(org):
        update_campaign(campaign, status=CampaignStatus.PAUSED)
        update_campaign(campaign, status=CampaignStatus.ACTIVE, description="Back again")
    run_notifications()
    run_notifications()
    assert len(smtp_server.settle(quiet=0.2)) == 3


def test_one_click_unsubscribe_without_session_or_csrf_turns_that_kind_off(org, people, smtp_server):
    publish(org, name="First", groups=[people["group"]])
    run_notifications()
    seller = people["targeted"][0]
    [arrival] = smtp_server.to(seller.email)
    address = arrival.message["List-Unsubscribe"].strip().strip("<>")
    assert address == unsubscribe_url(seller, Kind.CAMPAIGN_NEW)

    mail_client = Client(enforce_csrf_checks=True)  # what a mail client's one-click POST is: no cookie, no token
    response = mail_client.post(local_path(address), "List-Unsubscribe=One-Click",
                                content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    with tenant_scope(org):
        assert Preference.objects.get(ambassador=seller, kind=Kind.CAMPAIGN_NEW).frequency == Frequency.OFF

    smtp_server.clear()
    publish(org, name="Second", groups=[people["group"]])
    run_notifications()
    arrivals = smtp_server.settle(quiet=0.2)
    assert sorted(r for a in arrivals for r in a.rcpt_tos) == sorted(a.email for a in people["targeted"][1:])


def test_the_unsubscribe_page_works_logged_out_and_asks_first(org, people):
    seller = people["targeted"][0]
    path = local_path(unsubscribe_url(seller, Kind.CAMPAIGN_NEW))
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(path)
    assert page.status_code == 200
    assert b"Unsubscribe" in page.content and seller.email.encode() in page.content
    with tenant_scope(org):
        assert not Preference.objects.filter(ambassador=seller).exists()  # a GET changes nothing
    # The page's own button: a form POST with the CSRF token the page gave.
    token = browser.cookies["csrftoken"].value
    done = browser.post(path, {"csrfmiddlewaretoken": token})
    assert done.status_code == 200 and b"You are unsubscribed" in done.content
    with tenant_scope(org):
        assert Preference.objects.get(ambassador=seller, kind=Kind.CAMPAIGN_NEW).frequency == Frequency.OFF


def test_a_forged_or_mangled_unsubscribe_link_is_refused(org, people):
    seller = people["targeted"][0]
    path = local_path(unsubscribe_url(seller, Kind.CAMPAIGN_NEW))
    anonymous = Client(enforce_csrf_checks=True)
    mangled = path[:-6] + "xxxxx/"
    assert anonymous.get(mangled).status_code == 404
    assert anonymous.post(mangled, "List-Unsubscribe=One-Click",
                          content_type="application/x-www-form-urlencoded").status_code == 404
    assert anonymous.get("/notifications/unsubscribe/not-a-token/").status_code == 404
    # Another kind's token signed for the same person does not switch this one off, and the
    # page's form without its CSRF token is refused.
    assert anonymous.post(path, {"name": "x"}).status_code == 403
    with scopes_disabled():
        assert not Preference.objects.filter(ambassador=seller).exists()


def test_a_row_whose_ambassador_left_or_opted_out_before_sending_is_skipped(org, people, smtp_server):
    publish(org, name="Late changes", groups=[people["group"]])
    from common import outbox

    outbox.sweep()  # rows made, nothing sent yet
    leaver, opted_out, stays = people["targeted"]
    with tenant_scope(org):
        leaver.status = Status.REMOVED
        leaver.save()
        PreferenceFactory(ambassador=opted_out, kind=Kind.CAMPAIGN_NEW, frequency=Frequency.OFF)
    run = run_notifications()
    assert (run.sent, run.skipped) == (1, 2)
    assert [r for a in smtp_server.settle(quiet=0.2) for r in a.rcpt_tos] == [stays.email]
    with tenant_scope(org):
        assert Delivery.objects.get(ambassador=leaver).status == DeliveryStatus.SKIPPED


def test_names_in_any_script_arrive_intact(org, smtp_server):
    org.name = "Café\nÜnïcode"  # a line break in a name must not break the headers
    org.save()
    reader = AmbassadorFactory(organization=org, display_name="Zoë")
    publish(org, name="Été “launch” ✨ & <friends>")
    run_notifications()
    [arrival] = smtp_server.to(reader.email)
    assert arrival.message["Subject"] == "New campaign to share: Été “launch” ✨ & <friends>"
    assert arrival.message["From"].addresses[0].display_name.startswith("Café Ünïcode")
    assert "Été “launch” ✨ &amp; &lt;friends&gt;" in arrival.body("html")
    assert "Été “launch” ✨ & <friends>" in arrival.body("plain") and "Hello Zoë," in arrival.body("plain")


def test_a_line_break_in_a_header_is_refused():
    from notifications.mime import HeaderInjection, alternative_message

    with pytest.raises(HeaderInjection):
        alternative_message(sender="A <a@example.com>", recipient="b@example.com", subject="Hi\r\nBcc: c@example.com",
                            headers={}, text="", html="")
