"""What the API reads is checked against what its schema declares, from the outside (issue 18).

The operations come from the schema generated in-process, so a new list, filter or body field is
covered as soon as it is documented:

* every paginated list refuses a `limit` or `offset` that isn't a whole number within the bounds
  the schema states (2^63 was a PostgreSQL "bigint out of range", a 500);
* every query parameter with a type, format or enum refuses a value outside it, empty included
  (an unknown `kind` or a `start` that isn't a date was silently ignored);
* every JSON body field refuses a value of another JSON type than its schema's: a number for a
  string, "true" for a boolean, "5" for an integer, an object for an array (DRF coerced 12 to
  "12" and iterated an object's keys as ids); a body of another media type is a 415;
* a DELETE narrowed by a query parameter refuses an empty or unknown value (an empty `frequency`
  removed every digest subscription);
* whatever fails, an answer under /api/ is JSON: an unreadable multipart body (one log line, no
  traceback), an oversized form, a bad Host header, 405, 500.

Each refusal is a 400 (or the status named) with `application/json` and the parameter or field
named in the body."""

import logging
import uuid
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator

import config.urls
from ambassadors.models import Ambassador
from campaigns.services.links import link_for
from integrations.inbound.services import create_connection
from integrations.models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from integrations.services.fanout import new_msg_id
from integrations.signing import new_secret
from reports import digest
from reports.models import ReportSubscription
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key
from tests.factories import (
    CampaignFactory,
    CatalogueItemFactory,
    CostFactory,
    DomainFactory,
    FraudCaseFactory,
    GroupFactory,
    MessageFactory,
    PayoutRunFactory,
    RedemptionFactory,
    RewardRuleFactory,
    member,
)

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = {f"{method.upper()} {route}": operation for route, operations in SCHEMA["paths"].items()
              for method, operation in operations.items()}
PAGING = ("limit", "offset")


def query_parameters(operation) -> list[dict]:
    return [p for p in operation.get("parameters", []) if p["in"] == "query"]


LISTS = sorted(label for label, operation in OPERATIONS.items()
               if {"limit", "offset"} <= {p["name"] for p in query_parameters(operation)})
FILTERED = sorted(label for label, operation in OPERATIONS.items()
                  if any(p["name"] not in PAGING for p in query_parameters(operation)))
WITH_JSON_BODY = sorted(label for label, operation in OPERATIONS.items()
                        if "application/json" in operation.get("requestBody", {}).get("content", {}))

# The collection a {public_id} follows → the world's object.
PUBLIC_ID_OF = {"ambassadors": "ambassador", "campaigns": "campaign", "messages": "message", "costs": "cost",
                "domains": "domain", "roi": "campaign", "reward-rules": "reward_rule", "fraud-cases": "fraud_case",
                "payouts": "payout_run", "redemptions": "redemption"}


@pytest.fixture
def world(org, settings):
    """The organisation "acme" with one of everything the operations' paths name; its owner is also
    an active ambassador (for the my/ endpoints), subscribed to both digests."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    owner = member(org, Role.OWNER, ambassador=True, email="owner@acme.test")
    with tenant_scope(org):
        me = Ambassador.objects.get(user=owner)
        group = GroupFactory(organization=org, name="Inputs")
        campaign = CampaignFactory(organization=org, name="Input launch", slug="input-launch")
        item = CatalogueItemFactory(organization=org, points_cost=10)
        objects = {
            "ambassador": me, "campaign": campaign, "message": MessageFactory(campaign=campaign, organization=org),
            "cost": CostFactory(campaign=campaign, organization=org), "domain": DomainFactory(organization=org),
            "reward_rule": RewardRuleFactory(organization=org), "fraud_case": FraudCaseFactory(ambassador=me),
            "payout_run": PayoutRunFactory(organization=org, status="confirmed"),
            "redemption": RedemptionFactory(item=item, ambassador=me),
        }
        link = link_for(ambassador=me, campaign=campaign)
        endpoint = WebhookEndpoint.objects.create(organization=org, url="http://127.0.0.1:9/hook",
                                                  events=["sale.created"], secret=new_secret())
        message = WebhookMessage.objects.create(organization=org, msg_id=new_msg_id(), event_type="sale.created",
                                                cause="input-sale", payload={"type": "sale.created", "data": {}})
        WebhookDelivery.objects.create(organization=org, endpoint=endpoint, message=message, status="succeeded",
                                       next_attempt_at=None)
        for frequency in ("weekly", "monthly"):
            digest.subscribe(org, owner, frequency)
    create_connection(org, provider="stripe", signing_secret="whsec_input_stripe_endpoint_secret")
    _, secret = create_api_key(organization=org, name="Input key")
    session = Client()
    session.force_login(owner)
    return {"org": org, "owner": owner, "objects": objects, "session": session,
            "key": Client(HTTP_AUTHORIZATION=f"Bearer {secret}"),
            "path": {"org_slug": org.slug, "campaign_id": str(campaign.public_id), "code": link.code, "fmt": "svg",
                     "id": str(group.pk), "provider": "stripe", "endpoint_id": str(endpoint.public_id),
                     "msg_id": message.msg_id}}


def url_of(label: str, world) -> str:
    route = label.split(" ", 1)[1]
    values = dict(world["path"])
    parts = route.strip("/").split("/")
    if "{public_id}" in parts:
        values["public_id"] = str(world["objects"][PUBLIC_ID_OF[parts[parts.index("{public_id}") - 1]]].public_id)
    try:
        return route.format(**values)
    except KeyError as missing:  # a new kind of path id: give the world one
        pytest.fail(f"{label}: the world has no {missing} for the path")


def call(label: str, world, query=None, body=None, **extra):
    """The operation with the credentials its schema names (an API key or the owner's session)."""
    method = label.split(" ", 1)[0].lower()
    schemes = {name for requirement in OPERATIONS[label].get("security", []) for name in requirement}
    client = world["key"] if "ApiKeyAuth" in schemes else world["session"]
    url = url_of(label, world) + ("?" + urlencode(query, doseq=True) if query is not None else "")
    if body is not None:
        extra.setdefault("content_type", "application/json")
        return getattr(client, method)(url, body, **extra)
    return getattr(client, method)(url, **extra)


def frequencies(world) -> list[str]:
    with scopes_disabled():
        return sorted(ReportSubscription.objects.filter(user=world["owner"]).values_list("frequency", flat=True))


def assert_refused(response, name: str, what: str, status: int = 400):
    assert response.status_code == status, f"{what}: {response.status_code} {response.content[:300]!r}"
    assert response["Content-Type"] == "application/json", f"{what}: {response['Content-Type']}"
    body = response.json()
    assert body.get(name), f"{what}: {name!r} not named in {body}"


# --- paging ----------------------------------------------------------------------------------------------

BAD_WHOLE_NUMBERS = [str(2**63), str(2**63 + 1), "-1", "1.5", "abc", "", " 5", "1e3", "٣"]


def test_the_schema_states_the_paging_bounds():
    assert len(LISTS) >= 15, LISTS  # the lists are found (the schema names the parameters limit and offset)
    for label in LISTS:
        parameters = {p["name"]: p["schema"] for p in query_parameters(OPERATIONS[label])}
        assert parameters["limit"]["type"] == "integer" and parameters["limit"]["minimum"] == 1, label
        assert parameters["offset"]["type"] == "integer" and parameters["offset"]["minimum"] == 0, label
        assert parameters["limit"]["maximum"] <= 1000 and parameters["offset"]["maximum"] < 2**31, label


@pytest.mark.django_db
@pytest.mark.parametrize("label", LISTS)
def test_paging_parameters_out_of_their_bounds_are_a_400_on_every_list(label, world):
    parameters = {p["name"]: p["schema"] for p in query_parameters(OPERATIONS[label])}
    for name in PAGING:
        maximum = parameters[name]["maximum"]
        for value in [*BAD_WHOLE_NUMBERS, str(parameters[name]["minimum"] - 1), str(maximum + 1), ["1", "1"]]:
            assert_refused(call(label, world, {name: value}), name, f"{label} ?{name}={value!r}")
    response = call(label, world, {"limit": "1", "offset": "0"})
    assert response.status_code == 200, (label, response.content[:300])
    response = call(label, world, {"limit": str(parameters["limit"]["maximum"]),
                                   "offset": str(parameters["offset"]["maximum"])})
    assert response.status_code == 200, (label, response.content[:300])


@pytest.mark.django_db
def test_a_page_beyond_bigint_was_a_500_on_postgresql(world):
    """The issue's request: ?limit=2^63 on the ambassadors list."""
    response = world["session"].get(f"/api/v1/o/acme/ambassadors/?limit={2**63}")
    assert response.status_code == 400 and response.json() == {"limit": ["Must be a whole number from 1 to 1000."]}
    response = world["session"].get(f"/api/v1/o/acme/groups/?offset={2**63}")
    assert response.status_code == 400 and "offset" in response.json()
    for method in ("get", "patch", "delete"):  # an id beyond bigint in the path: no such group
        response = getattr(world["session"], method)(f"/api/v1/o/acme/groups/{2**64}/", content_type="application/json")
        assert response.status_code == 404 and list(response.json()) == ["detail"], method
    response = world["session"].get(f"/api/v1/o/acme/reports/roi/?group={2**63}")
    assert response.status_code == 400 and "group" in response.json()


# --- query parameters -------------------------------------------------------------------------------------

def bad_values(schema: dict) -> list[str]:
    """Values the parameter's schema does not allow (empty always among them), or [] for free text."""
    item = schema.get("items", schema)
    if "enum" in item:
        return ["no-such-value", ""]
    if item.get("format") in ("date", "date-time"):
        return ["not-a-date", "2026-13-45", ""]
    if item.get("format") == "uuid":
        return ["not-a-uuid", ""]
    if item.get("type") == "integer":
        return ["1.5", "abc", ""]
    if item.get("type") == "boolean":
        return ["maybe", ""]
    return []


@pytest.mark.django_db
@pytest.mark.parametrize("label", FILTERED)
def test_query_parameters_outside_their_schema_are_a_400(label, world):
    checked = 0
    for parameter in query_parameters(OPERATIONS[label]):
        name = parameter["name"]
        if name in PAGING:
            continue
        for value in bad_values(parameter["schema"]):
            assert_refused(call(label, world, {name: value}), name, f"{label} ?{name}={value!r}")
            checked += 1
        if "enum" in parameter["schema"]:  # one value, given twice: not "the last one wins"
            twice = [parameter["schema"]["enum"][0]] * 2
            assert_refused(call(label, world, {name: twice}), name, f"{label} ?{name} twice")
            checked += 1
    if label.startswith("DELETE"):
        assert frequencies(world) == ["monthly", "weekly"], "a refused DELETE removed subscriptions"
    print(f"QUERY {label}: refused={checked}")


@pytest.mark.django_db
def test_an_unknown_kind_or_status_and_a_bad_date_name_the_parameter(world):
    client = world["session"]
    assert client.get("/api/v1/o/acme/ambassadors/?kind=robot").json() == {
        "kind": ["Select a valid choice. robot is not one of the available choices."]}
    assert "status" in client.get("/api/v1/o/acme/campaigns/?status=").json()
    body = client.get("/api/v1/o/acme/reports/roi/?start=yesterday").json()
    assert list(body) == ["start"] and "yesterday" in body["start"][0]  # not under "period"
    body = client.get("/api/v1/o/acme/reports/roi/?period=custom&start=2026-03-01&end=2026-02-30").json()
    assert list(body) == ["end"]
    assert client.get("/api/v1/o/acme/reports/roi/?period=custom&start=2026-03-01&end=2026-03-31").status_code == 200


@pytest.mark.django_db
def test_times_with_any_offset_are_compared_in_utc(world):
    """An ISO 8601 offset beyond ±15:59 reached PostgreSQL ("time zone displacement out of range", a 500)."""
    client = world["session"]
    for url in ("/api/v1/o/acme/audit-log/?since=1739-04-17T01:31:28%2B23:12",
                "/api/v1/o/acme/audit-log/?until=9999-12-31T23:00-05:00",
                "/api/v1/o/acme/earnings/?earned_at_after=0001-01-01T00:00%2B18:00&earned_at_before=2026-01-01T00:00-23:59",
                "/api/v1/me/earnings/?earned_at_before=9999-12-31T23:59:59-18:16"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])


@pytest.mark.django_db
def test_an_empty_or_unknown_digest_frequency_deletes_nothing(world):
    """DELETE reports/digest/?frequency= answered 204 and removed every subscription of the user."""
    client = world["session"]
    for query in ("frequency=", "frequency=daily", "frequency=weekly&frequency=", "frequency=%20",
                  "frequency=weekly&frequency=monthly"):
        response = client.delete(f"/api/v1/o/acme/reports/digest/?{query}")
        assert_refused(response, "frequency", query)
        assert frequencies(world) == ["monthly", "weekly"], query
    assert client.delete("/api/v1/o/acme/reports/digest/?frequency=weekly").status_code == 204
    assert frequencies(world) == ["monthly"]
    assert client.delete("/api/v1/o/acme/reports/digest/").status_code == 204  # left out: all, as documented
    assert frequencies(world) == []


# --- body fields ------------------------------------------------------------------------------------------

def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return resolve(schema["allOf"][0])
    return schema


def body_properties(label: str) -> dict[str, dict]:
    schema = resolve(OPERATIONS[label]["requestBody"]["content"]["application/json"]["schema"])
    return {name: resolve(prop) | {"readOnly": prop.get("readOnly", False)}
            for name, prop in schema.get("properties", {}).items()}


@pytest.mark.django_db
@pytest.mark.parametrize("label", WITH_JSON_BODY)
def test_a_value_of_another_json_type_is_a_400(label, world):
    """A number for a string (or a decimal string), text for a boolean or an integer, an object for a list."""
    checked = 0
    for name, prop in body_properties(label).items():
        if prop["readOnly"]:
            continue
        if prop.get("type") == "string" and prop.get("format") != "binary":
            for value in (12345, 12.5, True):
                assert_refused(call(label, world, body={name: value}), name, f"{label} {name}={value!r}")
                checked += 1
        elif prop.get("type") in ("boolean", "integer"):
            for value in (("true", 1, "yes") if prop["type"] == "boolean" else ("5", 5.5, True)):
                assert_refused(call(label, world, body={name: value}), name, f"{label} {name}={value!r}")
                checked += 1
        elif prop.get("type") == "array":
            assert_refused(call(label, world, body={name: {"Inputs": 1}}), name, f"{label} {name}=object")
            checked += 1
    print(f"BODY {label}: refused={checked}")


@pytest.mark.django_db
def test_a_number_is_not_stored_as_a_name(world):
    client = world["session"]
    response = client.post("/api/v1/o/acme/groups/", {"name": 12, "description": 3.5}, content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"name", "description"}
    response = client.patch(f"/api/v1/o/acme/campaigns/{world['objects']['campaign'].public_id}/",
                            {"target_groups": {"Inputs": 1}}, content_type="application/json")
    assert response.status_code == 400 and "target_groups" in response.json()
    response = world["key"].post("/api/v1/track/lead", {"email": "a@example.com", "name": 7},
                                 content_type="application/json")
    assert response.status_code == 400 and response.json() == {"name": ["Not a valid string."]}


# --- JSON whatever failed ---------------------------------------------------------------------------------

def warnings_of(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=",
                                          "multipart/form-data; boundary=\"a b\x01\""])
def test_an_unreadable_multipart_body_is_a_json_400_and_one_log_line(content_type, world, caplog):
    """It was Django's HTML 400 page and a 20-line traceback, signed in or not, on any path."""
    anonymous = Client()
    calls = [(anonymous, "post", "/api/v1/track/lead"), (world["key"], "post", "/api/v1/track/lead"),
             (world["key"], "post", "/api/v1/imports/"), (world["session"], "post", "/api/v1/o/acme/imports/"),
             (world["session"], "post", "/api/v1/o/acme/campaigns/"), (anonymous, "post", "/api/v1/me/"),
             (anonymous, "get", "/api/v1/o/acme/ambassadors/"),
             (world["session"], "patch", f"/api/v1/o/acme/groups/{world['path']['id']}/"),
             (world["session"], "put", f"/api/v1/o/acme/domains/{world['objects']['domain'].public_id}/")]
    for client, method, url in calls:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = client.generic(method.upper(), url, b"--x\r\nContent-Disposition: form-data; name=\"a\""
                                      b"\r\n\r\nb\r\n--x--\r\n", content_type=content_type)
        assert_refused(response, "detail", f"{method} {url}")
        assert "Multipart form parse error" in response.json()["detail"], url
        assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records), url
        assert len(warnings_of(caplog)) == 1, (url, [r.getMessage() for r in warnings_of(caplog)])


@pytest.mark.django_db
def test_an_unreadable_multipart_body_on_a_page_is_the_site_s_400_and_one_log_line(world, caplog):
    with caplog.at_level(logging.INFO):
        response = world["session"].post("/o/acme/manage/campaigns/new/", b"x", content_type="multipart/form-data")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert "Traceback" not in caplog.text and len(warnings_of(caplog)) == 1


@pytest.mark.django_db
def test_a_body_of_a_type_an_operation_does_not_take_is_a_json_415(world, caplog):
    """Bodies are JSON (the CSV import: multipart). A form body used to be read as "no fields" by
    a JSON operation once the middleware had parsed it (a misleading "field required")."""
    group = f"/api/v1/o/acme/groups/{world['path']['id']}/"
    for client, method, url, content_type in [
            (world["session"], "post", "/api/v1/o/acme/groups/", "multipart/form-data; boundary=x"),
            (world["session"], "patch", group, "application/x-www-form-urlencoded"),
            (world["key"], "post", "/api/v1/track/lead", "multipart/form-data; boundary=x"),
            (world["key"], "post", "/api/v1/imports/", "application/x-www-form-urlencoded")]:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = client.generic(method.upper(), url, b"name=x", content_type=content_type)
        assert_refused(response, "detail", f"{method} {url} {content_type}", status=415)
        assert len(warnings_of(caplog)) == 1 and "Traceback" not in caplog.text, url


@pytest.mark.django_db
def test_oversized_and_overfull_multipart_bodies_under_api_are_json(world, settings, caplog):
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024)
    with caplog.at_level(logging.INFO):
        response = world["session"].post("/api/v1/o/acme/imports/", {"kind": "leads", "mapping": big})
    assert_refused(response, "detail", "too large", status=413)
    many = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 10)}
    with caplog.at_level(logging.INFO):
        response = world["key"].post("/api/v1/imports/", many)
    assert_refused(response, "detail", "too many fields")
    assert "Traceback" not in caplog.text


@pytest.mark.django_db
def test_a_404_says_not_found_without_naming_a_model(world, other_org):
    """get_object_or_404's text named our models ("No AmbassadorGroup matches the given query.");
    a missing object, or another organisation's, is "Not found." like any other 404."""
    with tenant_scope(other_org):
        theirs = GroupFactory(organization=other_org, name="Theirs")
    for url in ("/api/v1/o/acme/groups/999999999/", f"/api/v1/o/acme/groups/{theirs.pk}/",
                f"/api/v1/o/acme/domains/{uuid.uuid4()}/", f"/api/v1/o/acme/campaigns/{uuid.uuid4()}/"):
        response = world["session"].get(url)
        assert response.status_code == 404 and response.json() == {"detail": "Not found."}, (url, response.content)


def test_django_s_own_errors_under_api_are_json(world):
    response = Client().get("/api/v1/me/", HTTP_HOST="bad host!")  # DisallowedHost, before any view
    assert_refused(response, "detail", "bad Host")
    assert "Host header" in response.json()["detail"]
    assert Client().get("/o/acme/", HTTP_HOST="bad host!")["Content-Type"].startswith("text/html")
    for method, url in [("delete", "/api/v1/me/"), ("put", "/api/v1/o/acme/reports/digest/"),
                        ("post", "/api/v1/o/acme/ambassadors/")]:
        assert_refused(getattr(world["session"], method)(url), "detail", f"{method} {url}", status=405)
    response = world["session"].get("/api/v1/o/acme/groups/?name=%00")
    assert_refused(response, "detail", "NUL in the query")


def boom(request):
    raise RuntimeError("an unexpected failure deep in a view")


def page_boom(request):
    raise RuntimeError("an unexpected failure deep in a page")


def read_form(request):
    return HttpResponse(str(len(request.POST)))  # a plain Django view reading a form body itself


# This module is also a URLconf (test_an_api_500_is_json): the site's routes and error handlers, plus two
# views that fail.
urlpatterns = [path("api/v1/test-boom/", boom), path("test-boom/", page_boom), path("api/v1/test-form/", read_form),
               *config.urls.urlpatterns]
handler400, handler403, handler404, handler500 = (config.urls.handler400, config.urls.handler403,
                                                  config.urls.handler404, config.urls.handler500)


@pytest.mark.django_db
def test_an_api_500_is_json_without_the_traceback(settings, caplog):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.INFO):
        response = client.get("/api/v1/test-boom/")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Server error."}
    assert "Traceback" in caplog.text  # in the log, for us; not in the answer
    response = client.get("/test-boom/")
    assert response.status_code == 500 and response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_django_s_400s_outside_the_api_s_parsers_are_json(settings):
    """A body Django itself refuses (read by a view that isn't REST framework's) under /api/."""
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    big = urlencode({"a": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    response = client.post("/api/v1/test-form/", big, content_type="application/x-www-form-urlencoded")
    assert_refused(response, "detail", "too large", status=413)
    many = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 10))
    response = client.post("/api/v1/test-form/", many, content_type="application/x-www-form-urlencoded")
    assert_refused(response, "detail", "too many fields")
    assert "fields" in response.json()["detail"]


def test_the_site_wires_the_json_handlers():
    for code in (400, 403, 404, 500):
        assert getattr(config.urls, f"handler{code}").__module__ == "config.urls", code
    assert django_settings.REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"] == "common.pagination.Pagination"


@pytest.mark.django_db
def test_another_organisation_still_gets_a_404_before_any_check(world, other_org):
    """A bad parameter on another organisation's list is its 404, not a 400 revealing the route."""
    with scopes_disabled():
        response = world["session"].get(f"/api/v1/o/{other_org.slug}/ambassadors/?limit=abc")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
