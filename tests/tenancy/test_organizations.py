"""Organisation settings."""

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_settings_page_shows_and_keeps_the_time_zone(org, admin_user, login):
    """The time-zone select (rendered in Python for speed, tenancy.forms.LongSelect) marks the
    organisation's zone, and a refused form keeps what was chosen."""
    org.time_zone = "Europe/Berlin"
    org.save()
    client = login(admin_user)
    url = reverse("org_settings", args=[org.slug])
    page = client.get(url).content.decode()
    assert '<option value="Europe/Berlin" selected>' in page and page.count(" selected>") >= 1
    refused = client.post(url, {"name": "", "slug": org.slug, "time_zone": "Asia/Tokyo", "currency": "EUR"})
    assert refused.status_code == 200
    assert '<option value="Asia/Tokyo" selected>' in refused.content.decode()
    bad = client.post(url, {"name": "Acme", "slug": org.slug, "time_zone": "Mars/Base", "currency": "EUR"})
    assert "Mars/Base is not one of the available choices" in bad.content.decode()
