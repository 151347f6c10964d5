"""API fuzzing with schemathesis against the OpenAPI schema the app serves at /api/schema/,
in-process through the WSGI application, with real credentials: an organisation owner's
session (plus the CSRF token) on the session endpoints, the organisation's API key on the
machine endpoints, as the schema's security says (a case that drops or breaks them on purpose is
sent without them).

Every schemathesis check runs on every answer (CHECKS; the DRILL line counts runs/failures per
check). For every operation: one hand-written valid request (a baseline) must succeed (2xx), then
a varied sample of schemathesis' coverage phase (boundaries, one constraint broken at a time,
methods the path doesn't document: a 405 with Allow), then EXAMPLES generated requests, positive
and negative, the path's ids the organisation's real objects or generated ones, with a fixed seed.
Then the stateful phase: per family of operations, schemathesis' state machine follows the
schema's OpenAPI links (create → read → update → delete). EXCLUDED lists the few operation+check
pairs left out, each with its reason. What the fuzzing found, now fixed, has a regression test each
at the end of this file. Bounded: about 2½ minutes on PostgreSQL on 2 CPUs."""

import collections
import re
import uuid
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import Client
from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import CHECKS as CHECK_REGISTRY
from schemathesis.checks import load_all_checks
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import NO_FEEDBACK
from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario
from schemathesis.generation.overrides import Override
from schemathesis.generation.stateful.state_machine import normalize_name

from accounts.models import User
from ambassadors.models import Ambassador
from campaigns.linkcache import link_cache
from campaigns.models import CampaignStatus
from campaigns.services.links import link_for
from integrations.inbound.services import create_connection
from integrations.models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from integrations.services.fanout import new_msg_id
from integrations.signing import new_secret
from reports import digest
from reports.models import ProgrammeReport
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key
from tests.factories import (
    AmbassadorFactory,
    AuditEntryFactory,
    CampaignFactory,
    CatalogueItemFactory,
    CostFactory,
    DomainFactory,
    EarningEntryFactory,
    FraudCaseFactory,
    GroupFactory,
    MessageFactory,
    OrganizationFactory,
    PayoutRunFactory,
    RedemptionFactory,
    RewardRuleFactory,
    member,
)
from tracking.salts import forget_cached_salt
from tracking.services.attribution import attribute_pending
from tracking.services.click_processing import process_pending
from tracking.services.conversions import record_lead, record_sale
from tracking.services.imports import create_import

EXAMPLES = 12  # generated requests per operation (fuzzing phase, positive and negative)
COVERAGE = 10  # requests per operation from schemathesis' coverage phase (plus its undocumented methods)
load_all_checks()
# Every check schemathesis has (the class-based ones are none today). The stateful ones (use_after_free,
# ensure_resource_availability) only act in the stateful phase, where a recorder knows what came before;
# object_level_authorization only with several identities configured, which we don't (one per org).
CHECKS = [check for check in CHECK_REGISTRY.get_all() if not isinstance(check, type)]
CHECK_RUNS, CHECK_FAILURES = collections.Counter(), collections.Counter()
CSRF = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"  # a CSRF secret (32 characters), sent as cookie and header
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")

# The operations, from the schema generated in-process (the test itself loads the one served).
OPERATIONS = [f"{method.upper()} {path}" for path, ops in
              SchemaGenerator().get_schema(request=None, public=True)["paths"].items() for method in ops]

CSV = b"email,name\nbaseline@example.com,Baseline Lead\n"
# A valid request per operation that sends anything; the others are GETs and bodiless calls.
BASELINE = {
    "POST /api/v1/imports/": {"body": {"kind": "leads", "file": CSV}},
    "POST /api/v1/o/{org_slug}/imports/": {"body": {"kind": "leads", "file": CSV}},
    "POST /api/v1/track/lead": {"body": {"email": "baseline@example.com", "name": "Baseline"}},
    "POST /api/v1/track/sale": {"body": {"customer_external_id": "baseline-1", "amount": "10.00",
                                         "currency": "EUR", "invoice_id": "baseline-invoice-1"}},
    "POST /api/v1/o/{org_slug}/ambassadors/{public_id}/status/": {"body": {"status": "paused"}},
    "PATCH /api/v1/o/{org_slug}/attribution-settings/": {"body": {"reporting_model": "first_touch"}},
    "POST /api/v1/o/{org_slug}/campaigns/": {"body": {"name": "Baseline", "destination_url": "https://example.com/"}},
    "PUT /api/v1/o/{org_slug}/campaigns/{public_id}/": {"body": {"name": "Baseline",
                                                                 "destination_url": "https://example.com/b"}},
    "PATCH /api/v1/o/{org_slug}/campaigns/{public_id}/": {"body": {"name": "Renamed"}},
    "POST /api/v1/o/{org_slug}/campaigns/{campaign_id}/costs/": {"body": {"date": "2026-03-01", "amount": "12.50"}},
    "PUT /api/v1/o/{org_slug}/campaigns/{campaign_id}/costs/{public_id}/": {"body": {"date": "2026-03-02",
                                                                                     "amount": "13.00"}},
    "PATCH /api/v1/o/{org_slug}/campaigns/{campaign_id}/costs/{public_id}/": {"body": {"note": "Printing"}},
    "POST /api/v1/o/{org_slug}/campaigns/{campaign_id}/messages/": {"body": {"channel": "linkedin",
                                                                             "text": "Hello {link}"}},
    "PUT /api/v1/o/{org_slug}/campaigns/{campaign_id}/messages/{public_id}/": {"body": {"channel": "x",
                                                                                        "text": "Hi {link}"}},
    "PATCH /api/v1/o/{org_slug}/campaigns/{campaign_id}/messages/{public_id}/": {"body": {"text": "Hey {link}"}},
    "POST /api/v1/o/{org_slug}/domains/": {"body": {"host": "links.baseline.example"}},
    "PUT /api/v1/o/{org_slug}/domains/{public_id}/": {"body": {"host": "go.baseline.example"}},
    "PATCH /api/v1/o/{org_slug}/domains/{public_id}/": {"body": {"host": "go2.baseline.example"}},
    "POST /api/v1/o/{org_slug}/groups/": {"body": {"name": "Baseline group"}},
    "PUT /api/v1/o/{org_slug}/groups/{id}/": {"body": {"name": "Renamed group"}},
    "PATCH /api/v1/o/{org_slug}/groups/{id}/": {"body": {"description": "Baseline"}},
    "POST /api/v1/o/{org_slug}/my/links/{code}/shares/": {"body": {"channel": "linkedin"}},
    "POST /api/v1/o/{org_slug}/reward-rules/": {"body": {"name": "Baseline rule", "event": "lead", "unit": "points",
                                                         "amount_kind": "flat", "amount": "10"}},
    "PUT /api/v1/o/{org_slug}/reward-rules/{public_id}/": {"body": {"name": "Baseline rule", "event": "sale",
                                                                    "unit": "money", "amount_kind": "percent",
                                                                    "percent": "5.00"}},
    "POST /api/v1/o/{org_slug}/fraud-cases/{public_id}/confirm/": {"body": {"note": "Confirmed by the baseline."}},
    "POST /api/v1/o/{org_slug}/redemptions/": {"body": lambda world: {"item": str(world["objects"]["item"].public_id)}},
    "POST /api/v1/o/{org_slug}/redemptions/{public_id}/fulfil/": {"path": {"public_id": "approved_redemption"}},
    "GET /api/v1/o/{org_slug}/payouts/{public_id}/export/": {"path": {"public_id": "confirmed_run"},
                                                             "query": {"file": "generic"}},
    "POST /api/v1/o/{org_slug}/payouts/{public_id}/mark-paid/": {"path": {"public_id": "confirmed_run"}},
    # One open run at a time: the world's runs are open, so a new one is refused (a documented 409).
    "POST /api/v1/o/{org_slug}/payouts/": {"status": 409},
    "PATCH /api/v1/o/{org_slug}/points-rules/": {"body": {"per_share": "2.00"}},
    "POST /api/v1/o/{org_slug}/reports/digest/": {"body": {"frequency": "monthly"}},
    "POST /api/v1/o/{org_slug}/reports/pdf/": {"body": {"period": "custom", "start": "2026-03-02",
                                                        "end": "2026-03-08"}},
    "DELETE /api/v1/o/{org_slug}/reports/digest/": {"query": {"frequency": "weekly"}},
    "GET /api/v1/o/{org_slug}/links/{code}/qr.{fmt}": {"path": {"fmt": "png"}},
    "DELETE /api/v1/o/{org_slug}/campaigns/{public_id}/": {"path": {"public_id": "draft"}},  # one without links
    # Webhooks: the world's endpoint is on 127.0.0.1 (allowed for tests), where nothing listens: a test
    # event is refused at once and answered 200 with the failed attempt.
    "POST /api/v1/o/{org_slug}/webhooks/": {"body": {"url": "http://127.0.0.1:9/hook", "events": ["sale.created"]}},
    "PATCH /api/v1/o/{org_slug}/webhooks/{endpoint_id}/": {"body": {"description": "Fuzzed", "enabled": True}},
    "POST /api/v1/o/{org_slug}/webhooks/{endpoint_id}/replay/": {"body": {"since": "2026-03-01T00:00:00Z",
                                                                          "until": "2026-03-02T00:00:00Z"}},
    # The world has a Stripe connection ({provider} is stripe) and no HubSpot one, which the baseline makes.
    "POST /api/v1/o/{org_slug}/integrations/connections/": {"body": {
        "provider": "hubspot", "signing_secret": "fuzz-hubspot-client-secret", "settings": {"deal_stage": "won"}}},
    "PATCH /api/v1/o/{org_slug}/integrations/connections/{provider}/": {"body": {"enabled": False}},
}
# In the paths: the collection a {public_id} follows → the object it is.
PUBLIC_ID_OF = {"ambassadors": "ambassador", "campaigns": "campaign", "messages": "message", "costs": "cost",
                "domains": "domain", "imports": "conversion_import", "roi": "campaign", "reward-rules": "reward_rule",
                "audit-log": "audit_entry", "fraud-cases": "fraud_case", "payouts": "payout_run",
                "redemptions": "redemption", "pdf": "programme_report"}

TOTALS = collections.Counter()
STATUSES = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _figures():
    yield
    # pytest-django runs the tests without a database first, so this module can be set up twice.
    if TOTALS["operations"] and TOTALS["requests"] != TOTALS["printed"]:
        TOTALS["printed"] = TOTALS["requests"]
        server_errors = sum(count for status, count in STATUSES.items() if status >= 500)
        checks = " ".join(f"{name}={CHECK_RUNS[name]}/{CHECK_FAILURES[name]}" for name in COUNTED)
        print(f"\nDRILL api-fuzz: operations={TOTALS['operations']} baselines={TOTALS['baselines']} "
              f"coverage={TOTALS['coverage']} examples={TOTALS['examples']} stateful={TOTALS['stateful']} "
              f"requests={TOTALS['requests']} checks(run/failed): {checks} "
              f"statuses={dict(sorted(STATUSES.items()))} server_errors={server_errors} "
              f"failures={TOTALS['failures']}")


@contextmanager
def one_connection():
    """The WSGI handler closes the database connection around each request (Django's test
    client turns that off the same way, per request), which would end the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _process_caches():
    link_cache.clear()
    forget_cached_salt()
    yield
    link_cache.clear()
    forget_cached_salt()


_APP = {}


def served_schema():
    """The schema /api/schema/ serves, loaded through the WSGI application (once)."""
    if "schema" not in _APP:
        _APP["app"] = get_wsgi_application()
        with one_connection():
            _APP["schema"] = schemathesis.openapi.from_wsgi("/api/schema/?format=json", _APP["app"])
        # No NUL in generated text: the API refuses one anywhere in a JSON body (its parser: PostgreSQL can't
        # store it), which the schema says for each field and for the fields it ignores (AnyJson,
        # config/openapi.py); but schemathesis cuts that recursive schema off a few levels down and
        # generates anything below. The NUL refusals have their own tests (here and tests/reliability).
        _APP["schema"].config.generation.update(allow_x00=False)
    return _APP["schema"]


@pytest.fixture
def world(db, settings):
    """One organisation with one of everything the API addresses; its owner is also an active
    ambassador (for the my/ endpoints)."""
    settings.CLICK_CAPTURE = "db"
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    org = OrganizationFactory(name="Fuzz Corp", slug="fuzz")
    owner = member(org, Role.OWNER, ambassador=True, email="owner@fuzz.test")
    with tenant_scope(org):
        me = Ambassador.objects.get(user=owner)
        group = GroupFactory(organization=org, name="Fuzzers")
        other = AmbassadorFactory(organization=org, user=None, email="other@fuzz.test")
        other.groups.add(group)
        campaign = CampaignFactory(organization=org, name="Fuzz launch", slug="fuzz-launch")
        draft = CampaignFactory(organization=org, name="Fuzz draft", slug="fuzz-draft", status=CampaignStatus.DRAFT)
        message = MessageFactory(campaign=campaign, organization=org)
        cost = CostFactory(campaign=campaign, organization=org)
        link = link_for(ambassador=me, campaign=campaign)
        other_link = link_for(ambassador=other, campaign=campaign)
        domain = DomainFactory(organization=org)
        digest.subscribe(org, owner, "weekly")
        programme_report = ProgrammeReport.objects.create(organization=org, period_start=date(2026, 3, 1),
                                                          period_end=date(2026, 3, 31), requested_by=owner)
        reward_rule = RewardRuleFactory(organization=org)
        audit_entry = AuditEntryFactory(organization=org)
        fraud_case = FraudCaseFactory(ambassador=other)
        payout_run = PayoutRunFactory(organization=org)
        confirmed_run = PayoutRunFactory(organization=org, status="confirmed")
        item = CatalogueItemFactory(organization=org, points_cost=10)
        redemption = RedemptionFactory(item=item, ambassador=me)
        approved_redemption = RedemptionFactory(item=item, ambassador=me, status="approved")
        EarningEntryFactory(rule=RewardRuleFactory(organization=org, event="lead", unit="points", amount_kind="flat",
                                                   percent=None, amount=Decimal("1000")),
                            ambassador=me, unit="points", currency="", amount=Decimal("1000"), status="approved")
    _, secret = create_api_key(organization=org, name="Fuzz key")
    location = Client().get(f"/l/{other_link.code}", HTTP_USER_AGENT=CHROME)["Location"]
    with scopes_disabled():
        while process_pending(org.pk).more:
            pass
    record_lead(org, click_id=parse_qs(urlsplit(location).query)["amb_cid"][0], customer_external_id="fuzz-1")
    record_sale(org, customer_external_id="fuzz-1", amount=Decimal("25.00"), currency="EUR", invoice_id="fuzz-inv")
    attribute_pending(org.pk)
    conversion_import = create_import(org, owner, "leads", "fuzz.csv", CSV)
    create_connection(org, provider="stripe", signing_secret="whsec_fuzz_stripe_endpoint_secret")
    with tenant_scope(org):  # a webhook endpoint and a delivery in its log
        endpoint = WebhookEndpoint.objects.create(organization=org, url="http://127.0.0.1:9/hook",
                                                  events=["sale.created"], secret=new_secret())
        webhook_message = WebhookMessage.objects.create(organization=org, msg_id=new_msg_id(),
                                                        event_type="sale.created", cause="fuzz-sale",
                                                        payload={"type": "sale.created", "data": {}})
        WebhookDelivery.objects.create(organization=org, endpoint=endpoint, message=webhook_message,
                                       status="succeeded", next_attempt_at=None)

    session = Client()
    session.force_login(owner)
    return {
        "objects": {"ambassador": other, "campaign": campaign, "draft": draft, "message": message, "cost": cost,
                    "domain": domain, "conversion_import": conversion_import, "reward_rule": reward_rule,
                    "audit_entry": audit_entry, "fraud_case": fraud_case, "payout_run": payout_run,
                    "redemption": redemption, "confirmed_run": confirmed_run, "item": item,
                    "approved_redemption": approved_redemption, "programme_report": programme_report},
        "path": {"org_slug": org.slug, "campaign_id": str(campaign.public_id), "code": link.code, "provider": "stripe",
                 "id": str(group.pk), "fmt": "svg", "endpoint_id": str(endpoint.public_id),
                 "msg_id": webhook_message.msg_id},
        "session": {"headers": {"X-CSRFToken": CSRF},
                    "cookies": {django_settings.SESSION_COOKIE_NAME:
                                session.cookies[django_settings.SESSION_COOKIE_NAME].value,
                                django_settings.CSRF_COOKIE_NAME: CSRF}},
        "key": {"headers": {"Authorization": f"Bearer {secret}"}, "cookies": {}},
    }


def real_path(operation, world, overrides=None) -> dict:
    """The operation's path parameters filled with the organisation's real objects."""
    values = dict(world["path"])
    parts = operation.path.strip("/").split("/")
    if "{public_id}" in parts:
        owner = PUBLIC_ID_OF[parts[parts.index("{public_id}") - 1]]
        values["public_id"] = str(world["objects"][owner].public_id)
    for name, value in (overrides or {}).items():
        values[name] = str(world["objects"][value].public_id) if value in world["objects"] else value
    return {p.name: values[p.name] for p in operation.path_parameters}


def credentials(operation, world) -> dict:
    schemes = {name for requirement in operation.definition.raw.get("security", []) for name in requirement}
    return world["key"] if "ApiKeyAuth" in schemes else world["session"]


def call(case, auth):
    """Sent with the credentials, unless the case is one that leaves out or breaks the session
    cookie or the API key on purpose (negative data): then as generated, to be refused."""
    if case.operation.schema.is_security_param_negated(case):
        auth = {"headers": {}, "cookies": {}}
    with one_connection():
        response = case.call(app=_APP["app"], headers=auth["headers"], cookies=auth["cookies"])
    TOTALS["requests"] += 1
    STATUSES[response.status_code] += 1
    return response


def counted(check):
    """The check, counting its runs and failures per name for the DRILL line."""
    def run(ctx, response, case):
        try:
            skipped = check(ctx, response, case)
        except BaseException:
            CHECK_FAILURES[check.__name__] += 1
            raise
        CHECK_RUNS[check.__name__] += not skipped
        return skipped
    run.__name__ = check.__name__
    return run


COUNTED = {check.__name__: counted(check) for check in CHECKS}

# positive_data_acceptance (a request valid by the schema must not be a 400) is left out where the
# API's refusal depends on what the schema can't say (or doesn't say yet): the 400 is documented, its
# reason in the message. Refusals because of the state of things (a run open, a name taken) are 409s
# (common.service_errors), which the check accepts; these are what remains.
REFERENCE = "a value must name an existing object of the organisation (campaign, group, item, ambassador, " \
            "message) or a file's contents must be a CSV with rows: generated values name none (campaigns: " \
            "target_groups; also UTM templates' placeholders and Django's URL validator)"
NOT_POSITIVE = {
    **dict.fromkeys([
        "POST /api/v1/o/{org_slug}/payouts/", "POST /api/v1/o/{org_slug}/redemptions/",
        "POST /api/v1/o/{org_slug}/campaigns/", "PUT /api/v1/o/{org_slug}/campaigns/{public_id}/",
        "PATCH /api/v1/o/{org_slug}/campaigns/{public_id}/",
        "POST /api/v1/o/{org_slug}/reward-rules/",
        "PUT /api/v1/o/{org_slug}/reward-rules/{public_id}/", "PATCH /api/v1/o/{org_slug}/reward-rules/{public_id}/",
        "POST /api/v1/o/{org_slug}/my/links/{code}/shares/", "POST /api/v1/imports/",
        "POST /api/v1/o/{org_slug}/imports/", "GET /api/v1/o/{org_slug}/ambassadors/{public_id}/performance/",
        *(f"GET /api/v1/o/{{org_slug}}/reports/{name}/" for name in
          ("channels", "funnel", "leaderboard", "leaderboard/fair", "models", "overview", "roi", "roi/{public_id}"))],
        REFERENCE),
    **dict.fromkeys(["PUT /api/v1/o/{org_slug}/campaigns/{campaign_id}/messages/{public_id}/",
                     "PATCH /api/v1/o/{org_slug}/campaigns/{campaign_id}/messages/{public_id}/"],
                    "only e-mail messages have a subject, and an update keeps the message's network: whether a "
                    "subject is allowed depends on the stored message (POST's schema says it: anyOf)"),
    **dict.fromkeys(["POST /api/v1/o/{org_slug}/integrations/connections/",
                     "PATCH /api/v1/o/{org_slug}/integrations/connections/{provider}/"],
                    "the signing secret's format depends on the provider (Stripe's starts with whsec_), 16 to 200 "
                    "printable characters in Python's sense, which no portable pattern states"),
    **dict.fromkeys(["POST /api/v1/o/{org_slug}/webhooks/", "PATCH /api/v1/o/{org_slug}/webhooks/{endpoint_id}/"],
                    "the URL must pass Django's URL validator and reach a public address (the SSRF guard "
                    "resolves the host): not a property of the text"),
    "POST /api/v1/o/{org_slug}/webhooks/{endpoint_id}/replay/": "until after since, at most 30 days: an order "
                                                                 "between two fields (the description says it)",
    "POST /api/v1/o/{org_slug}/reports/pdf/": "a custom period's end not before its start, at most 1,098 days (the "
                                              "description says it)",
    "POST /api/v1/track/sale": "currency: any ISO 4217 code in any case (a case-insensitive list of ~300), and "
                               "occurred_at not in the future (a bound that moves with the clock)",
    "POST /api/v1/track/lead": "occurred_at may not be in the future: a bound that moves with the clock, which "
                               "JSON Schema can't state (the description says it)",
}
EXCLUDED = {(label, "positive_data_acceptance"): reason for label, reason in NOT_POSITIVE.items()}
AUTH_PROBED = set()  # operations whose authentication ignored_auth has probed (once each, like schemathesis' runner)


def validate(case, response, auth, recorder=None):
    """Every check on the answer; the credentials are explicit, so ignored_auth probes the operation
    without them and with invalid ones (it expects 401/403), once per operation."""
    label = f"{case.operation.method.upper()} {case.operation.path}"
    checks = [check for name, check in COUNTED.items() if (label, name) not in EXCLUDED
              and (name != "ignored_auth" or case.operation.label not in AUTH_PROBED)]
    object.__setattr__(case, "_has_explicit_auth", True)
    with one_connection():
        case.validate_response(response, checks=checks, headers=dict(auth["headers"]), recorder=recorder,
                               transport_kwargs={"headers": dict(auth["headers"]), "cookies": dict(auth["cookies"])})
    if 200 <= response.status_code < 300:
        AUTH_PROBED.add(case.operation.label)


def failures_of(case, response, group, mode="") -> str:
    sent = response.request.headers.get("Content-Type", "no body")
    errors = "; ".join(f"{failure.title}: {failure.message[:300]}" for failure in group.exceptions)
    return (f"[{mode}] {case.method} {case.formatted_path} {dict(case.query or {})} ({sent}) "
            f"{str(case.body)[:200] if case.body is not NOT_SET else ''} → {response.status_code} "
            f"{response.content[:200]!r}: {errors}")


def coverage_cases(operation, real) -> list:
    """A bounded, varied sample of schemathesis' coverage phase for the operation (boundary values,
    each constraint broken one at a time, missing and unexpected parameters) with the real ids, plus
    all its requests with methods the path doesn't document (unsupported_method wants a 405 + Allow)."""
    generator = CoverageGenerator(
        operation=operation, generation_modes=list(schemathesis.GenerationMode),
        generation_config=operation.schema.config.generation_for(operation=operation, phase="coverage"),
        auth_storage=None, override=Override(), feedback=NO_FEEDBACK)
    methods, groups = [], collections.defaultdict(list)
    for case in generator:
        if case.path_parameters and not case.meta.is_negative_at(ParameterLocation.PATH):
            case.path_parameters = dict(real)
        elif "org_slug" in case.path_parameters:  # a broken id, in the organisation
            case.path_parameters = {**case.path_parameters, "org_slug": real["org_slug"]}
        data = case.meta.phase.data if case.meta else None
        if isinstance(data, CoveragePhaseData) and data.scenario == CoverageScenario.UNSPECIFIED_HTTP_METHOD:
            methods.append(case)
        else:
            groups[(getattr(data, "scenario", None), getattr(data, "parameter", None))].append(case)
    sample, queues = [], list(groups.values())
    while queues and len(sample) < COVERAGE:  # round robin over (scenario, parameter)
        sample.extend(queue.pop(0) for queue in queues[:COVERAGE - len(sample)])
        queues = [queue for queue in queues if queue]
    return methods + sample


@pytest.mark.django_db
@pytest.mark.parametrize("label", OPERATIONS)
def test_operation(label, world):
    """The baseline request succeeds; the coverage phase's and EXAMPLES generated requests pass every check."""
    schema = served_schema()
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    auth = credentials(operation, world)
    TOTALS["operations"] += 1

    baseline = BASELINE.get(label, {})
    body = baseline.get("body", NOT_SET)
    case = operation.Case(path_parameters=real_path(operation, world, baseline.get("path")),
                          body=body(world) if callable(body) else body,
                          query=baseline.get("query"),
                          media_type=next(iter(operation.body), None).media_type if "body" in baseline else None)
    response = call(case, auth)
    TOTALS["baselines"] += 1
    expected = baseline.get("status")
    assert (response.status_code == expected if expected else 200 <= response.status_code < 300), \
        f"baseline {label}: {response.status_code} {response.content[:500]}"
    validate(case, response, auth)

    failures, statuses = [], collections.Counter()
    real = real_path(operation, world)

    for case in coverage_cases(operation, real):
        response = call(case, auth)
        TOTALS["coverage"] += 1
        statuses[response.status_code] += 1
        try:
            validate(case, response, auth)
        except FailureGroup as group:
            failures.append(failures_of(case, response, group, f"coverage {case.meta.generation.mode.value}"))

    @hypothesis_settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def fuzz(data):
        mode = data.draw(st.sampled_from([schemathesis.GenerationMode.POSITIVE,
                                          schemathesis.GenerationMode.NEGATIVE]), label="mode")
        fixed = real if data.draw(st.booleans(), label="real ids") else \
            {name: value for name, value in real.items() if name == "org_slug"}
        case = data.draw(operation.as_strategy(generation_mode=mode, path_parameters=fixed), label="case")
        response = call(case, auth)
        TOTALS["examples"] += 1
        statuses[response.status_code] += 1
        try:
            validate(case, response, auth)
        except FailureGroup as group:
            failures.append(failures_of(case, response, group, mode.value))

    fuzz()
    TOTALS["failures"] += len(failures)
    print(f"FUZZ {label}: requests={sum(statuses.values())} statuses={dict(sorted(statuses.items()))} "
          f"failures={len(failures)}")
    assert not failures, f"{len(failures)} failing requests of {label}:\n" + "\n".join(failures[:10])


STATEFUL_SCENARIOS = 5  # per family: sequences of linked calls (create → read → update → delete),
STATEFUL_STEPS = 6  # each at most this many calls long
# The families of linked operations, each its own state machine: one machine over all of them spends
# its scenarios on the first root operation it finds. Not payouts/: the world's runs are open, so a
# new one is always a 409 and no scenario gets past its first call (Hypothesis then finds nothing to
# draw and calls the machine flaky); the unit phase covers the payout operations on the world's runs.
FAMILIES = ["campaigns/", "domains/", "groups/", "reward-rules/", "webhooks/", "integrations/connections/",
            "redemptions/", "reports/pdf/", "my/", "imports/"]


@pytest.mark.django_db
@pytest.mark.parametrize("family", FAMILIES)
def test_stateful(family, world):
    """Schemathesis' state machine, from the schema's OpenAPI links (config/openapi.py): it creates
    objects with generated data, then reads, changes and deletes them through the links, every
    check on every answer, including the stateful ones (a created object can be read; a deleted one
    is a 404: ensure_resource_availability, use_after_free)."""
    schema = served_schema().include(path_regex=f"^/api/v1/o/{{org_slug}}/{re.escape(family)}")
    failures, statuses = [], collections.Counter()
    machine = schema.as_state_machine()

    class Workflow(machine):
        def setup(self):
            # Each scenario starts from the same world (the same answers to the same calls: Hypothesis
            # replays scenarios and wants them to behave alike), rolled back after it.
            self.savepoint = transaction.savepoint()
            link_cache.clear()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)
            link_cache.clear()
            super().teardown()

        def before_call(self, case):
            # A root call's organisation is generated: ours, unless the case breaks the path on purpose.
            if "org_slug" in case.path_parameters and not (
                    case.meta and case.meta.is_negative_at(ParameterLocation.PATH)):
                case.path_parameters = {**case.path_parameters, "org_slug": world["path"]["org_slug"]}

        def call(self, case, **kwargs):
            response = call(case, credentials(case.operation, world))
            TOTALS["stateful"] += 1
            statuses[response.status_code] += 1
            return response

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            try:
                validate(case, response, credentials(case.operation, world), recorder=self.recorder)
            except FailureGroup as group:
                mode = case.meta.generation.mode.value if case.meta else ""
                failures.append(failures_of(case, response, group, f"stateful {mode}"))

    # Scenarios start with a creation or a list: an object's own operations are reached through the
    # links (with a random id they would only be 404s).
    for result in schema.get_all_operations():
        operation = result.ok()
        if set(re.findall(r"\{(\w+)\}", operation.path)) - {"org_slug"}:
            setattr(Workflow, normalize_name(f"RANDOM -> {operation.label}"), None)
    run_state_machine_as_test(Workflow, settings=hypothesis_settings(
        max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS, derandomize=True, database=None,
        deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)))
    TOTALS["failures"] += len(failures)
    print(f"STATEFUL {family}: requests={sum(statuses.values())} statuses={dict(sorted(statuses.items()))} "
          f"failures={len(failures)}")
    assert not failures, f"{len(failures)} failing requests:\n" + "\n".join(failures[:15])


# --- regression tests for what the fuzzing found ---------------------------------------------------

@pytest.mark.django_db
def test_a_malformed_campaign_id_is_a_404_not_a_500(world, client):
    """The routes take 36 characters of hex and hyphens as a campaign id; one that isn't a UUID
    made the campaign lookup raise (500) in my/campaigns/<id>/link/ and campaigns/<id>/messages|costs/."""
    client.force_login(User.objects.get(email="owner@fuzz.test"))
    bad = "0" * 36
    for method, url in [("post", f"/api/v1/o/fuzz/my/campaigns/{bad}/link/"),
                        ("get", f"/api/v1/o/fuzz/campaigns/{bad}/messages/"),
                        ("post", f"/api/v1/o/fuzz/campaigns/{bad}/costs/"),
                        ("get", f"/api/v1/o/fuzz/campaigns/{bad}/costs/{uuid.uuid4()}/")]:
        response = getattr(client, method)(url, {}, content_type="application/json")
        assert response.status_code == 404, (url, response.status_code)
        assert response.json()["detail"], url


@pytest.mark.django_db
def test_an_unknown_api_url_is_a_json_404(client):
    """A URL under /api/ that no route matches (an id of the wrong shape, a typo) answers JSON,
    like every documented API error; other URLs keep the site's 404 page."""
    for url in ("/api/v1/nothing-here/", "/api/v1/o/acme/campaigns/not-a-uuid/", "/api/v1/imports/123/"):
        response = client.get(url)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", url
        assert response.json() == {"detail": "Not found."}
    response = client.get("/nothing-here/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_bad_report_parameter_matches_the_documented_400(world):
    """The leaderboard's 400 was documented as {"field": [...]}; it is {"<parameter>": [...]}."""
    schema = served_schema()
    operation = schema["/api/v1/o/{org_slug}/reports/leaderboard/"]["GET"]
    case = operation.Case(path_parameters={"org_slug": "fuzz"}, query={"period": "fortnight"})
    response = call(case, world["session"])
    assert response.status_code == 400 and "period" in response.json()
    validate(case, response, world["session"])  # raises if the body doesn't match the schema


def test_every_operation_documents_its_errors():
    """400, 414 (gunicorn's, plain text) and 500 everywhere, 401 for every authenticated operation, 403
    for the session ones, 404 where the path has a parameter, 413 and 415 where a body is read."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            wanted = {"400", "401", "414", "500"} | ({"403"} if "cookieAuth" in schemes else set()) | (
                {"404"} if "{" in path else set()) | ({"413", "415"} if "requestBody" in operation else set())
            if not wanted <= codes:
                missing.append(f"{method.upper()} {path}: {sorted(wanted - codes)}")
    assert not missing, "\n".join(missing)
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]


def test_the_import_upload_is_documented_as_a_file():
    """The import's `file` was documented as a URI string (drf-spectacular's FileField default),
    so generated clients, and schemathesis, sent a string and got 400 every time."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert schema["components"]["schemas"]["ImportCreateRequest"]["properties"]["file"]["format"] == "binary"


@pytest.mark.django_db
def test_a_nul_in_the_query_string_is_a_documented_400(world):
    """Any GET can be sent a NUL in its query string (refused by config.middleware before the view):
    the 400 was undocumented on the lists without a filter (costs, domains, groups, my campaigns…)."""
    schema = served_schema()
    for path in ("/api/v1/o/{org_slug}/domains/", "/api/v1/o/{org_slug}/groups/", "/api/v1/o/{org_slug}/my/links/",
                 "/api/v1/o/{org_slug}/campaigns/{campaign_id}/costs/"):
        operation = schema[path]["GET"]
        case = operation.Case(path_parameters=real_path(operation, world), query={"q": "a\x00b"})
        response = call(case, world["session"])
        assert response.status_code == 400 and response.json()["detail"], path
        validate(case, response, world["session"])  # raises if the schema doesn't list the 400


def test_constraints_across_fields_are_in_the_schema():
    """What the serializers' validate() refuse across fields, a client generated from the schema knows:
    a lead names at least one of four ids, a reward rule is flat with an amount or percent with a
    percent, a custom report period has its start and end; a blank name is refused (minLength)."""
    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    lead = components["LeadRequestRequest"]
    assert [branch["required"] for branch in lead["anyOf"]] == [
        ["click_id"], ["visitor_id"], ["email"], ["customer_external_id"]]
    assert {tuple(branch["required"]) for branch in components["RewardRuleRequest"]["anyOf"]} == {
        ("amount",), ("amount_kind", "event", "unit", "percent")}
    assert ["period", "start", "end"] in [branch.get("required") for branch in
                                          components["ProgrammeReportRequestRequest"]["anyOf"]]
    assert components["GroupRequest"]["properties"]["name"]["minLength"] == 1
    assert components["PatchedTrackingSettingsRequest"]["additionalProperties"] is False


@pytest.mark.django_db
def test_a_created_object_is_linked_to_its_operations(world):
    """The schema's OpenAPI links chain a creation to the object's read, update and delete (what the
    stateful phase follows): POST campaigns/ → GET/PUT/PATCH/DELETE campaigns/{public_id}/ and its
    costs and messages, with the new id from the answer."""
    schema = served_schema()
    links = schema.raw_schema["paths"]["/api/v1/o/{org_slug}/campaigns/"]["post"]["responses"]["201"]["links"]
    assert {"v1_o_campaigns_retrieve", "v1_o_campaigns_update", "v1_o_campaigns_partial_update",
            "v1_o_campaigns_destroy", "v1_o_campaigns_costs_create", "v1_o_campaigns_messages_create"} <= set(links)
    assert links["v1_o_campaigns_destroy"]["parameters"] == {"org_slug": "$request.path.org_slug",
                                                            "public_id": "$response.body#/id"}


@pytest.mark.django_db
def test_the_served_schema_has_every_operation():
    """/api/schema/ (what the fuzzing reads) lists the same operations as the schema generated in
    process (what the tests are parametrized with), so none goes unfuzzed."""
    schema = served_schema()
    served = sorted(f"{method.upper()} {path}" for path, ops in schema.raw_schema["paths"].items() for method in ops)
    assert served == sorted(OPERATIONS)
    assert {label for label, _ in EXCLUDED} <= set(OPERATIONS), "an excluded operation that doesn't exist"


@pytest.mark.django_db
def test_a_refusal_because_of_the_state_is_a_documented_409(world):
    """Confirming a confirmed payout run, approving an approved redemption, making an ambassador
    "invited" again, naming a group like another: the request is valid, the state refuses it. These
    were 400s, which a client reads as "fix your request" (and schemathesis as valid data refused):
    now a 409 {"detail": …}."""
    schema = served_schema()
    for path, target, body in [
            ("/api/v1/o/{org_slug}/payouts/{public_id}/confirm/", "confirmed_run", NOT_SET),
            ("/api/v1/o/{org_slug}/redemptions/{public_id}/approve/", "approved_redemption", {}),
            ("/api/v1/o/{org_slug}/ambassadors/{public_id}/status/", "ambassador", {"status": "invited"}),
            ("/api/v1/o/{org_slug}/groups/", "ambassador", {"name": "FUZZERS"})]:
        operation = schema[path]["POST"]
        case = operation.Case(path_parameters=real_path(operation, world, {"public_id": target}), body=body,
                              media_type="application/json" if body is not NOT_SET else None)
        response = call(case, world["session"])
        assert response.status_code == 409 and response.json()["detail"], (path, response.content)
        validate(case, response, world["session"])
