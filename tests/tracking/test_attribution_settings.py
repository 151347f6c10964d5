"""Per-organisation attribution settings: the reporting model switches instantly; a new window
or half-life recomputes every credit in the background, chunk by chunk, and reports never see
a mix of old and new credits."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import member
from tests.support.tracking import NOW, click, lead, reload, sale
from tracking import tasks
from tracking.ids import new_visitor_id
from tracking.models import AttributionSettings, Credit, Customer
from tracking.selectors import reporting_credits
from tracking.services import attribution
from tracking.services.attribution_settings import (
    SettingsError,
    change_settings,
    delete_stale_credits,
    recompute_step,
    settings_for,
)


@pytest.fixture(autouse=True)
def click_capture():
    return None  # no click capture here: each test runs once


@pytest.fixture
def queued(monkeypatch):
    """The tasks the settings code queues, instead of the broker: (name, args)."""
    calls = []
    monkeypatch.setattr(tasks.recompute_attribution, "delay",
                        lambda *args: calls.append(("recompute", args)))
    monkeypatch.setattr(tasks.delete_stale_credits, "delay", lambda *args: calls.append(("stale", args)))
    monkeypatch.setattr(tasks.delete_stale_credits, "apply_async",
                        lambda args, countdown=None: calls.append(("stale", tuple(args))))
    return calls


@pytest.fixture
def two_touch_customers(org, make_link):
    """Five customers, each touched by ambassador A 20 days and B 1 day before the lead,
    each with a 100.00 sale. Window 30: linear 50/50. Window 7: B gets everything."""
    a, b = make_link(), make_link()
    customers = []
    for n in range(5):
        visitor = new_visitor_id()
        lead_at = NOW - timedelta(hours=n + 1)
        click(org, a, visitor, lead_at - timedelta(days=20))
        click(org, b, visitor, lead_at - timedelta(days=1))
        customers.append(lead(org, visitor, at=lead_at, ext=f"cus_{n}"))
        sale(org, ext=f"cus_{n}", invoice=f"inv_{n}", amount="100.00")
    attribution.attribute_pending(org.pk)
    return a.ambassador_id, b.ambassador_id, customers


def reported(org, model="linear", kind="lead"):
    """What a report shows: per ambassador lead shares (kind lead) or sale amounts."""
    field = "lead_share" if kind == "lead" else "amount"
    with tenant_scope(org):
        rows = (reporting_credits(org.pk, model).filter(kind=kind).values("ambassador_id")
                .annotate(total=Sum(field)).order_by("ambassador_id"))
        return {row["ambassador_id"]: row["total"] for row in rows}


def run_recompute(org, chunk=2):
    settings = settings_for(org.pk)
    steps = 0
    while True:
        step = recompute_step(org.pk, settings.pending_version, chunk=chunk)
        steps += 1
        if not step.more:
            return steps


@pytest.mark.django_db
def test_defaults_are_linear_30_days_and_a_7_day_half_life(org):
    settings = settings_for(org.pk)
    assert (settings.reporting_model, settings.window_days, settings.half_life_days, settings.version) == (
        "linear", 30, 7, 1)
    assert not settings.recomputing


@pytest.mark.django_db
def test_switching_the_reporting_model_is_instant(org, two_touch_customers, queued):
    a, b, _ = two_touch_customers
    assert reported(org) == {a: Decimal("2.5000"), b: Decimal("2.5000")}
    change = change_settings(org.pk, reporting_model="last_touch")
    assert not change.recompute_started and queued == []
    assert reported(org, model=None) == {b: Decimal("5.0000")}


@pytest.mark.django_db
def test_a_new_window_recomputes_in_chunks_and_reports_switch_all_at_once(org, two_touch_customers, queued):
    a, b, _ = two_touch_customers
    before_leads, before_sales = reported(org), reported(org, kind="sale")
    assert before_sales == {a: Decimal("250.00"), b: Decimal("250.00")}

    change = change_settings(org.pk, window_days=7)
    assert change.recompute_started
    version = change.settings.pending_version
    assert version == 2 and change.settings.recompute_total == 5

    # Part way through: reports still show the old credits, complete, and nothing new.
    step = recompute_step(org.pk, version, chunk=2)
    assert (step.done, step.total, step.more) == (2, 5, True)
    assert reported(org) == before_leads and reported(org, kind="sale") == before_sales
    with tenant_scope(org):
        assert Credit.objects.filter(version=2).exists()  # the new ones, computed beside them

    recompute_step(org.pk, version, chunk=2)
    step = recompute_step(org.pk, version, chunk=2)
    assert step.finished
    settings = reload(settings_for(org.pk))
    assert (settings.version, settings.window_days, settings.recomputing) == (2, 7, False)
    assert reported(org) == {b: Decimal("5.0000")}
    assert reported(org, kind="sale") == {b: Decimal("500.00")}

    # The old version is deleted afterwards; reports are unaffected.
    # 5 leads, 5 sales, 5 customers x 8 rows: first and last touch credit one ambassador, the others two.
    assert delete_stale_credits(org.pk) == (120, False)
    with tenant_scope(org):
        assert set(Credit.objects.values_list("version", flat=True)) == {2}
    assert reported(org) == {b: Decimal("5.0000")}


@pytest.mark.django_db
def test_a_conversion_arriving_mid_recompute_is_in_both_versions(org, two_touch_customers, make_link, queued):
    a, b, _ = two_touch_customers
    version = change_settings(org.pk, window_days=7).settings.pending_version
    recompute_step(org.pk, version, chunk=2)

    visitor = new_visitor_id()
    c, d = make_link(), make_link()  # two more ambassadors
    click(org, c, visitor, NOW - timedelta(days=10))
    click(org, d, visitor, NOW - timedelta(days=2))
    late = lead(org, visitor, at=NOW, ext="late")
    attribution.attribute_pending(org.pk)
    with tenant_scope(org):
        linear = Credit.objects.filter(customer=late, model="linear")
        # Version 1 (30 days) credits both clicks, version 2 (7 days) only the one 2 days back.
        assert dict(linear.filter(version=1).values_list("ambassador_id", "lead_share")) == {
            c.ambassador_id: Decimal("0.5000"), d.ambassador_id: Decimal("0.5000")}
        assert dict(linear.filter(version=2).values_list("ambassador_id", "lead_share")) == {
            d.ambassador_id: Decimal("1.0000")}
    assert reported(org)[c.ambassador_id] == Decimal("0.5000")  # still the old version

    run_recompute(org)
    assert reported(org) == {b: Decimal("5.0000"), d.ambassador_id: Decimal("1.0000")}


@pytest.mark.django_db
def test_a_new_half_life_changes_time_decay(org, two_touch_customers, queued):
    a, b, _ = two_touch_customers
    before = reported(org, model="time_decay")
    assert before[b] > before[a] > 0
    version = change_settings(org.pk, half_life_days=100).settings.pending_version
    run_recompute(org)
    after = reported(org, model="time_decay")
    assert settings_for(org.pk).version == version
    assert after[a] > before[a] and after[a] + after[b] == Decimal("5.0000")
    assert reported(org) == {a: Decimal("2.5000"), b: Decimal("2.5000")}  # linear: unchanged


@pytest.mark.django_db
def test_a_second_change_supersedes_the_first_and_changing_back_cancels(org, two_touch_customers, queued):
    a, b, _ = two_touch_customers
    first = change_settings(org.pk, window_days=7).settings.pending_version
    recompute_step(org.pk, first, chunk=2)
    second = change_settings(org.pk, window_days=10)
    assert second.recompute_started and second.recompute_cancelled
    assert second.settings.pending_version == first + 1
    assert recompute_step(org.pk, first, chunk=2).done == 0  # a late step of the old version: nothing
    back = change_settings(org.pk, window_days=30)
    assert back.recompute_cancelled and not back.settings.recomputing
    delete_stale_credits(org.pk)
    with tenant_scope(org):
        assert set(Credit.objects.values_list("version", flat=True)) == {1}
    assert reported(org) == {a: Decimal("2.5000"), b: Decimal("2.5000")}


@pytest.mark.django_db
def test_recompute_twice_and_attribution_twice_leave_the_same_credits(org, two_touch_customers, queued):
    version = change_settings(org.pk, window_days=7).settings.pending_version
    run_recompute(org)
    with tenant_scope(org):
        before = sorted(Credit.objects.filter(version=version).values_list(
            "kind", "customer_id", "sale_id", "model", "ambassador_id", "amount", "lead_share"))
    assert recompute_step(org.pk, version).done == 0  # a duplicate task after the end
    with tenant_scope(org):
        Customer.objects.update(attributed_at=None)
    attribution.attribute_pending(org.pk)
    attribution.attribute_pending(org.pk)
    with tenant_scope(org):
        after = sorted(Credit.objects.filter(version=version).values_list(
            "kind", "customer_id", "sale_id", "model", "ambassador_id", "amount", "lead_share"))
    assert after == before


@pytest.mark.django_db
def test_bad_values_are_refused(org):
    for kwargs, field in (({"window_days": 0}, "window_days"), ({"half_life_days": 366}, "half_life_days"),
                          ({"reporting_model": "u_shaped"}, "reporting_model")):
        with pytest.raises(SettingsError) as error:
            change_settings(org.pk, **kwargs)
        assert error.value.field == field
    assert settings_for(org.pk).version == 1 and not settings_for(org.pk).recomputing


@pytest.mark.django_db
def test_the_task_chain_runs_the_recompute_to_the_end(org, two_touch_customers, queued, settings):
    settings.ATTRIBUTION_RECOMPUTE_CHUNK = 2
    change = change_settings(org.pk, window_days=7)
    version = change.settings.pending_version
    queued.append(("recompute", (org.pk, version)))
    runs = 0
    while queued:
        name, args = queued.pop(0)
        runs += 1
        if name == "recompute":
            tasks.recompute_attribution.apply(args=list(args)).get()
        else:
            tasks.delete_stale_credits.apply(args=list(args)).get()
    assert runs == 3 + 1  # three chunks of two customers, then the stale credits
    assert settings_for(org.pk).version == version
    with tenant_scope(org):
        assert set(Credit.objects.values_list("version", flat=True)) == {version}


@pytest.mark.django_db
def test_the_beat_restarts_a_stalled_recompute(org, two_touch_customers, queued, queued_attributions):
    version = change_settings(org.pk, window_days=7).settings.pending_version
    tasks.dispatch_attribution.apply().get()
    assert ("recompute", (org.pk, version)) not in queued  # fresh: its own chain is running
    with tenant_scope(org):
        AttributionSettings.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    tasks.dispatch_attribution.apply().get()
    assert ("recompute", (org.pk, version)) in queued


# --- the page and the API ---------------------------------------------------------------------

@pytest.mark.django_db
def test_admin_changes_settings_on_the_page_and_sees_the_progress(org, admin_user, login, two_touch_customers,
                                                                  queued, django_capture_on_commit_callbacks):
    client = login(admin_user)
    url = reverse("attribution_settings", args=[org.slug])
    page = client.get(url)
    assert page.status_code == 200 and b"30-day window" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reporting_model": "position_based", "window_days": "14",
                                     "half_life_days": "7"}, follow=True)
    assert b"Credits are being recomputed" in response.content
    assert b"Recomputing credits" in response.content and b"0 of 5 customers" in response.content
    assert queued == [("recompute", (org.pk, 2))]
    assert settings_for(org.pk).reporting_model == "position_based"

    bad = client.post(url, {"reporting_model": "linear", "window_days": "0", "half_life_days": "7"})
    assert bad.status_code == 200 and "greater than or equal to 1" in bad.content.decode()


@pytest.mark.django_db
def test_only_admins_change_settings(org, manager, login):
    client = login(manager)
    assert client.get(reverse("attribution_settings", args=[org.slug])).status_code == 403
    api = reverse("api_attribution_settings", args=[org.slug])
    assert client.get(api).status_code == 200
    assert client.patch(api, {"window_days": 7}, content_type="application/json").status_code == 403
    assert settings_for(org.pk).window_days == 30


@pytest.mark.django_db
def test_api_reads_and_changes_settings(org, admin_user, login, two_touch_customers, queued,
                                        django_capture_on_commit_callbacks):
    client = login(admin_user)
    url = reverse("api_attribution_settings", args=[org.slug])
    assert client.get(url).json() == {"reporting_model": "linear", "window_days": 30, "half_life_days": 7,
                                      "recompute": None, "last_recomputed_at": None}
    bad = client.patch(url, {"window_days": 400, "reporting_model": "nope"}, content_type="application/json")
    assert bad.status_code == 400
    assert set(bad.json()) == {"window_days", "reporting_model"}
    with django_capture_on_commit_callbacks(execute=True):
        body = client.patch(url, {"window_days": 7}, content_type="application/json").json()
    assert body["window_days"] == 30  # still in use until the recompute is done
    assert body["recompute"]["window_days"] == 7 and body["recompute"]["total"] == 5
    assert queued == [("recompute", (org.pk, 2))]
    run_recompute(org)
    body = client.get(url).json()
    assert body["window_days"] == 7 and body["recompute"] is None and body["last_recomputed_at"]


@pytest.mark.django_db
def test_another_organisations_people_get_404(org, other_org, login):
    stranger = member(other_org, Role.OWNER, email="owner@rival.test")
    client = login(stranger)
    assert client.get(reverse("attribution_settings", args=[org.slug])).status_code == 404
    assert client.get(reverse("api_attribution_settings", args=[org.slug])).status_code == 404
    assert client.patch(reverse("api_attribution_settings", args=[org.slug]), {"window_days": 7},
                        content_type="application/json").status_code == 404
    assert settings_for(org.pk).window_days == 30


@pytest.mark.django_db
def test_a_lead_attributed_while_the_change_was_committing_is_recomputed_too(org, two_touch_customers, queued):
    """Race: the change read the last customer id, then a lead was created and attributed in
    the old version only before the change committed. The recompute walks to the last
    customer, not just to the id it read, so that lead has new credits when reports switch."""
    a, b, customers = two_touch_customers
    version = change_settings(org.pk, window_days=7).settings.pending_version
    with tenant_scope(org):
        # As if the change had read its last id before the newest customer existed.
        AttributionSettings.objects.update(recompute_up_to_id=customers[-1].pk - 1)
        Credit.objects.filter(customer=customers[-1], version=version).delete()
    run_recompute(org)
    with tenant_scope(org):
        assert Credit.objects.filter(customer=customers[-1], version=version, model="linear",
                                     kind="lead").get().lead_share == 1
    assert reported(org) == {b: Decimal("5.0000")}
