"""The admin's notification settings page (/o/<slug>/manage/notifications/): who may open it,
what it accepts as a webhook URL, that a saved URL is never shown in full, the test message, the
reminder rule, each channel's last problem and the organisation's own recent deliveries."""

import pytest
from django.urls import reverse

from notifications.models import Delivery, DeliveryChannel, DeliveryStatus, Kind, NotificationSettings
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import (
    AmbassadorFactory,
    CampaignFactory,
    DeliveryFactory,
    NotificationSettingsFactory,
    OrganizationFactory,
    member,
)

SLACK_SECRET = "xq7SecretSlackToken9"
SLACK_URL = f"https://hooks.slack.com/services/T0A1B2C3D/B0E4F5G6H/{SLACK_SECRET}"
TEAMS_SECRET = "teamsSig-Secret-42"
TEAMS_URL = ("https://prod-12.westeurope.logic.azure.com:443/workflows/0123abcd/triggers/manual/paths/invoke"
             f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={TEAMS_SECRET}")


def page(org):
    return reverse("notification_settings", args=[org.slug])


def form_data(**overrides):
    data = {"slack_webhook_url": "", "teams_webhook_url": "", "reminder_after_days": "3"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def saved(org) -> NotificationSettings:
    with tenant_scope(org):
        return NotificationSettings.objects.get(organization=org)


# --- Who may open it ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_only_admins_open_the_page_and_others_get_403(login, org, manager, ambassador_user, admin_user):
    for user in (manager, ambassador_user):
        client = login(user)
        assert client.get(page(org)).status_code == 403
        assert client.post(page(org), form_data(slack_webhook_url=SLACK_URL)).status_code == 403
        assert client.post(reverse("notification_test", args=[org.slug]), {"channel": "slack"}).status_code == 403
    with tenant_scope(org):
        assert not NotificationSettings.objects.filter(slack_webhook_url=SLACK_URL).exists()
    response = login(admin_user).get(page(org))
    assert response.status_code == 200
    assert "Chat channels" in response.content.decode()


@pytest.mark.django_db
def test_an_admin_of_another_organisation_gets_404_and_changes_nothing(login, org, admin_user):
    other = OrganizationFactory(name="Rival", slug="rival")
    NotificationSettingsFactory(organization=other, slack_webhook_url=SLACK_URL, slack_problem="Rival problem")
    client = login(admin_user)
    assert client.get(page(other)).status_code == 404
    assert client.post(page(other), form_data(slack_webhook_url="", remove_slack="on",
                                               reminders_enabled="on")).status_code == 404
    assert client.post(reverse("notification_test", args=[other.slug]), {"channel": "slack"}).status_code == 404
    row = saved(other)
    assert (row.slack_webhook_url, row.slack_problem, row.reminders_enabled) == (SLACK_URL, "Rival problem", False)


@pytest.mark.django_db
def test_the_admin_home_links_to_the_page(login, org, admin_user):
    body = login(admin_user).get(reverse("manage_home", args=[org.slug])).content.decode()
    assert f'href="{page(org)}"' in body


# --- Webhook URLs: what is accepted, and how a saved one shows ------------------------------------------

@pytest.mark.django_db
def test_saving_webhooks_stores_them_and_shows_them_masked(login, org, admin_user):
    client = login(admin_user)
    response = client.post(page(org), form_data(slack_webhook_url=SLACK_URL, teams_webhook_url=TEAMS_URL))
    assert response.status_code == 302
    row = saved(org)
    assert (row.slack_webhook_url, row.teams_webhook_url) == (SLACK_URL, TEAMS_URL)

    body = client.get(page(org)).content.decode()
    assert "https://hooks.slack.com/services/T…/…/••••" in body
    assert "https://prod-12.westeurope.logic.azure.com/workflows/0…/…/••••" in body
    for secret in (SLACK_SECRET, TEAMS_SECRET, "T0A1B2C3D", "B0E4F5G6H", "0123abcd", "sig="):
        assert secret not in body, f"{secret} shows on the page"

    # An empty field keeps the saved address; the reminder rule changes alone.
    assert client.post(page(org), form_data(reminders_enabled="on", reminder_after_days="5")).status_code == 302
    row = saved(org)
    assert (row.slack_webhook_url, row.teams_webhook_url, row.reminders_enabled, row.reminder_after_days) == (
        SLACK_URL, TEAMS_URL, True, 5)


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "url", "message"), [
    ("slack_webhook_url", "http://evil.example/services/T/B/x", "Webhook addresses must start with https://"),
    ("slack_webhook_url", "https://evil.example/services/T/B/x",
     "“evil.example” is not a Slack webhook host: Slack webhook URLs are on hooks.slack.com"),
    ("slack_webhook_url", "https://hooks.slack.com.evil.example/services/T/B/x", "is not a Slack webhook host"),
    ("slack_webhook_url", "https://hooks.slack.com:8443/services/T/B/x", "is not a Slack webhook host"),
    ("slack_webhook_url", "https://user:pw@hooks.slack.com/services/T/B/x", "user name or password"),
    ("slack_webhook_url", "https://hooks.slack.com/", "has no path"),
    ("slack_webhook_url", "hooks.slack.com/services/T/B/x", "This is not a web address"),
    ("slack_webhook_url", "http://127.0.0.1:9/hook", "must start with https://"),  # loopback is off by default
    ("teams_webhook_url", SLACK_URL, "is not a Microsoft Teams webhook host"),
    ("teams_webhook_url", "https://webhook.office.com.evil.example/webhookb2/x", "is not a Microsoft Teams"),
    ("teams_webhook_url", "javascript:alert(1)", "This is not a web address"),
])
def test_a_refused_webhook_url_is_a_clear_form_error_and_nothing_is_saved(login, org, admin_user, field, url,
                                                                         message):
    client = login(admin_user)
    other = "teams_webhook_url" if field == "slack_webhook_url" else "slack_webhook_url"
    valid = {"slack_webhook_url": SLACK_URL, "teams_webhook_url": TEAMS_URL}[other]
    response = client.post(page(org), form_data(**{field: url, other: valid}, reminders_enabled="on"))
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert 'class="errorlist"' in body
    assert f'value="{url}"' not in body  # a webhook field never renders what was typed
    assert SLACK_SECRET not in body and TEAMS_SECRET not in body
    row = saved(org)
    assert (row.slack_webhook_url, row.teams_webhook_url, row.reminders_enabled) == ("", "", False)


@pytest.mark.django_db
def test_teams_accepts_connector_and_workflows_hosts(login, org, admin_user):
    client = login(admin_user)
    for url in ("https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456",
                "https://default1234.56.environment.api.powerplatform.com:443/powerautomate/automations/direct/"
                "workflows/abc/triggers/manual/paths/invoke?sig=x", TEAMS_URL):
        assert client.post(page(org), form_data(teams_webhook_url=url)).status_code == 302, url
        assert saved(org).teams_webhook_url == url


@pytest.mark.django_db
def test_loopback_receivers_only_with_the_setting(login, org, admin_user, settings):
    client = login(admin_user)
    settings.NOTIFY_WEBHOOK_ALLOW_LOOPBACK = True
    assert client.post(page(org), form_data(slack_webhook_url="http://127.0.0.1:8999/hook")).status_code == 302
    assert saved(org).slack_webhook_url == "http://127.0.0.1:8999/hook"
    settings.NOTIFY_WEBHOOK_ALLOW_LOOPBACK = False
    response = client.post(page(org), form_data(slack_webhook_url="http://localhost:8999/other"))
    assert response.status_code == 400
    assert saved(org).slack_webhook_url == "http://127.0.0.1:8999/hook"


@pytest.mark.django_db
def test_removing_a_webhook_and_a_new_url_clears_the_old_problem(login, org, admin_user):
    NotificationSettingsFactory(organization=org, slack_webhook_url=SLACK_URL, teams_webhook_url=TEAMS_URL,
                                slack_problem="Slack refused the message (404 no_service)")
    client = login(admin_user)
    response = client.post(page(org), form_data(remove_slack="on", teams_webhook_url=TEAMS_URL + "x"))
    assert response.status_code == 302
    row = saved(org)
    assert (row.slack_webhook_url, row.slack_problem, row.teams_webhook_url) == ("", "", TEAMS_URL + "x")
    # Both a new URL and "remove" for one channel: a form error, not a guess.
    response = client.post(page(org), form_data(remove_teams="on", teams_webhook_url=TEAMS_URL))
    assert response.status_code == 400
    assert "Either paste a new Microsoft Teams URL or remove the saved one" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["0", "61", "soon", ""])
def test_the_reminder_rule_takes_1_to_60_days(login, org, admin_user, days):
    response = login(admin_user).post(page(org), form_data(reminders_enabled="on", reminder_after_days=days))
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    assert saved(org).reminders_enabled is False


# --- The test message and the last problem --------------------------------------------------------------

@pytest.mark.django_db
def test_the_test_message_posts_to_the_channel_and_a_refusal_shows_until_a_post_works(
        login, org, admin_user, http_receiver):
    url = http_receiver.url(f"/services/T0/B0/{SLACK_SECRET}")
    NotificationSettingsFactory(organization=org, slack_webhook_url=url)
    client = login(admin_user)
    test_url = reverse("notification_test", args=[org.slug])

    response = client.post(test_url, {"channel": "slack"}, follow=True)
    assert "The test message was posted to Slack." in response.content.decode()
    [request] = http_receiver.received
    assert request.path == f"/services/T0/B0/{SLACK_SECRET}"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json["blocks"][0]["text"]["text"] == "Test message from Acme"

    http_receiver.answer(404, "no_service")
    body = client.post(test_url, {"channel": "slack"}, follow=True).content.decode()
    problem = "Slack refused the message (404 no_service): the webhook was probably deleted; paste a new URL"
    assert problem in body
    assert saved(org).slack_problem == problem
    body = client.get(page(org)).content.decode()
    assert problem in body and "Refused" in body
    assert SLACK_SECRET not in body

    client.post(test_url, {"channel": "slack"})
    assert saved(org).slack_problem == ""
    assert problem not in client.get(page(org)).content.decode()
    assert len(http_receiver.received) == 3


@pytest.mark.django_db
def test_a_test_message_without_a_webhook_or_channel_says_what_to_do(login, org, admin_user):
    client = login(admin_user)
    test_url = reverse("notification_test", args=[org.slug])
    body = client.post(test_url, {"channel": "teams"}, follow=True).content.decode()
    assert "Save a Microsoft Teams webhook URL first." in body
    body = client.post(test_url, {"channel": "email"}, follow=True).content.decode()
    assert "Pick Slack or Microsoft Teams" in body
    assert client.get(test_url).status_code == 405


# --- The delivery log -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_log_lists_the_organisations_last_50_deliveries_and_nothing_of_others(login, org, admin_user):
    ambassador = AmbassadorFactory(organization=org, display_name="Ada Lovelace")
    campaign = CampaignFactory(organization=org, name="Spring launch")
    for n in range(55):
        DeliveryFactory(organization=org, ambassador=ambassador, campaign=campaign, key=f"campaign_new:email:x:{n}")
    DeliveryFactory(organization=org, ambassador=None, campaign=campaign, channel=DeliveryChannel.SLACK,
                    key=f"campaign_new:slack:{campaign.pk}:org", status=DeliveryStatus.FAILED,
                    last_error="Slack refused the message (404 no_service)")
    other = OrganizationFactory(name="Rival", slug="rival")
    rival = AmbassadorFactory(organization=other, display_name="Rival Person")
    DeliveryFactory(organization=other, ambassador=rival,
                    campaign=CampaignFactory(organization=other, name="Rival secret campaign"),
                    kind=Kind.REMINDER)
    response = login(admin_user).get(page(org))
    body = response.content.decode()
    assert len(response.context["deliveries"]) == 50
    assert response.context["deliveries"][0].channel == DeliveryChannel.SLACK  # the newest first
    assert "Slack channel" in body and "Slack refused the message (404 no_service)" in body
    assert "Ada Lovelace" in body and "Spring launch" in body
    assert "Rival" not in body
    with tenant_scope(org):
        assert Delivery.objects.count() == 56


@pytest.mark.django_db
def test_the_page_works_for_an_owner_too(login, org):
    owner = member(org, Role.OWNER, email="boss@acme.test")
    assert login(owner).get(page(org)).status_code == 200
