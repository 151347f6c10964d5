"""The admins' payout pages: the runs and what a new run would pay or leave out, making a run with
an exclusion, the review (details masked), confirm, the files, mark paid, cancel; role walls;
another organisation's runs, files and details are a 404."""

import logging

import pytest

from ambassadors.models import Kind
from rewards.models import EarningEntry, EntryStatus, PayoutRun, PayoutStatus
from rewards.services import payouts
from tenancy.models import Role
from tenancy.scoping import scopes_disabled, tenant_scope
from tests.factories import AmbassadorFactory, member
from tests.support.payouts import IBAN_DE, approved, give_iban, give_paypal

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org):
    return member(org, Role.ADMIN, email="admin@acme.test")


@pytest.fixture
def people(org):
    ana = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL, display_name="Ana Pay", email="ana@acme.test")
    bea = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL, display_name="Bea Bank", email="bea@acme.test")
    cat = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL, display_name="Cat Nodetails")
    give_paypal(ana, "ana.secret@paypal.example")
    give_iban(bea, IBAN_DE, holder="Bea Holder")
    for person, amount in ((ana, "40.00"), (bea, "12.00"), (cat, "9.00")):
        approved(person, amount)
    return ana, bea, cat


def test_the_whole_flow_through_the_pages(org, admin, people, client, caplog):
    caplog.set_level(logging.DEBUG)
    ana, bea, cat = people
    client.force_login(admin)
    base = f"/o/{org.slug}/manage/payouts/"
    page = client.get(base).content.decode()
    assert "Ana Pay" in page and "52.00 EUR" in page  # what a run would pay
    assert "Cat Nodetails" in page and "No payout details yet" in page  # and who it would leave out

    response = client.post(f"{base}new/", {"exclude": [str(bea.public_id)], "note": "October"})
    assert response.status_code == 302
    with tenant_scope(org):
        run = PayoutRun.objects.get()
    assert response["Location"] == f"{base}{run.public_id}/"
    review = client.get(response["Location"]).content.decode()
    assert "a•••@paypal.example" in review and "ana.secret" not in review
    assert "Excluded by an admin" in review and "Bea Bank" in review
    assert "?file=generic" not in review  # no files before confirmation

    assert client.post(f"{base}{run.public_id}/confirm/").status_code == 302
    review = client.get(f"{base}{run.public_id}/").content.decode()
    assert "?file=paypal&amp;currency=EUR" in review and "?file=generic" in review
    download = client.get(f"{base}{run.public_id}/export/?file=paypal&currency=EUR")
    assert download.status_code == 200 and b"ana.secret@paypal.example,40.00,EUR," in download.content

    assert client.post(f"{base}{run.public_id}/mark-paid/").status_code == 302
    run.refresh_from_db()
    assert run.status == PayoutStatus.PAID
    with scopes_disabled():
        assert EarningEntry.objects.get(ambassador=ana).status == EntryStatus.PAID
        assert EarningEntry.objects.get(ambassador=bea).status == EntryStatus.APPROVED
    listing = client.get(base).content.decode()
    assert "Paid" in listing and "ana.secret" not in listing
    logged = caplog.text + " ".join(str(record.args) for record in caplog.records)
    assert "ana.secret" not in logged and IBAN_DE not in logged and "Bea Holder" not in logged


def test_refusals_come_back_as_messages(org, admin, people, client):
    client.force_login(admin)
    base = f"/o/{org.slug}/manage/payouts/"
    client.post(f"{base}new/", {})
    with tenant_scope(org):
        run = PayoutRun.objects.get()
    response = client.post(f"{base}{run.public_id}/mark-paid/", follow=True)
    assert "be marked paid now" in response.content.decode()
    response = client.get(f"{base}{run.public_id}/export/?file=generic", follow=True)
    assert "Confirm the run first" in response.content.decode()
    response = client.post(f"{base}new/", {})
    assert response.status_code == 400  # the open run is linked instead of the form


def test_a_run_with_nothing_to_pay_is_refused_on_the_form(org, admin, client):
    client.force_login(admin)
    response = client.post(f"/o/{org.slug}/manage/payouts/new/", {})
    assert response.status_code == 400 and "Nothing to pay" in response.content.decode()


def test_cancel_from_the_page(org, admin, people, client):
    client.force_login(admin)
    run = payouts.create_run(org.pk, admin)
    assert client.post(f"/o/{org.slug}/manage/payouts/{run.public_id}/cancel/").status_code == 302
    run.refresh_from_db()
    assert run.status == PayoutStatus.CANCELED
    with scopes_disabled():
        assert set(EarningEntry.objects.values_list("status", flat=True)) == {EntryStatus.APPROVED}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AMBASSADOR])
def test_only_admins_see_payouts(org, people, admin, client, role):
    run = payouts.create_run(org.pk, admin)
    client.force_login(member(org, role))
    base = f"/o/{org.slug}/manage/payouts/"
    assert client.get(base).status_code == 403
    assert client.get(f"{base}{run.public_id}/").status_code == 403
    assert client.get(f"{base}{run.public_id}/export/?file=generic").status_code == 403
    assert client.post(f"{base}{run.public_id}/cancel/").status_code == 403
    run.refresh_from_db()
    assert run.status == PayoutStatus.DRAFT


def test_another_organisations_runs_and_files_are_404(org, other_org, admin, people, client):
    """Org A's admin, with B's run id under A's slug or under B's slug: 404 for pages, actions,
    files and API, and B's run unchanged."""
    theirs_admin = member(other_org, Role.ADMIN)
    zed = AmbassadorFactory(organization=other_org, kind=Kind.EXTERNAL)
    give_paypal(zed, "zed.secret@paypal.example")
    approved(zed, "30.00")
    theirs = payouts.confirm(payouts.create_run(other_org.pk, theirs_admin), theirs_admin)
    client.force_login(admin)
    for slug in (org.slug, other_org.slug):
        page = f"/o/{slug}/manage/payouts/{theirs.public_id}/"
        api = f"/api/v1/o/{slug}/payouts/{theirs.public_id}/"
        for url in (page, f"{page}export/?file=generic", f"{page}export/?file=paypal", api,
                    f"{api}export/?file=generic"):
            response = client.get(url)
            assert response.status_code == 404 and b"zed.secret" not in response.content, url
        for url in (f"{page}confirm/", f"{page}cancel/", f"{page}mark-paid/", f"{api}cancel/", f"{api}mark-paid/"):
            assert client.post(url).status_code == 404, url
    theirs.refresh_from_db()
    assert theirs.status == PayoutStatus.CONFIRMED
    assert client.get(f"/o/{other_org.slug}/me/payout-details/").status_code == 404
