"""The payout files (rewards.services.payout_files): their exact bytes for a small run, the same
bytes on a second download (page and API) with nothing changed but the audit log, refusals that
say why, and payout details found nowhere else: not in the site's other CSV files."""

import pytest
from django.urls import URLResolver, get_resolver
from django.utils import timezone

from ambassadors.models import Kind
from rewards.models import AuditEntry, EarningEntry, PayoutItem, PayoutRun
from rewards.services import RewardError, payout_files, payouts
from tenancy.models import Role
from tenancy.scoping import scopes_disabled, tenant_scope
from tests.factories import AmbassadorFactory, RewardRuleFactory, member
from tests.support.payouts import IBAN_DE, approved, give_iban, give_paypal

pytestmark = pytest.mark.django_db

SECRETS = ("ana@paypal.example", IBAN_DE, "0532013000", "Bea Bank")


@pytest.fixture
def admin(org):
    return member(org, Role.ADMIN, email="admin@acme.test")


@pytest.fixture
def run(org, admin):
    """Ana (PayPal) 40.00 EUR in three entries and 7.50 USD; Bea (IBAN) 12.00 EUR; Dan (internal,
    payroll) 100.00 EUR; "=cmd" (PayPal, a hostile name) 1.00 EUR. Confirmed."""
    rule = RewardRuleFactory(organization=org)
    ana = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL, display_name="Ana", email="ana@acme.test")
    bea = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL, display_name="Bea", email="bea@acme.test")
    dan = AmbassadorFactory(organization=org, kind=Kind.INTERNAL, display_name="Dan", email="dan@acme.test")
    cmd = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL, display_name="=cmd", email="cmd@acme.test")
    give_paypal(ana, "ana@paypal.example")
    give_iban(bea, IBAN_DE, holder="Bea Bank")
    give_paypal(cmd, "cmd@paypal.example")
    for amount in ("33.34", "10.00", "-3.34"):
        approved(ana, amount, rule=rule)
    approved(ana, "7.50", "USD", rule=rule)
    approved(bea, "12.00", rule=rule)
    approved(dan, "100.00", rule=rule)
    approved(cmd, "1.00", rule=rule)
    made = payouts.create_run(org.pk, admin)
    return payouts.confirm(made, admin)


def item(run, name, currency="EUR") -> str:
    with tenant_scope(run.organization_id):
        return str(PayoutItem.objects.get(run=run, ambassador__display_name=name, currency=currency).public_id)


def ambassador_id(run, name) -> str:
    with tenant_scope(run.organization_id):
        return str(PayoutItem.objects.filter(run=run, ambassador__display_name=name).first().ambassador.public_id)


def stem(run) -> str:
    return f"payout-{timezone.localtime(run.created_at, run.organization.tzinfo):%Y-%m-%d}-{run.public_id.hex[:8]}"


def test_paypal_file_one_currency_per_file_no_header(run, admin):
    ref = f"Rewards {run.public_id.hex[:8]}"
    eur = payout_files.export(run, "paypal", actor=admin, currency="eur")
    assert eur.filename == f"{stem(run)}-paypal-EUR.csv"
    assert eur.content.decode() == (
        f"cmd@paypal.example,1.00,EUR,{item(run, '=cmd')},Acme: ambassador rewards ({ref}),PAYPAL\r\n"
        f"ana@paypal.example,40.00,EUR,{item(run, 'Ana')},Acme: ambassador rewards ({ref}),PAYPAL\r\n")
    usd = payout_files.export(run, "paypal", actor=admin, currency="USD")
    assert usd.content.decode() == (
        f"ana@paypal.example,7.50,USD,{item(run, 'Ana', 'USD')},Acme: ambassador rewards ({ref}),PAYPAL\r\n")
    with pytest.raises(RewardError, match="one currency per file: choose one of EUR, USD"):
        payout_files.export(run, "paypal", actor=admin)


def test_wise_file_has_wise_columns_and_only_iban_payments(run, admin):
    made = payout_files.export(run, "wise", actor=admin)
    assert made.filename == f"{stem(run)}-wise.csv"
    assert made.content.decode() == (
        "name,recipientEmail,paymentReference,receiverType,amountCurrency,amount,sourceCurrency,targetCurrency,IBAN\r\n"
        f"Bea Bank,bea@acme.test,Rewards {run.public_id.hex[:8]},PRIVATE,target,12.00,EUR,EUR,{IBAN_DE}\r\n")


def test_payroll_file_lists_internal_ambassadors_with_the_period(run, admin):
    made = payout_files.export(run, "payroll", actor=admin)
    period = timezone.localtime(run.confirmed_at, run.organization.tzinfo).strftime("%Y-%m")
    assert made.content.decode() == (
        "\ufeffemployee_email,name,amount,currency,period,reference\r\n"
        f"dan@acme.test,Dan,100.00,EUR,{period},{item(run, 'Dan')}\r\n")
    assert not any(secret in made.content.decode() for secret in SECRETS)


def test_generic_file_has_every_payment_with_its_details_and_neutralised_names(run, admin):
    made = payout_files.export(run, "generic", actor=admin)
    assert made.filename == f"{stem(run)}.csv"
    assert made.content.decode() == (
        "\ufeffreference,ambassador_id,name,email,kind,channel,paypal_email,iban,account_holder,amount,currency,entries\r\n"
        f"{item(run, '=cmd')},{ambassador_id(run, '=cmd')},'=cmd,cmd@acme.test,external,paypal,cmd@paypal.example,,,"
        "1.00,EUR,1\r\n"
        f"{item(run, 'Ana')},{ambassador_id(run, 'Ana')},Ana,ana@acme.test,external,paypal,ana@paypal.example,,,"
        "40.00,EUR,3\r\n"
        f"{item(run, 'Ana', 'USD')},{ambassador_id(run, 'Ana')},Ana,ana@acme.test,external,paypal,ana@paypal.example,,,"
        "7.50,USD,1\r\n"
        f"{item(run, 'Bea')},{ambassador_id(run, 'Bea')},Bea,bea@acme.test,external,bank,,{IBAN_DE},Bea Bank,"
        "12.00,EUR,1\r\n"
        f"{item(run, 'Dan')},{ambassador_id(run, 'Dan')},Dan,dan@acme.test,internal,payroll,,,,100.00,EUR,1\r\n")


def snapshot(org) -> dict:
    with scopes_disabled():
        return {"runs": list(PayoutRun.objects.filter(organization=org).values()),
                "items": list(PayoutItem.objects.filter(organization=org).order_by("pk").values()),
                "entries": list(EarningEntry.objects.filter(organization=org).order_by("pk").values())}


def test_downloading_twice_gives_the_same_bytes_and_changes_nothing(run, admin, client, org):
    client.force_login(admin)
    urls = [f"/o/{org.slug}/manage/payouts/{run.public_id}/export/?file={name}" for name in
            ("paypal&currency=EUR", "paypal&currency=USD", "wise", "generic", "payroll")]
    urls += [f"/api/v1/o/{org.slug}/payouts/{run.public_id}/export/?file={name}" for name in ("wise", "generic")]
    before = snapshot(org)
    first = [client.get(url) for url in urls]
    second = [client.get(url) for url in urls]
    for url, a, b in zip(urls, first, second, strict=True):
        assert a.status_code == b.status_code == 200, (url, a.content[:200])
        assert a.content == b.content and a["Content-Disposition"] == b["Content-Disposition"], url
        assert a["Content-Type"] == "text/csv; charset=utf-8" and a["Cache-Control"] == "no-store"
    assert snapshot(org) == before
    with tenant_scope(org):
        exported = list(AuditEntry.objects.filter(action="payout_run.exported").order_by("pk"))
    assert len(exported) == 2 * len(urls) and all(e.actor_id == admin.pk for e in exported)
    assert exported[0].after == {"file": "paypal", "currency": "EUR", "rows": 2}


def test_a_draft_run_has_no_files(org, admin):
    ana = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL)
    give_paypal(ana, "ana@paypal.example")
    approved(ana, "5.00")
    draft = payouts.create_run(org.pk, admin)
    with pytest.raises(RewardError, match="Confirm the run first"):
        payout_files.export(draft, "generic", actor=admin)


def test_an_empty_file_is_refused_with_the_reason(org, admin):
    ana = AmbassadorFactory(organization=org, kind=Kind.EXTERNAL)
    give_paypal(ana, "ana@paypal.example")
    approved(ana, "5.00")
    run = payouts.confirm(payouts.create_run(org.pk, admin), admin)
    with pytest.raises(RewardError, match="bank transfer"):
        payout_files.export(run, "wise", actor=admin)
    with pytest.raises(RewardError, match="internal ambassador"):
        payout_files.export(run, "payroll", actor=admin)
    with pytest.raises(RewardError, match="Choose one of"):
        payout_files.export(run, "excel", actor=admin)


def org_csv_routes() -> list[str]:
    """Every page route under /o/<slug>/ that answers a CSV file and needs nothing but the slug."""
    found = []

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif route.startswith("o/<slug:org_slug>/") and route.endswith(".csv") and route.count("<") == 1:
                found.append(route)

    walk(get_resolver().url_patterns, "")
    return found


def test_payout_details_are_in_no_other_csv_file(run, owner, client, org):
    """The reports' CSVs and the audit log's export (any org CSV route) hold no payout details."""
    client.force_login(owner)
    routes = org_csv_routes()
    assert any("reports/" in route for route in routes)
    for route in routes:
        response = client.get("/" + route.replace("<slug:org_slug>", org.slug))
        assert response.status_code in (200, 400), (route, response.status_code)
        body = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
        text = body.decode("utf-8", "replace")
        assert not [secret for secret in SECRETS if secret in text], route
