"""The admins' operations on webhook endpoints (integrations.services.endpoints): a secret shown
once, URLs that are internal refused, events checked, rotation keeping the old secret 24 hours,
re-enabling starting afresh."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import WebhookEndpoint
from integrations.services.endpoints import (
    DISABLED_BY_ADMIN,
    EndpointError,
    create_endpoint,
    delete_endpoint,
    rotate_secret,
    update_endpoint,
)
from tenancy.scoping import tenant_scope

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]


def test_create_returns_the_secret_once_and_stores_a_clean_endpoint(org, admin_user):
    with tenant_scope(org):
        endpoint, secret = create_endpoint(org, url=" http://127.0.0.1:9000/hook ", description=" CRM ",
                                           events=["sale.created", "lead.created", "sale.created"],
                                           created_by=admin_user)
        stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert secret.startswith("whsec_") and stored.secret == secret
    assert stored.url == "http://127.0.0.1:9000/hook" and stored.description == "CRM"
    assert stored.events == ["lead.created", "sale.created"]  # no repeats, in the documented order
    assert stored.enabled and stored.created_by == admin_user


@pytest.mark.parametrize(("url", "fragment"), [
    ("http://169.254.169.254/latest/meta-data/", ""),
    ("https://10.0.0.7/hook", ""),
    ("ftp://example.com/hook", "http"),
    ("not a url", "http"),
    ("", "Enter"),
])
def test_internal_and_malformed_urls_are_refused_on_the_url_field(org, url, fragment):
    with tenant_scope(org), pytest.raises(EndpointError) as refused:
        create_endpoint(org, url=url, events=["sale.created"])
    assert refused.value.field == "url" and fragment in refused.value.message
    with tenant_scope(org):
        assert not WebhookEndpoint.objects.exists()


def test_loopback_needs_the_allow_list(org, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    with tenant_scope(org), pytest.raises(EndpointError) as refused:
        create_endpoint(org, url="http://127.0.0.1:9000/hook", events=["sale.created"])
    assert refused.value.field == "url"


@pytest.mark.parametrize("events", [[], ["sale.exploded"], "sale.created", [1]])
def test_events_must_be_known_types(org, events):
    with tenant_scope(org), pytest.raises(EndpointError) as refused:
        create_endpoint(org, url="http://127.0.0.1:9000/hook", events=events)
    assert refused.value.field == "events"


def test_rotation_keeps_the_old_secret_signing_for_24_hours(org):
    with tenant_scope(org):
        endpoint, first = create_endpoint(org, url="http://127.0.0.1:9000/hook", events=["sale.created"])
        before = timezone.now()
        second = rotate_secret(endpoint)
        endpoint.refresh_from_db()
    assert second != first and second.startswith("whsec_")
    assert endpoint.secret == second and endpoint.previous_secret == first
    assert before + timedelta(hours=24) <= endpoint.previous_secret_expires_at <= timezone.now() + timedelta(hours=24)


def test_reenabling_forgets_failures_and_the_reason(org):
    with tenant_scope(org):
        endpoint, _ = create_endpoint(org, url="http://127.0.0.1:9000/hook", events=["sale.created"])
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False, consecutive_failures=20,
                                                              disabled_reason="20 failures in a row.")
        endpoint.refresh_from_db()
        endpoint = update_endpoint(endpoint, enabled=True, description="Back")
    assert endpoint.enabled and endpoint.consecutive_failures == 0 and endpoint.disabled_reason == ""
    assert endpoint.description == "Back"


def test_an_admin_disabling_says_so_and_other_changes_are_checked(org):
    with tenant_scope(org):
        endpoint, _ = create_endpoint(org, url="http://127.0.0.1:9000/hook", events=["sale.created"])
        endpoint = update_endpoint(endpoint, enabled=False)
        assert not endpoint.enabled and endpoint.disabled_reason == DISABLED_BY_ADMIN
        with pytest.raises(EndpointError) as refused:
            update_endpoint(endpoint, url="http://169.254.169.254/")
        assert refused.value.field == "url"
        with pytest.raises(EndpointError) as refused:
            update_endpoint(endpoint, secret="whsec_mine")
        assert refused.value.field == "secret"
        endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9000/hook"


def test_delete_removes_the_endpoint(org):
    with tenant_scope(org):
        endpoint, _ = create_endpoint(org, url="http://127.0.0.1:9000/hook", events=["sale.created"])
        delete_endpoint(endpoint)
        assert not WebhookEndpoint.objects.exists()


def test_saving_an_unchanged_url_does_not_check_it_again(org, settings):
    """An edit of the description alone is not refused because the URL's host no longer resolves
    (or is no longer allowed): every delivery checks the address anyway."""
    with tenant_scope(org):
        endpoint, _ = create_endpoint(org, url="http://127.0.0.1:9000/hook", events=["sale.created"])
        settings.WEBHOOK_ALLOWED_HOSTS = []
        endpoint = update_endpoint(endpoint, url="http://127.0.0.1:9000/hook", description="Renamed")
        assert endpoint.description == "Renamed"
        with pytest.raises(EndpointError):
            update_endpoint(endpoint, url="http://127.0.0.1:9001/hook")
