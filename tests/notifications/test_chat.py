"""Slack and Teams: a campaign that went live posted by the delivery engine to the organisation's
webhook — a local HTTP receiver here, which records what it got and answers as told. The JSON
each provider expects; 429 with Retry-After (seconds or an HTTP date) honoured; 5xx and network
failures retried with backoff; any other 4xx a permanent failure shown to the admin until a post
works; and the webhook URL in no log line, stored error or page, whatever the answer."""

import logging
import re
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications import chat
from notifications.delivery import send_due
from notifications.models import Delivery, DeliveryChannel, DeliveryStatus, Kind, NotificationSettings
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import CampaignFactory, DeliveryFactory, NotificationSettingsFactory, member
from tests.support.http_receiver import refused_url
from tests.support.notify import publish, run_notifications

SECRET = "sEcReT-webhook-token-0042"
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def hook(http_receiver):
    """The receiver's webhook address: its path carries the secret part, as Slack's does."""
    return http_receiver.url(f"/services/T0ORG/B0HOOK/{SECRET}")


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def campaign_post(org, channel="slack", **campaign_fields):
    """A campaign that went live and its chat delivery, as the fan-out writes it."""
    fields = {"name": "Spring launch", "description": "Tell your network about our spring webinar series."}
    campaign = CampaignFactory(organization=org, **{**fields, **campaign_fields})
    delivery = DeliveryFactory(organization=org, ambassador=None, campaign=campaign, channel=channel,
                               kind=Kind.CAMPAIGN_NEW, key=f"campaign_new:{channel}:{campaign.pk}:org", due_at=NOW)
    return campaign, delivery


def reload(org, delivery) -> Delivery:
    with tenant_scope(org):
        return Delivery.objects.get(pk=delivery.pk)


def problems(org) -> NotificationSettings:
    with tenant_scope(org):
        return NotificationSettings.objects.get(organization=org)


def assert_never_leaked(org, url, logs, *texts):
    """Neither the address nor its secret part in the logs, the stored errors or `texts` (pages)."""
    with tenant_scope(org):
        stored = [*Delivery.objects.values_list("last_error", flat=True),
                  *NotificationSettings.objects.values_list("slack_problem", "teams_problem").get()]
    for where, text in [("logs", logs.text), *((f"stored error {n}", t) for n, t in enumerate(stored)),
                        *((f"page {n}", t) for n, t in enumerate(texts))]:
        for secret in (url, SECRET, "B0HOOK"):
            assert secret not in text, f"{secret!r} appears in the {where}: {text[:500]}"


# --- What is posted --------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_slack_gets_the_campaign_as_blocks_with_a_link_to_its_portal_page(org, hook, http_receiver, logs, settings):
    NotificationSettingsFactory(organization=org, slack_webhook_url=hook)
    campaign, delivery = campaign_post(org, description="Tell your network about our <spring> webinar & more. "
                                                        + "More words. " * 40)
    run = send_due(now=NOW)
    assert (run.sent, run.failed, run.retried) == (1, 0, 0)
    [request] = http_receiver.received
    assert (request.method, request.path) == ("POST", f"/services/T0ORG/B0HOOK/{SECRET}")
    payload = request.json
    portal = f"{settings.SITE_URL}/o/acme/campaigns/{campaign.public_id}/"
    header, section, actions = payload["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "Spring launch", "emoji": True}}
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert section["text"]["text"].startswith("Tell your network about our &lt;spring&gt; webinar &amp; more.")
    assert section["text"]["text"].endswith("…") and len(section["text"]["text"]) < 330  # an excerpt
    [button] = actions["elements"]
    assert (button["type"], button["url"], button["text"]["text"]) == ("button", portal, "Share it from the portal")
    assert payload["text"].startswith("Spring launch: Tell your network") and f"<{portal}|" in payload["text"]
    delivery = reload(org, delivery)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SENT, 1, "")
    assert f"organisation {org.pk}" in logs.text
    assert_never_leaked(org, hook, logs)


@pytest.mark.django_db
def test_teams_gets_an_adaptive_card_in_the_attachments_envelope(org, http_receiver, logs, settings):
    url = http_receiver.url(f"/workflows/abc/triggers/manual/paths/invoke?sig={SECRET}")
    NotificationSettingsFactory(organization=org, teams_webhook_url=url)
    http_receiver.answer(202, "")  # Teams' Workflows answer 202 Accepted
    campaign, delivery = campaign_post(org, channel=DeliveryChannel.TEAMS)
    assert send_due(now=NOW).sent == 1
    payload = http_receiver.received[0].json
    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    title, text = card["body"]
    assert (title["text"], title["weight"], text["text"]) == (
        "Spring launch", "Bolder", "Tell your network about our spring webinar series.")
    [action] = card["actions"]
    assert action == {"type": "Action.OpenUrl", "title": "Share it from the portal",
                      "url": f"{settings.SITE_URL}/o/acme/campaigns/{campaign.public_id}/"}
    assert reload(org, delivery).status == DeliveryStatus.SENT
    assert SECRET not in logs.text and url not in logs.text


@pytest.mark.django_db
def test_a_published_campaign_reaches_each_configured_channel_once(org, http_receiver, logs):
    """The whole path: the campaigns service publishes, the outbox sweep fans out, the engine posts;
    running it all again posts nothing more."""
    slack, teams = http_receiver.url(f"/slack/{SECRET}"), http_receiver.url(f"/teams/{SECRET}")
    NotificationSettingsFactory(organization=org, slack_webhook_url=slack, teams_webhook_url=teams)
    campaign = publish(org, name="Launch day", description="Our biggest launch.")
    run_notifications()
    run_notifications()
    received = {r.path.split("/")[1]: r for r in http_receiver.received}
    assert len(http_receiver.received) == 2 and set(received) == {"slack", "teams"}
    assert received["slack"].json["blocks"][0]["text"]["text"] == "Launch day"
    assert received["teams"].json["attachments"][0]["content"]["body"][1]["text"] == "Our biggest launch."
    with tenant_scope(org):
        assert sorted(Delivery.objects.filter(campaign=campaign, ambassador=None).values_list("key", "status")) == [
            (f"campaign_new:slack:{campaign.pk}:org", "sent"), (f"campaign_new:teams:{campaign.pk}:org", "sent")]
    assert_never_leaked(org, slack, logs)
    assert teams not in logs.text


# --- Slow down, try again, refused -------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("retry_after", ["120", "http-date"])
def test_429_waits_as_long_as_retry_after_says_then_posts_once(org, hook, http_receiver, logs, retry_after):
    NotificationSettingsFactory(organization=org, slack_webhook_url=hook)
    _, delivery = campaign_post(org)
    header = "120" if retry_after == "120" else format_datetime(timezone.now() + timedelta(seconds=120), usegmt=True)
    http_receiver.answer(429, "rate_limited", headers={"Retry-After": header})

    before = timezone.now()
    run = send_due(now=NOW)
    after = timezone.now()
    assert (run.sent, run.retried) == (0, 1)
    delivery = reload(org, delivery)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_error == "Slack asked us to slow down (429)"
    slack = 2 if retry_after == "http-date" else 0  # an HTTP date is to the second
    assert before + timedelta(seconds=120 - slack) <= delivery.due_at <= after + timedelta(seconds=120)

    assert send_due(now=delivery.due_at - timedelta(seconds=1)).claimed == 0  # not before its time
    assert len(http_receiver.received) == 1
    assert send_due(now=delivery.due_at).sent == 1
    assert reload(org, delivery).status == DeliveryStatus.SENT
    first, second = http_receiver.received
    assert first.body == second.body  # the same message, accepted once (the 429'd one was not posted)
    assert problems(org).slack_problem == ""
    assert_never_leaked(org, hook, logs)


@pytest.mark.django_db
def test_a_429_holds_back_the_rest_of_the_batch_for_that_webhook(org, hook, http_receiver):
    NotificationSettingsFactory(organization=org, slack_webhook_url=hook)
    _, first = campaign_post(org)
    _, second = campaign_post(org, name="Autumn")
    http_receiver.answer(429, headers={"Retry-After": "30"})
    run = send_due(now=NOW)
    assert run.retried == 2
    assert len(http_receiver.received) == 1
    due = {reload(org, d).due_at for d in (first, second)}
    later = max(due)
    assert send_due(now=later).sent == 2
    assert [r.json["blocks"][0]["text"]["text"] for r in http_receiver.received[1:]] in (
        ["Spring launch", "Autumn"], ["Autumn", "Spring launch"])


@pytest.mark.django_db
@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_is_retried_with_backoff(org, hook, http_receiver, logs, status):
    NotificationSettingsFactory(organization=org, slack_webhook_url=hook)
    _, delivery = campaign_post(org)
    http_receiver.answer(status, "oops", times=2)
    send_due(now=NOW)
    delivery = reload(org, delivery)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == f"Not delivered yet: Slack answered {status}"
    first_wait = (delivery.due_at - timezone.now()).total_seconds()
    assert 25 < first_wait <= 30
    send_due(now=delivery.due_at)
    delivery = reload(org, delivery)
    assert delivery.attempts == 2 and 55 < (delivery.due_at - timezone.now()).total_seconds() <= 60  # doubled
    send_due(now=delivery.due_at)
    assert reload(org, delivery).status == DeliveryStatus.SENT
    assert len(http_receiver.received) == 3
    assert problems(org).slack_problem == ""  # a temporary failure is not the admin's problem
    assert_never_leaked(org, hook, logs)


@pytest.mark.django_db
def test_a_refused_connection_is_retried(org, logs, settings):
    settings.NOTIFY_WEBHOOK_ALLOW_LOOPBACK = True
    url = refused_url(f"/services/T0ORG/B0HOOK/{SECRET}")
    NotificationSettingsFactory(organization=org, slack_webhook_url=url)
    _, delivery = campaign_post(org)
    assert send_due(now=NOW).retried == 1
    delivery = reload(org, delivery)
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.PENDING,
                                                      "Not delivered yet: the connection was refused")
    assert_never_leaked(org, url, logs)


@pytest.mark.django_db
def test_no_answer_in_time_is_retried(org, hook, http_receiver, logs, settings):
    settings.NOTIFY_WEBHOOK_TIMEOUT = 0.3
    NotificationSettingsFactory(organization=org, slack_webhook_url=hook)
    _, delivery = campaign_post(org)
    http_receiver.answer(200, "ok", delay=2)
    assert send_due(now=NOW).retried == 1
    assert reload(org, delivery).last_error == "Not delivered yet: no answer within 0.3 s"
    assert_never_leaked(org, hook, logs)


@pytest.mark.django_db
def test_a_4xx_fails_the_post_and_shows_on_the_settings_page_until_a_post_works(
        org, hook, http_receiver, logs, login):
    admin = member(org, Role.ADMIN, email="admin@acme.test")
    NotificationSettingsFactory(organization=org, slack_webhook_url=hook)
    _, delivery = campaign_post(org)
    http_receiver.answer(404, "no_service")
    run = send_due(now=NOW)
    assert (run.failed, run.retried) == (1, 0)
    message = "Slack refused the message (404 no_service): the webhook was probably deleted; paste a new URL"
    delivery = reload(org, delivery)
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.FAILED, message)
    assert problems(org).slack_problem == message and problems(org).slack_problem_at is not None
    assert send_due(now=NOW + timedelta(hours=2)).claimed == 0  # refused for good: not tried again

    page = login(admin).get(reverse("notification_settings", args=[org.slug])).content.decode()
    assert message in page
    assert "http://127.0.0.1" in page  # the masked address …
    assert_never_leaked(org, hook, logs, page)  # … never the secret part

    campaign_post(org, name="Autumn")  # the admin fixed the channel; the next post works
    assert send_due(now=NOW).sent == 1
    assert problems(org).slack_problem == ""
    page = login(admin).get(reverse("notification_settings", args=[org.slug])).content.decode()
    cell = re.search(r'<td data-problem="slack">(.*?)</td>', page, re.S)[1]
    assert message not in cell and "OK" in cell  # the log below still lists the refused post


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "body", "message"), [
    (403, "invalid_token", "Slack refused the message (403 invalid_token): the webhook is no longer allowed to "
                           "post; paste a new URL"),
    (410, "channel_is_archived", "Slack refused the message (410 channel_is_archived): the webhook or its channel "
                                 "is gone (deleted or archived); paste a new URL"),
    (400, "<html>Bad request for /services/x</html>", "Slack refused the message (400): the message was refused "
                                                      "as invalid"),
])
def test_each_refusal_says_what_to_do_and_never_echoes_the_answer(org, hook, http_receiver, logs, status, body,
                                                                  message):
    NotificationSettingsFactory(organization=org, slack_webhook_url=hook)
    _, delivery = campaign_post(org)
    http_receiver.answer(status, body)
    send_due(now=NOW)
    assert reload(org, delivery).last_error == message
    assert "/services/x" not in logs.text
    assert_never_leaked(org, hook, logs)


@pytest.mark.django_db
def test_a_problem_of_an_address_replaced_meanwhile_is_not_shown(org, hook, http_receiver):
    """The admin pasted a new URL while a post to the old one was on its way: its refusal is old news."""
    row = NotificationSettingsFactory(organization=org, slack_webhook_url=hook)
    with tenant_scope(org):
        chat.record_problem(org.pk, DeliveryChannel.SLACK, hook + "-old", "Slack refused the message (404)")
        row.refresh_from_db()
    assert row.slack_problem == ""


@pytest.mark.django_db
def test_a_removed_or_no_longer_allowed_webhook_fails_without_a_post(org, hook, http_receiver, settings, logs):
    NotificationSettingsFactory(organization=org, teams_webhook_url=hook)
    _, slack_row = campaign_post(org)  # no Slack webhook (any more)
    _, teams_row = campaign_post(org, channel=DeliveryChannel.TEAMS, name="Autumn")
    settings.NOTIFY_WEBHOOK_ALLOW_LOOPBACK = False  # the loopback address saved in tests is no longer allowed
    assert send_due(now=NOW).failed == 2
    assert http_receiver.received == []
    assert reload(org, slack_row).last_error == "No Slack webhook is set any more"
    assert reload(org, teams_row).last_error.startswith("The Microsoft Teams webhook URL is not an allowed address")
    assert problems(org).teams_problem.startswith("The Microsoft Teams webhook URL is not an allowed address")
    assert_never_leaked(org, hook, logs)


# --- The pieces --------------------------------------------------------------------------------------------

def test_retry_after_reads_seconds_and_http_dates():
    now = timezone.now().replace(microsecond=0)
    assert chat.parse_retry_after("30", now) == 30
    assert chat.parse_retry_after(" 2.5 ", now) == 2.5
    assert chat.parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert chat.parse_retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now) == 1  # past: soon
    assert chat.parse_retry_after("0", now) == 1
    assert chat.parse_retry_after(str(10 ** 9), now) == chat.MAX_RETRY_AFTER
    for junk in ("", "soon", "nan", "Mon, 99 Foo 2026"):
        assert chat.parse_retry_after(junk, now) is None


def test_addresses_are_masked_down_to_their_host():
    assert chat.mask_url("https://hooks.slack.com/services/T0A1/B0E4/abcdef") == \
        "https://hooks.slack.com/services/T…/…/••••"
    assert chat.mask_url("https://contoso.webhook.office.com/webhookb2/1234-abcd@5678/IncomingWebhook/x/y") == \
        "https://contoso.webhook.office.com/webhookb2/1…/…/••••"
    assert chat.mask_url("https://prod-1.westeurope.logic.azure.com:443/workflows/ab12/triggers?sig=S") == \
        "https://prod-1.westeurope.logic.azure.com/workflows/a…/…/••••"
    assert chat.mask_url("http://127.0.0.1:8123/a") == "http://127.0.0.1:8123/a/…/••••"
    assert chat.mask_url("") == ""
