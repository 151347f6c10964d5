"""CSV formula injection: exported text that a spreadsheet would run is neutralised, numbers
are left alone — in the report exports and in the rejected-rows file of an import."""

from decimal import Decimal

import pytest
from django.urls import reverse

from common.csv_cells import safe_cell
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory
from tests.support.responses import parse_csv


@pytest.mark.parametrize(("value", "expected"), [
    ("=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("-49.00", "-49.00"),
    ("+1 234,50", "+1 234,50"),
    ("Ann = Bob", "Ann = Bob"),
    (Decimal("-12.50"), Decimal("-12.50")),
    (-3, -3),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


@pytest.mark.django_db
def test_a_report_export_neutralises_a_formula_in_an_ambassador_name(org, manager, login):
    with tenant_scope(org):
        AmbassadorFactory(organization=org, display_name="=HYPERLINK(\"http://evil.example\",\"win\")",
                          status="active")
    response = login(manager).get(reverse("report_leaderboard_csv", args=[org.slug]))
    assert response.status_code == 200
    names = [row["name"] for row in parse_csv(response)]
    assert "'=HYPERLINK(\"http://evil.example\",\"win\")" in names
    assert not any(name.startswith("=") for name in names)
