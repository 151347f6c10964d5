"""CSV import of leads and sales exported from a CRM: the service, the manage pages and the API."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import path, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config.urls import urlpatterns as project_urlpatterns
from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key
from tests.factories import member
from tracking import tasks
from tracking.api import imports as imports_api
from tracking.ids import new_click_id
from tracking.models import ConversionImport, Customer, ImportStatus, Sale
from tracking.services import import_runs, imports
from tracking.services.conversions import email_hash

# The API-key endpoints are machine endpoints without a slug; until config/urls.py wires them,
# the tests that use them run with this module as their URL conf.
urlpatterns = [
    path("api/v1/imports/", imports_api.KeyImportListCreateView.as_view(), name="api_key_conversion_imports"),
    path("api/v1/imports/<uuid:public_id>/", imports_api.KeyImportDetailView.as_view(),
         name="api_key_conversion_import_detail"),
    *project_urlpatterns,
]


@pytest.fixture(autouse=True)
def click_capture():
    """Overrides tests/tracking/conftest.py's parametrised capture mode: no click capture here."""
    return None


@pytest.fixture(autouse=True)
def queued_imports(monkeypatch):
    """Imports queued on commit (never sent to the broker): (organization_id, import_id)."""
    queued = []
    monkeypatch.setattr(tasks.run_conversion_import, "delay", lambda *args: queued.append(args))
    return queued


def day(days_ago: int) -> str:
    return (timezone.now() - timedelta(days=days_ago)).date().isoformat()


def run(org, kind, text, mapping=None, *, encoding="utf-8", name="export.csv"):
    data = text if isinstance(text, bytes) else text.encode(encoding)
    conversion_import = imports.create_import(org, None, kind, name, data, mapping)
    return imports.run_import(conversion_import.pk)


def customers(org):
    with tenant_scope(org):
        return list(Customer.objects.order_by("id"))


def sales(org):
    with tenant_scope(org):
        return {sale.invoice_id: sale for sale in Sale.objects.select_related("customer")}


def errors_by_line(conversion_import):
    result = {}
    for error in conversion_import.errors:
        result.setdefault(error["line"], []).append((error["field"], error["message"]))
    return result


def import_count(org):
    with tenant_scope(org):
        return ConversionImport.objects.count()


# --- reading the file and the mapping -------------------------------------------------------------

def test_guessed_mapping_matches_common_crm_headers():
    leads = imports.guess_mapping("leads", ["Record ID", "First Name", "Last Name", "E-mail Address",
                                            "Create Date", "amb_cid", "Lifecycle Stage"])
    assert leads == {"customer_external_id": "Record ID", "email": "E-mail Address", "click_id": "amb_cid",
                     "first_name": "First Name", "last_name": "Last Name", "occurred_at": "Create Date"}
    assert imports.guess_mapping("leads", ["contact_id", "email_address", "Full Name", "Created", "Click ID"]) == {
        "customer_external_id": "contact_id", "email": "email_address", "click_id": "Click ID",
        "name": "Full Name", "occurred_at": "Created"}
    sales = imports.guess_mapping("sales", ["Invoice Number", "Customer ID", "Total", "Currency", "Close Date",
                                            "Status", "Owner"])
    assert sales == {"invoice_id": "Invoice Number", "customer_external_id": "Customer ID", "amount": "Total",
                     "currency": "Currency", "occurred_at": "Close Date", "status": "Status"}
    assert imports.guess_mapping("sales", ["invoice", "customer", "amount", "date"]) == {
        "invoice_id": "invoice", "customer_external_id": "customer", "amount": "amount", "occurred_at": "date"}


def test_mapping_problems_are_named():
    headers = ["Invoice", "Customer ID", "Total", "Notes"]
    with pytest.raises(imports.ImportRefused) as refused:
        imports.validate_mapping("sales", {"invoice_id": "Invoice", "customer_external_id": "Invoice",
                                           "colour": "Notes", "currency": "Devise"}, headers)
    text = " ".join(refused.value.messages)
    assert "“Invoice” is mapped to several fields" in text
    assert "Unknown field(s) for a sales import: colour" in text
    assert "no column “Devise”" in text
    assert "Amount" in text and "required" in text
    with pytest.raises(imports.ImportRefused, match="identifies the lead"):
        imports.validate_mapping("leads", {"name": "Notes"}, headers)
    # Header names are matched without regard to case.
    assert imports.validate_mapping("leads", {"email": "notes"}, headers) == {"email": "Notes"}


@pytest.mark.django_db
def test_semicolon_file_with_bom_decimal_comma_and_local_dates(org):
    text = ("\ufeffRechnungsnummer;Customer ID;Betrag;Date\n"
            f"inv-1;cus-1;49,90;{day(3)}\n"
            f"inv-2;cus-2;1.234,50;{day(2)} 14:30\n"
            f"inv-3;cus-3;12;{day(1)}T08:00:00Z\n")
    done = run(org, "sales", text)
    assert done.status == ImportStatus.DONE
    assert (done.rows_total, done.rows_created, done.rows_failed) == (3, 3, 0), done.errors
    stored = sales(org)
    assert stored["inv-1"].amount == Decimal("49.90")
    assert stored["inv-2"].amount == Decimal("1234.50")
    paris = org.tzinfo
    first = stored["inv-1"].occurred_at.astimezone(paris)
    assert (first.date().isoformat(), first.hour, first.minute) == (day(3), 0, 0)  # midnight in Paris
    assert stored["inv-2"].occurred_at.astimezone(paris).hour == 14
    assert stored["inv-3"].occurred_at.astimezone(UTC).hour == 8
    assert stored["inv-1"].currency == "EUR"


@pytest.mark.django_db
def test_windows_1252_and_tab_separated_files_are_read(org):
    done = run(org, "leads", "Email\tName\nmuller@example.com\tJürgen Müller\n", encoding="cp1252")
    assert done.rows_created == 1
    assert customers(org)[0].name == "Jürgen Müller"
    assert imports.read_csv("Email\tName\nx@example.com\tMüller\n".encode("cp1252")).encoding == "Windows-1252"


@pytest.mark.django_db
def test_sales_in_other_currencies_are_imported_converted_and_a_second_import_compares_the_original(org):
    """At the ECB's rates as shipped (USD 1.1555 on Friday 20 March 2026); the same invoice again with
    the same original amount is unchanged, with another amount refused, naming the original."""
    text = ("Invoice,Customer ID,Amount,Currency,Date\n"
            "inv-usd,cus-1,115.55,usd,2026-03-20\n"
            "inv-gbp,cus-2,86.44,GBP,2026-03-21\n")   # a Saturday: Friday's rate, estimated
    done = run(org, "sales", text)
    assert (done.rows_created, done.rows_failed) == (2, 0)
    stored = sales(org)
    assert (stored["inv-usd"].amount, stored["inv-usd"].original_amount, stored["inv-usd"].original_currency,
            stored["inv-usd"].rate_status) == (Decimal("100.00"), Decimal("115.55"), "USD", "exact")
    assert (stored["inv-gbp"].original_currency, stored["inv-gbp"].rate_status,
            stored["inv-gbp"].rate_day.isoformat()) == ("GBP", "estimated", "2026-03-20")

    again = run(org, "sales", text.replace("inv-gbp,cus-2,86.44", "inv-gbp,cus-2,86.45"))
    assert (again.rows_unchanged, again.rows_failed) == (1, 1)
    assert errors_by_line(again)[3] == [("amount", "Invoice inv-gbp is already stored with amount 86.44 GBP; a "
                                                   "stored sale isn't changed by an import. If it was wrong, refund "
                                                   "it and import the sale under a new invoice id.")]


# --- the per-row report ----------------------------------------------------------------------------

@pytest.mark.django_db
def test_sales_report_lists_bad_rows_by_line_and_keeps_the_good_ones(org):
    future = (timezone.now() + timedelta(days=10)).date().isoformat()
    text = ("Invoice,Customer ID,Amount,Currency,Date\n"
            f"inv-1,cus-1,100.00,EUR,{day(5)}\n"   # line 2: good
            f"inv-2,cus-2,12.345,EUR,{day(5)}\n"   # line 3: 3 decimal places
            f"inv-3,cus-3,10,DOL,{day(5)}\n"       # line 4: no currency
            f"inv-4,cus-4,10,EUR,{future}\n"       # line 5: in the future
            f"inv-5,cus-5,-3,eur,{day(5)}\n"       # line 6: not more than 0
            f"inv-6,,10,EUR,03/04/2026\n"          # line 7: no customer, ambiguous date
            f"inv-7,cus-7,25.5,,{day(4)}\n")       # line 8: good (currency defaults)
    done = run(org, "sales", text)
    assert (done.rows_total, done.rows_created, done.rows_failed) == (7, 2, 5)
    errors = errors_by_line(done)
    assert set(errors) == {3, 4, 5, 6, 7}
    assert errors[3] == [("amount", "The amount can have at most 2 decimal places.")]
    assert errors[4] == [("currency", "Currency must be an ISO 4217 code such as EUR or USD; 'DOL' is not one.")]
    assert errors[5] == [("occurred_at", "occurred_at cannot be in the future.")]
    assert errors[6] == [("amount", "The amount must be greater than 0.")]
    assert errors[7][0][0] == "occurred_at" and "Day and month order" in errors[7][0][1]
    assert set(sales(org)) == {"inv-1", "inv-7"}
    assert sales(org)["inv-7"].amount == Decimal("25.50")
    value_of_line_4 = next(e["value"] for e in done.errors if e["line"] == 4)
    assert value_of_line_4 == "DOL"


@pytest.mark.django_db
def test_leads_report_lists_bad_rows_by_line(org):
    click_id = new_click_id()
    text = ("Customer ID,Email,Click ID,Name,Created\n"
            f"cus-1,ada@example.com,{click_id},Ada,{day(3)}\n"   # line 2: good
            f"cus-2,bob@example.com,not-a-click-id,Bob,{day(3)}\n"  # line 3: bad click id
            ",,,Nobody,2026-01-01\n"                             # line 4: no identity
            f"cus-4,not-an-email,,Dan,{day(3)}\n"                # line 5: bad e-mail
            f"cus-5,eve@example.com,,Eve,yesterday\n"            # line 6: unreadable date
            f"cus-6,,,Fay,{day(2)}\n")                           # line 7: good
    done = run(org, "leads", text)
    assert (done.rows_created, done.rows_failed) == (2, 4)
    errors = errors_by_line(done)
    assert errors[3] == [("click_id", "Not a valid click id: 22 characters of A–Z, a–z, 0–9, - and _.")]
    assert errors[4][0][0] == "row" and "at least one" in errors[4][0][1]
    assert errors[5][0][0] == "email"
    assert errors[6][0][0] == "occurred_at"
    stored = customers(org)
    assert [c.external_id for c in stored] == ["cus-1", "cus-6"]
    assert stored[0].email_hash == email_hash("ada@example.com")
    assert stored[0].first_click_id == click_id
    assert stored[0].first_lead_at.astimezone(org.tzinfo).date().isoformat() == day(3)


@pytest.mark.django_db
def test_same_file_twice_creates_nothing_new(org, queued_attributions, django_capture_on_commit_callbacks):
    leads = ("Email,Customer ID,First Name,Last Name,Create Date\n"
             f"ada@example.com,cus-1,Ada,Lovelace,{day(9)}\n"
             f"bob@example.com,cus-2,Bob,Smith,{day(8)}\n")
    sales_file = (f"Invoice,Customer ID,Total,Status,Date\ninv-1,cus-1,99.00,paid,{day(7)}\n"
                  f"inv-2,cus-2,10.00,refunded,{day(6)}\n")
    with django_capture_on_commit_callbacks(execute=True):
        first_leads, first_sales = run(org, "leads", leads), run(org, "sales", sales_file)
    assert (first_leads.rows_created, first_sales.rows_created) == (2, 2)
    assert customers(org)[0].name == "Ada Lovelace"
    assert queued_attributions == [org.pk, org.pk]

    with django_capture_on_commit_callbacks(execute=True):
        again_leads, again_sales = run(org, "leads", leads), run(org, "sales", sales_file)
    assert len(customers(org)) == 2 and len(sales(org)) == 2
    for again in (again_leads, again_sales):
        assert (again.rows_created, again.rows_updated, again.rows_unchanged, again.rows_failed) == (0, 0, 2, 0)
    assert queued_attributions == [org.pk, org.pk]  # nothing changed: no attribution queued
    assert import_count(org) == 4

    # A changed name is an update, not a new customer.
    updated = run(org, "leads", leads.replace("Bob,Smith", "Robert,Smith"))
    assert (updated.rows_created, updated.rows_updated, updated.rows_unchanged) == (0, 1, 1)
    assert customers(org)[1].name == "Robert Smith"


@pytest.mark.django_db
def test_run_import_again_recomputes_the_report_without_duplicates(org):
    text = f"Invoice,Customer,Amount,Date\ninv-1,cus-1,10,{day(2)}\ninv-2,cus-2,oops,{day(2)}\n"
    first = run(org, "sales", text)
    assert (first.rows_created, first.rows_failed) == (1, 1)
    again = imports.run_import(first.pk)
    assert (again.rows_total, again.rows_created, again.rows_unchanged, again.rows_failed) == (2, 0, 1, 1)
    assert len(again.errors) == 1 and again.errors[0]["line"] == 3
    assert len(sales(org)) == 1
    # The Celery task runs the same service in the organisation's scope.
    assert tasks.run_conversion_import(org.pk, first.pk)["unchanged"] == 1
    with pytest.raises(ConversionImport.DoesNotExist):
        tasks.run_conversion_import(org.pk + 1000, first.pk)


@pytest.mark.django_db
def test_refund_rows(org):
    run(org, "sales", f"invoice_id,customer_external_id,amount,occurred_at\ninv-1,cus-1,50.00,{day(5)}\n")
    text = ("Invoice,Customer ID,Amount,Status,Date\n"
            f"inv-1,cus-1,-50.00,Refunded,{day(2)}\n"   # marks the stored sale refunded
            f"inv-9,cus-9,20.00,refunded,{day(2)}\n"    # refunded before we ever saw it: stored refunded
            f"inv-8,cus-8,20.00,cancelled,{day(2)}\n")  # unknown status
    done = run(org, "sales", text)
    assert (done.rows_created, done.rows_updated, done.rows_failed) == (1, 1, 1)
    assert errors_by_line(done)[4] == [("status", "Status “cancelled” is not paid or refunded.")]
    stored = sales(org)
    assert stored["inv-1"].status == "refunded" and stored["inv-1"].refunded_at is not None
    assert stored["inv-9"].status == "refunded" and stored["inv-9"].amount == Decimal("20.00")
    assert run(org, "sales", text).rows_unchanged == 2  # a refund twice is one refund
    # An old export with the sale still paid doesn't undo the refund.
    assert run(org, "sales", "Invoice,Customer ID,Amount\ninv-1,cus-1,50.00\n").rows_unchanged == 1
    assert sales(org)["inv-1"].status == "refunded"


@pytest.mark.django_db
def test_sale_of_an_unknown_customer_is_kept_and_linked_by_the_later_lead_file(org):
    run(org, "sales", f"Invoice,Customer ID,Amount,Date\ninv-1,cus-42,80.00,{day(3)}\n")
    assert sales(org)["inv-1"].customer is None
    run(org, "leads", "contact_id,email\ncus-42,late@example.com\n")
    sale = sales(org)["inv-1"]
    assert sale.customer is not None and sale.customer.external_id == "cus-42"


@pytest.mark.django_db
def test_duplicate_invoice_in_one_file_is_reported_on_its_second_line(org):
    text = (f"Invoice,Customer,Amount,Date\ninv-1,cus-1,10.00,{day(2)}\ninv-2,cus-2,5,{day(2)}\n"
            f"inv-1,cus-1,12.00,{day(2)}\ninv-2,cus-2,5.00,{day(2)}\n")
    done = run(org, "sales", text)
    assert (done.rows_created, done.rows_unchanged, done.rows_failed) == (2, 1, 1)
    assert errors_by_line(done) == {4: [("amount", "Invoice inv-1 is also on line 2 with amount 10.00 EUR; an invoice "
                                                   "is imported once, so this line is skipped.")]}
    assert sales(org)["inv-1"].amount == Decimal("10.00")
    # Against what an earlier import stored:
    changed = run(org, "sales", "Invoice,Customer,Amount\ninv-1,cus-1,11.00\n")
    assert changed.rows_failed == 1 and "already stored with amount 10.00 EUR" in changed.errors[0]["message"]


@pytest.mark.django_db
def test_a_row_with_more_values_than_columns_is_reported(org):
    done = run(org, "leads", "Email,Name\na@example.com,Ann\nb@example.com,Smith, Bob\nc@example.com,Cy,\n")
    assert (done.rows_created, done.rows_failed) == (2, 1)
    assert errors_by_line(done)[3][0][0] == "row"


@pytest.mark.django_db
def test_stored_errors_are_capped(org, monkeypatch):
    monkeypatch.setattr(import_runs, "MAX_ERROR_ROWS", 3)
    text = "Email\n" + "".join(f"bad-{n}\n" for n in range(5))
    done = run(org, "leads", text)
    assert done.rows_failed == 5
    assert [e["line"] for e in done.errors] == [2, 3, 4, None]
    assert "2 more failed row(s)" in done.errors[-1]["message"]


# --- file-level problems: nothing imported ------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "data", "mapping", "message"), [
    ("leads", b"PK\x03\x04\x14\x00\x06\x00workbook", None, "spreadsheet workbook"),
    ("leads", b"Email\n" + b"a@example.com\n" * (imports.MAX_FILE_BYTES // 14 + 1), None, "at most 5 MB"),
    ("leads", b"ada@example.com;Ada\nbob@example.com;Bob\n", None, "header line"),
    ("leads", b"Email,Name\n", None, "no rows"),
    ("leads", b"   \n\n", None, "empty"),
    ("sales", b"Invoice,Customer ID,Date\ninv-1,cus-1,2026-01-01\n", None, "Amount"),
    ("sales", b"Invoice,Customer ID,Amount\ninv-1,cus-1,10\n", {"invoice_id": "Invoice", "amount": "Amount"},
     "Customer ID"),
    ("orders", b"Invoice\ninv-1\n", None, "leads or sales"),
])
def test_file_level_problems_import_nothing(org, kind, data, mapping, message):
    with pytest.raises(imports.ImportRefused, match=message):
        imports.create_import(org, None, kind, "file.csv", data, mapping)
    assert import_count(org) == 0


@pytest.mark.django_db
def test_too_many_rows(org, monkeypatch):
    monkeypatch.setattr(import_runs, "MAX_ROWS", 3)
    with pytest.raises(imports.ImportRefused, match="more than 3 rows"):
        imports.create_import(org, None, "leads", "f.csv", b"Email\n" + b"a@example.com\n" * 4)
    assert import_count(org) == 0


# --- the manage pages ------------------------------------------------------------------------------------

def page(org, name="conversion_imports", *args):
    return reverse(name, args=[org.slug, *args])


@pytest.mark.django_db
def test_upload_mapping_confirm_and_report(login, org, admin_user, queued_imports, django_capture_on_commit_callbacks):
    client = login(admin_user)
    assert client.get(page(org)).status_code == 200
    text = ("Deal ID;Contact;Deal Value;Close Date;Stage\n"
            f"D-1;C-1;1200,00;{day(4)};won\nD-2;C-2;abc;{day(4)};won\nD-3;C-3;80;{day(4)};won\n")
    response = client.post(page(org), {"step": "upload", "kind": "sales",
                                       "file": SimpleUploadedFile("deals.csv", text.encode())})
    assert response.status_code == 200
    html = response.content.decode()
    assert "3 rows" in html and "semicolon" in html
    assert '<option value="Deal ID" selected>' in html  # guessed: invoice_id ← Deal ID
    assert "1200,00" in html  # the preview
    assert import_count(org) == 0  # nothing stored before the confirmation
    payload = re.search(r'name="payload" value="([^"]+)"', html).group(1)

    form = {"step": "confirm", "kind": "sales", "file_name": "deals.csv", "payload": payload,
            "map_invoice_id": "Deal ID", "map_customer_external_id": "", "map_amount": "Deal Value",
            "map_occurred_at": "Close Date"}
    refused = client.post(page(org), form)  # no customer column
    assert refused.status_code == 400
    assert "Customer ID" in refused.content.decode() and import_count(org) == 0

    form["map_customer_external_id"] = "Contact"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page(org), form)
    with tenant_scope(org):
        conversion_import = ConversionImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page(org, "conversion_import_detail", conversion_import.public_id)
    assert queued_imports == [(org.pk, conversion_import.pk)]
    assert conversion_import.mapping == {"invoice_id": "Deal ID", "customer_external_id": "Contact",
                                         "amount": "Deal Value", "occurred_at": "Close Date"}
    assert conversion_import.created_by == admin_user

    queued = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in queued and "Queued" in queued

    imports.run_import(conversion_import.pk)
    detail = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in detail
    assert re.search(r'<div class="value">2</div><div class="label">created', detail)
    assert "<td>3</td>" in detail and "A valid decimal amount is required" in detail
    rejected = client.get(page(org, "conversion_import_rejected", conversion_import.public_id))
    assert rejected.status_code == 200
    lines = rejected.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Deal ID;Contact;Deal Value;Close Date;Stage;Problem"
    assert lines[1].startswith("D-2;C-2;abc;") and "Deal Value: A valid decimal amount" in lines[1]
    listing = client.get(page(org)).content.decode()
    assert "deals.csv" in listing

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(page(org, "conversion_import_rerun", conversion_import.public_id)).status_code == 302
    assert queued_imports[-1] == (org.pk, conversion_import.pk)


@pytest.mark.django_db
def test_upload_of_a_bad_file_shows_why(login, org, admin_user):
    response = login(admin_user).post(page(org), {"step": "upload", "kind": "leads",
                                                  "file": SimpleUploadedFile("x.csv", b"a@b.example;1\n")})
    assert response.status_code == 400
    assert "header line" in response.content.decode()
    assert import_count(org) == 0


@pytest.mark.django_db
def test_only_admins_reach_imports(login, client, org, manager, ambassador_user):
    done = run(org, "leads", "Email\na@example.com\n")
    for user in (manager, ambassador_user):
        client = login(user)
        assert client.get(page(org)).status_code == 403
        assert client.get(page(org, "conversion_import_detail", done.public_id)).status_code == 403
        assert client.get(f"/api/v1/o/{org.slug}/imports/").status_code == 403
        assert client.get(f"/api/v1/o/{org.slug}/imports/{done.public_id}/").status_code == 403


@pytest.mark.django_db
def test_other_organisations_get_404(login, org, other_org):
    done = run(org, "leads", "Email\na@example.com\n")
    stranger = member(other_org, "admin", email="admin@rival.test")
    client = login(stranger)
    assert client.get(page(org, "conversion_import_detail", done.public_id)).status_code == 404
    assert client.get(page(other_org, "conversion_import_detail", done.public_id)).status_code == 404
    assert client.get(f"/api/v1/o/{other_org.slug}/imports/{done.public_id}/").status_code == 404
    assert client.get(f"/api/v1/o/{org.slug}/imports/{done.public_id}/").status_code == 404
    assert client.get(page(other_org, "conversion_import_rejected", done.public_id)).status_code == 404
    # An API key of the other organisation on this organisation's URL: 404 as well.
    _, key = create_api_key(organization=other_org, name="CRM")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get(f"/api/v1/o/{org.slug}/imports/{done.public_id}/").status_code == 404


# --- the API ---------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_api_upload_then_detail(login, org, admin_user, queued_imports, django_capture_on_commit_callbacks):
    client = login(admin_user)
    url = f"/api/v1/o/{org.slug}/imports/"
    text = f"Invoice Number,Customer ID,Amount,Date\ninv-1,cus-1,10.00,{day(1)}\ninv-2,cus-2,10.00,tomorrow\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"kind": "sales", "file": SimpleUploadedFile("s.csv", text.encode())})
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["kind"] == "sales"
    assert body["mapping"] == {"invoice_id": "Invoice Number", "customer_external_id": "Customer ID",
                               "amount": "Amount", "occurred_at": "Date"}
    assert body["url"].endswith(f"/api/v1/o/{org.slug}/imports/{body['id']}/")
    with tenant_scope(org):
        conversion_import = ConversionImport.objects.get(public_id=body["id"])
    assert queued_imports == [(org.pk, conversion_import.pk)]

    imports.run_import(conversion_import.pk)
    detail = client.get(body["url"]).json()
    assert (detail["status"], detail["rows_created"], detail["rows_failed"]) == ("done", 1, 1)
    assert detail["errors"][0]["line"] == 3 and detail["errors"][0]["field"] == "occurred_at"
    listing = client.get(url).json()
    assert listing["results"][0]["id"] == body["id"]

    # With an explicit mapping (JSON), case-insensitive headers.
    mapping = '{"invoice_id": "invoice number", "customer_external_id": "Customer ID", "amount": "Amount"}'
    ok = client.post(url, {"kind": "sales", "mapping": mapping, "file": SimpleUploadedFile("s.csv", text.encode())})
    assert ok.status_code == 202 and ok.json()["mapping"]["invoice_id"] == "Invoice Number"


@pytest.mark.django_db
def test_api_refusals(login, org, admin_user, monkeypatch):
    client = login(admin_user)
    url = f"/api/v1/o/{org.slug}/imports/"

    def post(kind="leads", content=b"Email\na@example.com\n", **extra):
        return client.post(url, {"kind": kind, "file": SimpleUploadedFile("f.csv", content), **extra})

    assert post(kind="orders").json()["kind"]
    assert post(mapping="{not json").json()["mapping"][0].startswith("Not valid JSON")
    bad_mapping = post(mapping='{"email": "Mail"}')
    assert bad_mapping.status_code == 400 and "no column “Mail”" in bad_mapping.json()["mapping"][0]
    assert "header line" in post(content=b"a@example.com\n").json()["file"][0]
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", 10)
    too_big = post()
    assert too_big.status_code == 413 and "at most" in too_big.json()["file"][0]
    assert client.post(url, {"kind": "leads"}).status_code == 400
    assert import_count(org) == 0


@pytest.mark.django_db
@pytest.mark.urls("tests.tracking.test_imports")
def test_api_key_machine_endpoints(org, other_org, queued_imports, django_capture_on_commit_callbacks):
    _, key = create_api_key(organization=org, name="CRM")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/imports/", {"kind": "leads", "file": SimpleUploadedFile(
            "l.csv", b"Email,Name\nada@example.com,Ada\n")}, format="multipart")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["url"].endswith(f"/api/v1/imports/{body['id']}/")
    imports.run_import(queued_imports[0][1])
    assert api.get(body["url"]).json()["rows_created"] == 1
    assert api.get("/api/v1/imports/").json()["results"][0]["id"] == body["id"]
    # Keys never open the slug URLs (the project's rule), and another organisation's key sees nothing.
    assert api.get(f"/api/v1/o/{org.slug}/imports/").status_code == 403
    _, other_key = create_api_key(organization=other_org, name="CRM")
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key}")
    assert stranger.get(f"/api/v1/imports/{body['id']}/").status_code == 404
    assert stranger.get("/api/v1/imports/").json()["results"] == []
    assert APIClient().get("/api/v1/imports/").status_code == 401


def test_occurred_at_parsing():
    import zoneinfo

    paris = zoneinfo.ZoneInfo("Europe/Paris")
    assert import_runs.parse_occurred_at("2026-03-01", paris) == "2026-03-01T00:00:00+01:00"
    assert import_runs.parse_occurred_at("2026-07-01 09:15", paris) == "2026-07-01T09:15:00+02:00"
    assert import_runs.parse_occurred_at("01.03.2026", paris) == "2026-03-01T00:00:00+01:00"
    assert import_runs.parse_occurred_at("2026-03-01T10:00:00Z", paris) == "2026-03-01T10:00:00+00:00"
    assert import_runs.parse_occurred_at("", paris) is None
    with pytest.raises(import_runs.RowProblem):
        import_runs.parse_occurred_at("2026-02-30", paris)
    assert datetime.fromisoformat(import_runs.parse_occurred_at("2026-03-01 12:00", paris)).utcoffset()


def test_amount_parsing():
    assert import_runs.parse_amount("1 234,50", refund=False) == "1234.50"
    assert import_runs.parse_amount("1,234.50", refund=False) == "1234.50"
    assert import_runs.parse_amount("49,9", refund=False) == "49.9"
    assert import_runs.parse_amount("-20", refund=True) == "20"
    assert import_runs.parse_amount("-20", refund=False) == "-20"
    with pytest.raises(import_runs.RowProblem, match="ambiguous"):
        import_runs.parse_amount("1,234", refund=False)


@pytest.mark.django_db
def test_the_beats_requeued_copies_of_an_import_that_has_run_do_nothing(org):
    """The beat queues an import still queued after IMPORT_REQUEUE_AFTER every 30 s: with the
    workers away, copies pile up. Once one copy has run it, the others must not run it again."""
    done = run(org, "sales", f"Invoice Number,Customer ID,Amount,Date\ninv-1,cus-1,10.00,{day(1)}\n")
    assert done.status == ImportStatus.DONE
    started = done.started_at
    assert tasks.run_conversion_import.apply(args=(org.pk, done.pk), kwargs={"only_if_queued": True}).get() is None
    with tenant_scope(org):
        done.refresh_from_db()
    assert (done.status, done.started_at, done.rows_created) == (ImportStatus.DONE, started, 1)
    # Queued (a new upload, or "run again"): the sweep's copy runs it.
    with tenant_scope(org):
        ConversionImport.objects.filter(pk=done.pk).update(status=ImportStatus.QUEUED)
    counts = tasks.run_conversion_import.apply(args=(org.pk, done.pk), kwargs={"only_if_queued": True}).get()
    assert counts["status"] == ImportStatus.DONE and counts["unchanged"] == 1
