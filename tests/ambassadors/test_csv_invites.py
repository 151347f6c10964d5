"""CSV invitations: each bad row reported with its line number; good rows are kept."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ambassadors.models import Ambassador, Invitation
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, GroupFactory


def upload(client, org, text, name="people.csv", encoding="utf-8"):
    data = text.encode(encoding) if isinstance(text, str) else text
    return client.post(reverse("ambassador_invite_csv", args=[org.slug]),
                       {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def invited_emails(org):
    with tenant_scope(org):
        return sorted(Invitation.objects.values_list("email", flat=True))


@pytest.fixture
def sales(org):
    return GroupFactory(organization=org, name="Sales")


CSV = """email,name,kind,group
ana@example.com,Ana Lima,internal,Sales
not-an-email,Bad Address,internal,Sales
ben@example.com,Ben Okafor,external,Nonexistent
carla@example.com,Carla Rossi,external,
ana@example.com,Ana Again,internal,Sales
already@example.com,Already There,internal,
dan@example.com,Dan,robot,sales
"""


@pytest.mark.django_db
def test_bad_rows_are_reported_by_line_and_good_rows_invited(login, org, admin_user, sales):
    AmbassadorFactory(organization=org, user=None, email="already@example.com")
    response = upload(login(admin_user), org, CSV)
    assert response.status_code == 200  # some rows went through
    report = response.context["report"]
    assert report.invited == ["ana@example.com", "carla@example.com"]
    errors = {e.line: e.message for e in report.errors}
    assert set(errors) == {3, 4, 6, 7, 8}
    assert "not a valid e-mail address" in errors[3]
    assert "group “Nonexistent” does not exist" in errors[4]
    assert "duplicate of line 2" in errors[6]
    assert "already an ambassador or invited" in errors[7]
    assert "kind “robot” is not internal or external" in errors[8]
    body = response.content.decode()
    assert "<td>3</td>" in body and "not a valid e-mail address" in body
    assert invited_emails(org) == ["ana@example.com", "carla@example.com"]
    with tenant_scope(org):
        ana = Ambassador.objects.get(email="ana@example.com")
        assert [g.name for g in ana.groups.all()] == ["Sales"] and ana.kind == "internal"
        assert Ambassador.objects.get(email="carla@example.com").kind == "external"


@pytest.mark.django_db
def test_uploading_the_same_file_twice_invites_nobody_twice(login, org, admin_user, sales):
    client = login(admin_user)
    good = "email,name,kind,group\nana@example.com,Ana,internal,sales\nben@example.com,Ben,external,\n"
    assert upload(client, org, good).context["report"].invited == ["ana@example.com", "ben@example.com"]
    again = upload(client, org, good)
    assert again.status_code == 400
    assert again.context["report"].invited == []
    assert [e.line for e in again.context["report"].errors] == [2, 3]
    assert invited_emails(org) == ["ana@example.com", "ben@example.com"]


@pytest.mark.django_db
@pytest.mark.parametrize(("content", "message"), [
    ("name,kind\nAna,internal\n", "at least “email”"),
    ("email,phone\nana@example.com,123\n", "Unknown column(s): phone"),
    ("".encode("utf-16"), "not UTF-8"),
    ("", "The submitted file is empty"),
], ids=["no-email-column", "unknown-column", "utf16", "empty"])
def test_unreadable_files_are_refused_whole(login, org, admin_user, content, message):
    response = upload(login(admin_user), org, content if content else "")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert invited_emails(org) == []


@pytest.mark.django_db
def test_semicolon_csv_from_a_spreadsheet_with_bom_and_several_groups(login, org, admin_user, sales):
    GroupFactory(organization=org, name="Leadership")
    # Excel in many locales writes ';' between columns; groups are then separated by '|'.
    text = ("\ufeffEmail;Name;Kind;Group\r\nzoe@example.com;Zoé;employee;Sales| Leadership\r\n"
            "yan@example.com;Yan;partner;sales\r\n")
    client = login(admin_user)
    response = upload(client, org, text)
    assert response.context["report"].invited == ["zoe@example.com", "yan@example.com"]
    response = upload(client, org, "email,name,group\nxu@example.com,Xu,Sales;Leadership\n")
    assert response.context["report"].invited == ["xu@example.com"]
    with tenant_scope(org):
        zoe = Ambassador.objects.get(email="zoe@example.com")
        assert sorted(g.name for g in zoe.groups.all()) == ["Leadership", "Sales"]
        assert zoe.display_name == "Zoé" and zoe.kind == "internal"
        assert Ambassador.objects.get(email="yan@example.com").kind == "external"
        xu = Ambassador.objects.get(email="xu@example.com")
        assert sorted(g.name for g in xu.groups.all()) == ["Leadership", "Sales"]


@pytest.mark.django_db
def test_too_many_rows_are_refused(login, org, admin_user, settings):
    settings.CSV_INVITE_MAX_ROWS = 3
    text = "email\n" + "".join(f"p{i}@example.com\n" for i in range(5))
    response = upload(login(admin_user), org, text)
    assert response.status_code == 400 and "more than 3 rows" in response.content.decode()
    assert invited_emails(org) == []


@pytest.mark.django_db
def test_another_orgs_group_name_is_unknown_here(login, org, other_org, admin_user):
    GroupFactory(organization=other_org, name="Secret Group")
    response = upload(login(admin_user), org, "email,group\nx@example.com,Secret Group\n")
    assert response.status_code == 400
    assert "group “Secret Group” does not exist" in response.content.decode()
