"""Tenant isolation probe: organisation A's owner (an admin, and an ambassador too, so every
role wall is open to it), with a session and with A's API key, is sent
against every URL of the site and every operation of the OpenAPI schema, with organisation
B's identifiers filled in (B's slug, and A's own slug with B's object ids), for GET, POST, PUT,
PATCH and DELETE with a hostile body. Every answer is a 404 (405 for a method the route doesn't
have; the API key gets 401/403 where keys don't open the route, and a login redirect on the
pages), nothing of B shows in any answer, and afterwards every row of B is exactly as before.

The routes come from the URLconf (django.urls.get_resolver, nested includes walked) and the
schema (drf-spectacular, generated in-process), so a new route is probed automatically; one
with a path parameter this file doesn't know how to fill fails `test_every_route_is_taught`
until the probe is taught. Public routes (the link redirect, the snippet, sign-in, join and
invitation pages, the schema) are an explicit allow-list with a reason each.

A positive control shows the filled URLs are real: B's own owner opens the same URLs (GET)
and gets no 404. A second test sends A's session and key to A's own pages and endpoints and
checks none of them shows B's data; a third sends B's ids inside A's request bodies and
query strings (a campaign's target groups, report filters, lead and sale payloads)."""

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator

from accounts.models import User
from ambassadors.models import Ambassador, SocialProfile
from ambassadors.services import invitations, programme
from campaigns.linkcache import link_cache
from campaigns.models import Campaign, CampaignStatus
from campaigns.services.links import link_for, record_share
from integrations.inbound import services as inbound_services
from integrations.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from integrations.services.fanout import new_msg_id
from integrations.signing import new_secret
from notifications.models import Frequency as NotifyFrequency
from notifications.models import Kind as NotifyKind
from notifications.preferences import set_frequency
from reports import digest
from reports import services as report_services
from reports.periods import period_for
from reports.selectors.points import points_rules
from rewards.models import AuditEntry, FraudCase
from rewards.services import fraud as fraud_service
from rewards.services import payouts as payout_service
from rewards.services import rules as rule_service
from tenancy.models import Membership, Organization, Role
from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key
from tests.factories import (
    AmbassadorFactory,
    CampaignFactory,
    CampaignImageFactory,
    CatalogueItemFactory,
    CostFactory,
    DeliveryFactory,
    DomainFactory,
    EarningEntryFactory,
    GroupFactory,
    MessageFactory,
    NotificationSettingsFactory,
    OrganizationFactory,
    RedemptionFactory,
    RewardRuleFactory,
    member,
)
from tests.support.payouts import approved, give_paypal
from tracking.models import Credit, Customer, Sale
from tracking.salts import forget_cached_salt
from tracking.services.attribution import attribute_pending
from tracking.services.attribution_settings import settings_for
from tracking.services.click_processing import process_pending
from tracking.services.conversions import record_lead, record_sale
from tracking.services.imports import create_import

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ADMIN_METHODS = ("GET", "POST")  # the admin turns non-staff away before it looks at the method

# Routes anyone may open, so there is nothing to isolate (and probing them with B's identifiers
# would change B: a click on B's link is B's click). URL name → why it is public.
PUBLIC = {
    "link_redirect": "the short link itself: its code is public, the redirect is the product",
    "link_redirect_channel": "the short link with a channel suffix, as link_redirect",
    "amb_js": "the JavaScript snippet customers embed on their sites: static, or with ?org= the organisation's "
              "tracking mode and cookie days, which its own public site shows anyway",
    "join": "an organisation's public join page (shown only when the organisation enables it)",
    "invitation": "an invitation link: the signed token is the credential",
    "account_login": "sign-in",
    "account_signup": "sign-up",
    "account_reset_password": "password reset request",
    "account_reset_password_done": "password reset: e-mail sent",
    "account_reset_password_from_key": "password reset link: the key is the credential",
    "account_reset_password_from_key_done": "password reset: done",
    "account_confirm_email": "e-mail confirmation link: the key is the credential",
    "account_email_verification_sent": "e-mail confirmation sent",
    "account_inactive": "account inactive notice",
    "account_confirm_login_code": "sign-in by code: the code is the credential",
    "schema": "the OpenAPI schema: public documentation, no data",
    "api_docs": "Swagger UI over the schema: public documentation, no data",
    "admin:login": "the Django admin's sign-in page",
    "inbound_hook_stripe": "Stripe's receiving URL: the connection's random token is the organisation, and only a "
                           "body signed with that connection's secret is taken",
    "inbound_hook_hubspot": "HubSpot's receiving URL: the connection's random token is the organisation, and only a "
                            "body signed with that connection's secret is taken",
    "notification_unsubscribe": "an e-mail's one-click unsubscribe (RFC 8058, no login): the signed token is the "
                                "credential, and all it can do is turn one kind of e-mail off for its ambassador",
}

# Which object a route's `public_id` is. A new route with a public_id must be added here.
PUBLIC_ID_OF = {
    "ambassador_detail": "ambassador", "ambassador_status": "ambassador", "invitation_action": "invitation",
    "my_campaign": "campaign", "my_campaign_link": "campaign", "campaign_domain_delete": "domain",
    "campaign_manage": "campaign", "campaign_delete": "campaign", "campaign_message_add": "campaign",
    "campaign_message_edit": "campaign", "campaign_message_delete": "campaign", "campaign_cost_add": "campaign",
    "campaign_cost_delete": "campaign", "campaign_image_add": "campaign", "campaign_image_delete": "campaign",
    "conversion_import_detail": "conversion_import",
    "conversion_import_rerun": "conversion_import", "conversion_import_rejected": "conversion_import",
    "report_roi_detail": "campaign", "report_roi_detail_csv": "campaign",
    "report_pdf_download": "programme_report", "api_report_pdf_detail": "programme_report",
    "report_ambassador": "ambassador", "report_ambassador_csv": "ambassador",
    "api_ambassador_performance": "ambassador",
    "api_key_conversion_import_detail": "conversion_import", "api_conversion_import_detail": "conversion_import",
    "api_report_roi_detail": "campaign",
    "points_redeem": "catalogue_item", "points_manage_item": "catalogue_item",
    "points_manage_item_delete": "catalogue_item", "points_redemption_approve": "redemption",
    "points_redemption_fulfil": "redemption", "points_redemption_decline": "redemption",
    "redemption-detail": "redemption", "redemption-approve": "redemption", "redemption-fulfil": "redemption",
    "redemption-decline": "redemption",
    "reward_approval_entry": "entry",
    "payout_run": "payout_run", "payout_run_confirm": "payout_run", "payout_run_cancel": "payout_run",
    "payout_run_mark_paid": "payout_run", "payout_run_export": "payout_run", "payout-run-detail": "payout_run",
    "payout-run-confirm": "payout_run", "payout-run-cancel": "payout_run", "payout-run-mark-paid": "payout_run",
    "payout-run-export": "payout_run",
    "reward_rule_edit": "reward_rule", "reward_rule_active": "reward_rule", "reward-rule-detail": "reward_rule",
    "fraud_case": "fraud_case", "fraud_case_release": "fraud_case", "fraud_case_confirm": "fraud_case",
    "fraud-case-detail": "fraud_case", "fraud-case-release": "fraud_case", "fraud-case-confirm": "fraud_case",
    "audit-entry-detail": "audit_entry",
    "ambassador-detail": "ambassador", "ambassador-status": "ambassador", "campaign-detail": "campaign",
    "campaign-message-detail": "message", "campaign-cost-detail": "cost", "my-campaign-detail": "campaign",
    "my-campaign-link": "campaign", "domain-detail": "domain",
}
# In the schema's paths: the collection a {public_id} follows → its object.
SCHEMA_PUBLIC_ID_OF = {"redemptions": "redemption",
                       "ambassadors": "ambassador", "campaigns": "campaign", "messages": "message",
                       "costs": "cost", "domains": "domain", "imports": "conversion_import", "roi": "campaign",
                       "payouts": "payout_run", "reward-rules": "reward_rule", "fraud-cases": "fraud_case",
                       "audit-log": "audit_entry", "pdf": "programme_report"}


def _public_id(world, route):
    if route.name not in PUBLIC_ID_OF:
        raise LookupError(f"teach the probe which object `public_id` is in route {route.name!r} ({route.template})"
                          " (PUBLIC_ID_OF)")
    return getattr(world, PUBLIC_ID_OF[route.name]).public_id


def _admin_object_id(world, route):
    model_admin = getattr(route.callback, "model_admin", None)
    if model_admin is None:  # admin/r/<content_type_id>/<object_id>/ (view on site)
        return world.campaign.pk
    instance = world.by_model.get(model_admin.model)
    return instance.pk if instance is not None else 1  # staff-only anyway: any id will do


# Path parameter → how to fill it with an organisation's object (route-independent ones first).
FILL = {
    "org_slug": lambda w, r: w.org.slug,
    "membership_id": lambda w, r: w.membership.pk,
    "key_id": lambda w, r: w.api_key.public_id,
    "public_id": _public_id,
    "action": lambda w, r: "revoke",
    "group_id": lambda w, r: w.group.pk,
    "pk": lambda w, r: w.group.pk,
    "code": lambda w, r: w.link.code,
    "channel": lambda w, r: "linkedin",
    "message_id": lambda w, r: w.message.public_id,
    "cost_id": lambda w, r: w.cost.public_id,
    "image_id": lambda w, r: w.image.public_id,
    "campaign_id": lambda w, r: w.campaign.public_id,
    "endpoint_id": lambda w, r: w.webhook_endpoint.public_id,  # a webhook endpoint (its pages and API)
    "msg_id": lambda w, r: w.webhook_message.msg_id,  # with endpoint_id: that endpoint's delivery of the message
    "format": lambda w, r: "json",
    "fmt": lambda w, r: "png",
    "object_id": _admin_object_id,
    "id": _admin_object_id,  # admin/accounts/user/<id>/password/
    "content_type_id": lambda w, r: ContentType.objects.get_for_model(Campaign).pk,
    "app_label": lambda w, r: "campaigns",
    "url": lambda w, r: f"campaigns/campaign/{w.campaign.pk}/",  # the admin's catch-all
    "provider": lambda w, r: "stripe",  # a connection is its organisation's one per provider
}

# What a request that tried to change something would send: valid-looking values for the
# forms and serializers of the app, so a view that forgot its scope would actually write.
HOSTILE = {
    "name": "pwned", "display_name": "pwned", "status": "paused", "role": "ambassador", "channel": "linkedin",
    "subject": "", "text": "pwned {link}", "amount": "1.00", "date": "2026-01-01", "category": "media",
    "note": "pwned", "host": "pwned.example.com", "destination_url": "https://pwned.example.com/",
    "frequency": "weekly", "email": "pwned@example.com", "kind": "leads", "reporting_model": "first_touch",
    "window_days": "7", "half_life_days": "3", "per_share": "9.00", "description": "pwned", "title": "pwned",
    "headline": "pwned", "enabled": "on", "time_zone": "UTC", "currency": "USD", "slug": "pwned",
    "slack_webhook_url": "https://hooks.slack.com/services/TPWN/BPWN/pwned", "remove_teams": "on",
    "reminders_enabled": "on", "reminder_after_days": "9",
}

# Path parameters that name no object: a route with only these has nothing of B's to point at
# once its slug is A's.
NOT_OBJECTS = {"org_slug", "format", "fmt", "channel", "action", "provider"}
PARAM_RE = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


@dataclass
class Route:
    template: str
    name: str | None
    callback: object

    @property
    def params(self) -> list[str]:
        return [a or b for a, b in PARAM_RE.findall(self.template)]

    @property
    def key(self) -> str:
        return self.name or self.template


def walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield Route(prefix + str(pattern.pattern), name, pattern.callback)


ROUTES = list(walk(get_resolver().url_patterns))
SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = [(method.upper(), path) for path, ops in SCHEMA["paths"].items() for method in ops]


def fill_route(route: Route, world, slug_world) -> str:
    """The route's URL with the world's objects (the organisation slug from `slug_world`)."""
    def value(name):
        if name not in FILL:
            raise LookupError(f"teach the probe how to fill `{name}` in route {route.key!r} ({route.template}) "
                              "(FILL)")
        return str(FILL[name](slug_world if name == "org_slug" else world, route))

    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: value(m[1]), route.template)
    url = re.sub(r"<drf_format_suffix:(\w+)>", lambda m: "." + value(m[1]), url)
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: value(m[1]), url)
    url = url.replace("^", "").replace("$", "").replace("/?", "/").replace("\\.", ".")
    return "/" + url


def fill_schema_path(path: str, world, slug_world) -> str:
    parts = path.strip("/").split("/")
    filled = []
    for index, part in enumerate(parts):
        def value(match, index=index):
            name = match[1]
            if name == "org_slug":
                return slug_world.org.slug
            if name == "public_id":
                owner = SCHEMA_PUBLIC_ID_OF.get(parts[index - 1])
                if owner is None:
                    raise LookupError(f"teach the probe which object {{public_id}} is in {path} "
                                      "(SCHEMA_PUBLIC_ID_OF)")
                return str(getattr(world, owner).public_id)
            if name == "id":
                return str(world.group.pk)
            if name not in FILL:
                raise LookupError(f"teach the probe how to fill {{{name}}} in {path} (FILL)")
            return str(FILL[name](world, None))
        filled.append(re.sub(r"\{(\w+)\}", value, part))
    return "/" + "/".join(filled) + ("/" if path.endswith("/") else "")


def is_public(route: Route) -> bool:
    return route.name in PUBLIC


# --- the two organisations --------------------------------------------------------------------------

@dataclass
class World:
    tag: str
    org: Organization
    owner: User
    me: Ambassador
    membership: Membership
    group: object
    ambassador: Ambassador
    invitation: object
    campaign: Campaign
    draft: Campaign
    message: object
    cost: object
    link: object
    other_link: object
    domain: object
    api_key: object
    secret: str
    customer: Customer
    sale: Sale
    conversion_import: object
    by_model: dict = field(default_factory=dict)
    image: object = None
    catalogue_item: object = None  # a rewards catalogue item, and the owner's redemption of it
    redemption: object = None
    entry: object = None  # an earnings ledger entry (the approvals queue's entry page)
    payout_run: object = None  # a confirmed payout run (its pages, files and API)
    reward_rule: object = None  # a reward rule, its fraud case (held entry, signal) and audit entry
    fraud_case: object = None
    audit_entry: object = None
    programme_report: object = None  # a ready programme report PDF (its download)
    webhook_endpoint: object = None  # a webhook endpoint and a message delivered to it (its log, replay)
    webhook_message: object = None
    connections: list = field(default_factory=list)  # Stripe and HubSpot connections (conversions in)

    def markers(self) -> list[str]:
        """Strings only this organisation's data contains (its tag is in every name)."""
        return [self.tag, self.tag.lower(), self.tag.upper()]

    def id_markers(self) -> list[str]:
        return [self.link.code, self.other_link.code, *(str(o.public_id) for o in (
            self.ambassador, self.invitation, self.campaign, self.draft, self.message, self.cost, self.domain,
            self.api_key, self.customer, self.sale, self.conversion_import, self.image, self.entry, self.payout_run,
            self.catalogue_item, self.redemption, self.reward_rule, self.fraud_case, self.audit_entry,
            self.programme_report, self.webhook_endpoint)), *(c.public_token for c in self.connections),
            self.webhook_message.msg_id]


def build_world(tag: str, slug: str) -> World:
    """An organisation with one of everything a URL can address, its names all carrying `tag`.
    Clicks go through the real redirect and processing, the lead and sale through the tracking
    services and attribution, so clicks, rollups and credits exist too."""
    low = tag.lower()
    org = OrganizationFactory(name=f"{tag} Corp", slug=slug)
    owner = member(org, Role.OWNER, ambassador=True, email=f"owner@{low}.test", first_name=tag, last_name="Owner")
    manager = member(org, Role.MANAGER, email=f"manager@{low}.test", first_name=tag, last_name="Manager")
    with tenant_scope(org):
        membership = Membership.objects.get(user=manager)
        me = Ambassador.objects.get(user=owner)
        me.display_name = f"{tag} Owner"
        me.save()
        group = GroupFactory(organization=org, name=f"{tag} insiders")
        ambassador = AmbassadorFactory(organization=org, user=None, display_name=f"{tag} Ambassador",
                                       email=f"amb@{low}.test")
        ambassador.groups.add(group)
        SocialProfile.objects.create(organization=org, ambassador=ambassador, network="linkedin",
                                     handle=f"{low}-handle", followers=10)
        invitation = invitations.invite(organization=org, email=f"invitee@{low}.test", display_name=f"{tag} Invitee",
                                        send=False)
        join_page = programme.join_page_of(org)
        join_page.enabled, join_page.headline = True, f"Join {tag}"
        join_page.save()
        campaign = CampaignFactory(organization=org, name=f"{tag} launch", slug=f"{low}-launch")
        draft = CampaignFactory(organization=org, name=f"{tag} draft", slug=f"{low}-draft",
                                status=CampaignStatus.DRAFT)
        message = MessageFactory(campaign=campaign, organization=org, text=f"{tag} message {{link}}")
        cost = CostFactory(campaign=campaign, organization=org, note=f"{tag} cost")
        image = CampaignImageFactory(campaign=campaign, organization=org, original_name=f"{low}-poster.png",
                                     alt_text=f"{tag} poster")
        link = link_for(ambassador=me, campaign=campaign)
        other_link = link_for(ambassador=ambassador, campaign=campaign)
        record_share(link=link, channel="linkedin")
        domain = DomainFactory(organization=org, host=f"links.{low}.test")
        points_rules(org.pk)
        subscription = digest.subscribe(org, owner, "weekly")
        # E-mail notifications: a choice of the ambassador and an e-mail sent (the preferences page's log).
        preference = set_frequency(me, NotifyKind.CAMPAIGN_NEW, NotifyFrequency.DAILY)
        delivery = DeliveryFactory(organization=org, ambassador=me, campaign=campaign, status="sent",
                                   last_error=f"{tag} delivery")
        # The admin's notification settings page: chat webhooks (secrets), a refusal, the reminder rule,
        # and a refused post to the channel in its log.
        notify_settings = NotificationSettingsFactory(
            organization=org, slack_webhook_url=f"https://hooks.slack.com/services/T{tag}/B{tag}/{low}-secret",
            teams_webhook_url=f"https://{low}.webhook.office.com/webhookb2/{low}-secret",
            slack_problem=f"{tag} Slack refused the message", reminders_enabled=True)
        DeliveryFactory(organization=org, ambassador=None, campaign=campaign, channel="slack", status="failed",
                        key=f"campaign_new:slack:{campaign.pk}:org", last_error=f"{tag} chat refused")
        # Points: a catalogue item and the owner's redemption of it (the catalogue pages, the queue, the API).
        catalogue_item = CatalogueItemFactory(organization=org, name=f"{tag} hoodie", points_cost=100, stock=5)
        redemption = RedemptionFactory(organization=org, item=catalogue_item, ambassador=me,
                                       note=f"{tag} redemption note")
        # Earnings: a pending entry of the owner's (My earnings, the approvals queue and its entry page, the API).
        entry = EarningEntryFactory(rule=RewardRuleFactory(organization=org, name=f"{tag} sale reward"),
                                    ambassador=me, campaign=campaign, note=f"{tag} entry note")
    api_key, secret = create_api_key(organization=org, name=f"{tag} CRM", created_by=owner)
    # Conversions in: the secrets and the HubSpot stage carry the tag, the tokens are id markers.
    connections = [
        inbound_services.create_connection(org, provider="stripe", signing_secret=f"whsec_{low}_stripe_secret_9z"),
        inbound_services.create_connection(org, provider="hubspot", signing_secret=f"{low}-hubspot-client-secret",
                                           settings={"deal_stage": f"{low}-won"})]
    settings_for(org.pk)

    visitor = Client()
    location = visitor.get(f"/l/{other_link.code}/li", HTTP_USER_AGENT=CHROME)["Location"]
    click_id = parse_qs(urlsplit(location).query)["amb_cid"][0]
    with scopes_disabled():
        while process_pending(org.pk).more:
            pass
    customer, _ = record_lead(org, click_id=click_id, customer_external_id=f"{low}-customer",
                              email=f"lead@{low}.test", name=f"{tag} Lead")
    sale, _ = record_sale(org, customer_external_id=f"{low}-customer", amount=Decimal("99.00"), currency="EUR",
                          invoice_id=f"{low}-invoice")
    attribute_pending(org.pk)
    visitor.get(f"/l/{link.code}", HTTP_USER_AGENT=CHROME)  # one click left unprocessed (a RawClick)
    conversion_import = create_import(org, owner, "leads", f"{low}-leads.csv",
                                      f"email,name\nimport@{low}.test,{tag} Import\n".encode())
    with tenant_scope(org):
        assert Credit.objects.filter(customer=customer).exists(), "the world needs credits to probe"
    world = World(tag=tag, org=org, owner=owner, me=me, membership=membership, group=group, ambassador=ambassador,
                  invitation=invitation, campaign=campaign, draft=draft, message=message, cost=cost, link=link,
                  other_link=other_link, domain=domain, api_key=api_key, secret=secret, customer=customer, sale=sale,
                  conversion_import=conversion_import, image=image, entry=entry, connections=connections)
    world.by_model = {type(o): o for o in (org, owner, membership, group, ambassador, invitation, join_page,
                                            campaign, message, cost, link, domain, api_key, customer, sale,
                                            conversion_import, subscription, image, preference, delivery,
                                            notify_settings, entry)}
    with scopes_disabled():
        world.by_model[SocialProfile] = SocialProfile.objects.get(ambassador=ambassador)
        world.by_model[type(link.shares.first())] = link.shares.first()
    world.catalogue_item, world.redemption = catalogue_item, redemption
    world.by_model.update({type(o): o for o in (catalogue_item, redemption)})
    # Payouts: the owner's payout details (masked everywhere but the payout files) and a confirmed run
    # paying the owner's approved money (the payout pages, files and API).
    give_paypal(me, f"paypal@{low}.test")
    approved(me, "25.00")
    world.payout_run = payout_service.confirm(payout_service.create_run(org.pk, owner), owner)
    world.by_model[type(world.payout_run)] = world.payout_run
    # Rules, fraud, audit: a rule made by the owner (its audit entry), and the other ambassador's entry
    # held for review by the owner (a fraud case with a signal naming the organisation).
    world.reward_rule = rule_service.create_rule(organization=org, actor=owner, name=f"{tag} lead bonus",
                                                 event="lead", unit="money", amount=Decimal("5.00"))
    with tenant_scope(org):
        world.audit_entry = AuditEntry.objects.get(object_id=str(world.reward_rule.public_id))
        held = EarningEntryFactory(rule=world.reward_rule, ambassador=ambassador, event="lead",
                                   note=f"{tag} held entry")
    fraud_service.hold_for_review([held], owner, f"{tag} looks odd")
    with tenant_scope(org):
        world.fraud_case = FraudCase.objects.get(ambassador=ambassador)
    world.by_model.update({type(o): o for o in (world.reward_rule, world.fraud_case, world.audit_entry)})
    # The programme report: a ready PDF of the last 30 days (its download), made by the task's service.
    with tenant_scope(org):
        report, _ = report_services.request_programme_report(org, owner, period_for("30d", org.tzinfo))
        assert report_services.produce_programme_report(org.pk, report.pk)
        report.refresh_from_db()
    world.programme_report = report
    world.by_model[type(report)] = report
    # Webhooks: an endpoint (its secret), a message delivered to it and the attempt in its log.
    with tenant_scope(org):
        world.webhook_endpoint = WebhookEndpoint.objects.create(
            organization=org, url=f"https://hooks.{low}.test/{low}", description=f"{tag} webhook",
            events=["sale.created"], secret=new_secret())
        world.webhook_message = WebhookMessage.objects.create(
            organization=org, msg_id=new_msg_id(), event_type="sale.created", cause=f"{low}-probe-sale",
            payload={"type": "sale.created", "timestamp": "2026-01-01T00:00:00Z", "data": {"note": f"{tag} sale"}})
        webhook_delivery = WebhookDelivery.objects.create(
            organization=org, endpoint=world.webhook_endpoint, message=world.webhook_message, status="succeeded",
            attempts=1, next_attempt_at=None, last_status_code=200)
        DeliveryAttempt.objects.create(organization=org, delivery=webhook_delivery, request_body=f"{tag} request",
                                       response_status=200, response_body=f"{tag} response")
    world.by_model.update({type(o): o for o in (world.webhook_endpoint, world.webhook_message, webhook_delivery)})
    return world


def snapshot(org) -> dict:
    """Every row of the organisation (tenant models, its m2m rows, its users), as stored."""
    rows = {}
    with scopes_disabled():
        for model in apps.get_models(include_auto_created=True):
            names = {f.name for f in model._meta.concrete_fields}
            if model is Organization:
                queryset = model._base_manager.filter(pk=org.pk)
            elif "organization" in names:
                queryset = model._base_manager.filter(organization=org)
            elif model._meta.auto_created:
                links = [f for f in model._meta.concrete_fields if f.is_relation
                         and "organization" in {g.name for g in f.related_model._meta.concrete_fields}]
                if not links:
                    continue
                queryset = model._base_manager.filter(**{f"{links[0].name}__organization": org})
            elif model is User:
                queryset = model._base_manager.filter(memberships__organization=org)
            else:
                continue
            rows[model._meta.label] = list(queryset.order_by("pk").values())
    return rows


def diff(before: dict, after: dict) -> list[str]:
    changes = []
    for label in sorted(set(before) | set(after)):
        old, new = before.get(label, []), after.get(label, [])
        if old != new:
            old_by_pk, new_by_pk = {r["id"]: r for r in old}, {r["id"]: r for r in new}
            for pk in sorted(set(old_by_pk) | set(new_by_pk)):
                if old_by_pk.get(pk) != new_by_pk.get(pk):
                    changes.append(f"{label} #{pk}: {old_by_pk.get(pk)} → {new_by_pk.get(pk)}")
    return changes


@pytest.fixture(autouse=True)
def _process_caches(settings):
    """Clicks are written by the redirect with an INSERT; no link or salt outlives the test."""
    settings.CLICK_CAPTURE = "db"
    link_cache.clear()
    forget_cached_salt()
    yield
    link_cache.clear()
    forget_cached_salt()


@pytest.fixture
def worlds(db):
    a = build_world("Acmeorg", "acme-org")
    b = build_world("Zetaorg", "zeta-org")
    return a, b


def session_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def key_client(secret) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


def send(client, method, url, *, api: bool):
    if method == "GET":
        return client.get(url)
    if method == "DELETE":
        return client.delete(url)
    if api:
        return client.generic(method, url, json.dumps(HOSTILE), content_type="application/json")
    if method == "POST":
        return client.post(url, HOSTILE)
    return client.generic(method, url, urlencode(HOSTILE), content_type="application/x-www-form-urlencoded")


# --- what each answer must be ------------------------------------------------------------------------

def expected(identity: str, url: str, a: World, b: World) -> tuple[set[int], str]:
    """The statuses allowed for `identity` (session or key of A) at `url`, and why."""
    if url.startswith("/admin/"):
        return {302}, "the Django admin sends non-staff to its sign-in page"
    if url.startswith((f"/o/{b.org.slug}/", f"/api/v1/o/{b.org.slug}/")) or url == f"/api/v1/o/{b.org.slug}/":
        if identity == "key" and url.startswith("/o/"):
            return {302}, "pages take no API key: sign-in redirect"
        return {404}, "another organisation's slug is a 404, like one that doesn't exist"
    if url.startswith(f"/o/{a.org.slug}/"):
        if identity == "key":
            return {302}, "pages take no API key: sign-in redirect"
        return {404, 405}, "B's object under A's own slug: not found (405 for a method the route lacks)"
    if url.startswith(f"/api/v1/o/{a.org.slug}/"):
        if identity == "key":
            return {403}, "API keys are refused on the /api/v1/o/<slug>/ endpoints of their own organisation"
        return {404, 405}, "B's object under A's own slug: not found (405 for a method the route lacks)"
    if url.startswith("/api/v1/"):
        if identity == "session":
            return {401}, "machine endpoints take an API key only"
        return {404, 405}, "the key's organisation has no such object (405 for a method the route lacks)"
    raise AssertionError(f"no expectation for {url}: teach expected()")


@dataclass
class Probe:
    url: str
    key: str  # the route (or schema operation) it came from
    methods: tuple[str, ...]
    needs_404: str | None  # who must get a 404 from some method: the object lookup was reached
    route: Route | None = None


def probes(a: World, b: World) -> tuple[dict[str, Probe], Counter, int]:
    found: dict[str, Probe] = {}
    routes, operations = Counter(), 0
    for route in ROUTES:
        if is_public(route) or not route.params:
            continue
        routes["admin" if route.template.startswith("admin/") else "app"] += 1
        methods = ADMIN_METHODS if route.template.startswith("admin/") else METHODS
        objects = set(route.params) - NOT_OBJECTS
        url = fill_route(route, b, b)
        machine = "org_slug" not in route.params and not route.template.startswith("admin/")
        found.setdefault(url, Probe(url, route.key, methods, "key" if machine else None, route))
        if "org_slug" in route.params and objects:
            url = fill_route(route, b, a)
            found.setdefault(url, Probe(url, route.key, methods, "session", route))
    for method, path in OPERATIONS:
        if "{" not in path:
            continue
        operations += 1
        objects = set(re.findall(r"\{(\w+)\}", path)) - NOT_OBJECTS
        for slug_world in (b, a) if "{org_slug}" in path and objects else (b,):
            url = fill_schema_path(path, b, slug_world)
            who = "session" if slug_world is a else None if "{org_slug}" in path else "key"
            probe = found.setdefault(url, Probe(url, f"{method} {path}", (), who))
            if method not in probe.methods:
                probe.methods = (*probe.methods, method)
    return found, routes, operations


# --- tests -------------------------------------------------------------------------------------------

def test_every_route_is_taught():
    """Every URL pattern and schema operation with a path parameter can be filled (else: teach
    FILL / PUBLIC_ID_OF / SCHEMA_PUBLIC_ID_OF), every allow-listed public route still exists,
    and every schema path resolves to a route."""
    names = {route.name for route in ROUTES}
    assert set(PUBLIC) <= names, f"stale PUBLIC entries: {sorted(set(PUBLIC) - names)}"
    unknown = sorted({f"{p} in {r.key} ({r.template})" for r in ROUTES if not is_public(r) for p in r.params
                      if p not in FILL or (p == "public_id" and r.name not in PUBLIC_ID_OF)})
    assert not unknown, "the probe can't fill these path parameters; teach it (FILL, PUBLIC_ID_OF):\n" + \
        "\n".join(unknown)
    schema_params = sorted({f"{name} in {path}" for _, path in OPERATIONS for name in re.findall(r"\{(\w+)\}", path)
                            if name not in FILL and name != "id"})
    assert not schema_params, f"schema path parameters the probe can't fill: {schema_params}"
    public_ids = sorted({path for _, path in OPERATIONS if "{public_id}" in path
                         and path.split("/{public_id}")[0].rsplit("/", 1)[1] not in SCHEMA_PUBLIC_ID_OF})
    assert not public_ids, f"teach SCHEMA_PUBLIC_ID_OF the collection of: {public_ids}"
    assert len(OPERATIONS) > 50 and len(ROUTES) > 100


@pytest.mark.django_db
def test_organisation_a_gets_404_for_everything_of_b(worlds):
    """A's admin (session) and A's API key, on every route and schema operation filled with B's
    identifiers, with every method: 404 (405, or 401/403/sign-in where the credential doesn't
    open the route); nothing of B in any answer; B's rows unchanged."""
    a, b = worlds
    found, route_count, operation_count = probes(a, b)

    # The URLs are real: each resolves to the route it was made from, and B's owner opens it.
    control = session_client(b.owner)
    b_key = key_client(b.secret)
    control_statuses = Counter()
    for probe in found.values():
        match = resolve(urlsplit(probe.url).path)  # Resolver404 if a schema path was filled wrong
        if probe.route is not None:
            assert match.func is probe.route.callback and set(match.kwargs) == set(probe.route.params), \
                f"{probe.url} resolves to {match.view_name}, not to {probe.key}"
        if probe.needs_404 == "session" or probe.url.startswith("/admin/"):  # A's slug: not B's URL
            continue
        client = b_key if probe.url.startswith("/api/v1/imports/") else control
        status = client.get(probe.url).status_code
        control_statuses[status] += 1
        assert status != 404, f"control: B's owner gets 404 at {probe.url} ({probe.key}): the probe URL is wrong"

    before = snapshot(b.org)
    clients = {"session": session_client(a.owner), "key": key_client(a.secret)}
    statuses = {identity: Counter() for identity in clients}
    wrong, leaks, not_reached = [], [], []
    requests = 0
    for probe in found.values():
        answered = {identity: set() for identity in clients}
        for identity, client in clients.items():
            allowed, why = expected(identity, probe.url, a, b)
            for method in probe.methods:
                response = send(client, method, probe.url, api=probe.url.startswith("/api/"))
                requests += 1
                statuses[identity][response.status_code] += 1
                answered[identity].add(response.status_code)
                if response.status_code not in allowed:
                    wrong.append(f"{identity} {method} {probe.url} ({probe.key}): {response.status_code}, "
                                 f"expected {sorted(allowed)}: {why}")
                elif response.status_code == 302:
                    location = response["Location"]
                    if not location.startswith(("/accounts/login/", "/admin/login/")):
                        wrong.append(f"{identity} {method} {probe.url}: 302 to {location}, not to a sign-in page")
                body = response.content.decode("utf-8", "replace") if not getattr(response, "streaming", False) \
                    else ""
                leaked = [m for m in b.markers() if m in body]
                if leaked:
                    leaks.append(f"{identity} {method} {probe.url}: {leaked}")
        if probe.needs_404 and 404 not in answered[probe.needs_404]:
            not_reached.append(f"{probe.needs_404} {probe.url} ({probe.key}): {sorted(answered[probe.needs_404])}")
    changes = diff(before, snapshot(b.org))

    figures = (f"DRILL tenant-probe: routes={route_count['app']}+{route_count['admin']} admin "
               f"schema_operations={operation_count} urls={len(found)} "
               f"requests={requests} session={dict(sorted(statuses['session'].items()))} "
               f"key={dict(sorted(statuses['key'].items()))} control={dict(sorted(control_statuses.items()))} "
               f"wrong={len(wrong)} leaks={len(leaks)} b_rows_changed={len(changes)}")
    print(figures)
    assert not wrong, figures + "\n" + "\n".join(wrong[:40])
    assert not leaks, figures + "\n" + "\n".join(leaks[:40])
    assert not not_reached, figures + "\nno method reached the object lookup:\n" + "\n".join(not_reached)
    assert not changes, figures + "\nB was changed:\n" + "\n".join(changes[:40])


@pytest.mark.django_db
def test_a_sees_nothing_of_b_on_its_own_pages(worlds):
    """Every route A may open (its own ids, and the routes without parameters) shows nothing of
    B: no B name, e-mail, host, code or id in any page, CSV, API answer or machine endpoint."""
    a, b = worlds
    session, key = session_client(a.owner), key_client(a.secret)
    markers = b.markers() + b.id_markers()
    seen, leaks, errors = Counter(), [], []
    for route in ROUTES:
        if is_public(route) or route.template.startswith("admin/"):
            continue
        if route.params and "org_slug" not in route.params and not route.template.startswith("api/v1/imports/"):
            continue
        url = fill_route(route, a, a)
        clients = [key] if url.startswith("/api/v1/") and not url.startswith(("/api/v1/o/", "/api/v1/me/")) \
            else [session]
        for client in clients:
            response = client.get(url)
            seen[response.status_code] += 1
            if response.status_code >= 500:
                errors.append(f"GET {url}: {response.status_code}")
            body = b"".join(response.streaming_content) if getattr(response, "streaming", False) \
                else response.content
            found = [m for m in markers if m in body.decode("utf-8", "replace")]
            if found:
                leaks.append(f"GET {url} ({route.key}): {found}")
    figures = f"DRILL tenant-leak-scan: requests={sum(seen.values())} statuses={dict(sorted(seen.items()))} " \
              f"leaks={len(leaks)}"
    print(figures)
    assert not errors, figures + "\n" + "\n".join(errors)
    assert not leaks, figures + "\n" + "\n".join(leaks)
    assert seen[200] > 40, figures  # the scan reached real pages, not just errors


@pytest.mark.django_db
def test_b_ids_inside_a_requests_are_not_found(worlds):
    """B's identifiers sent in A's bodies and query strings: a campaign targeting B's group is
    refused (API and form), report filters on B's campaign or group show nothing of B, and a
    lead or sale carrying B's click, visitor, customer or invoice stays A's and credits only A."""
    a, b = worlds
    before = snapshot(b.org)
    session, key = session_client(a.owner), key_client(a.secret)
    api = f"/api/v1/o/{a.org.slug}"

    response = session.post(f"{api}/campaigns/", {"name": "Probe", "destination_url": "https://example.com/",
                                                  "target_groups": [b.group.pk]}, content_type="application/json")
    assert response.status_code == 400 and "target_groups" in response.json(), response.content
    response = session.post(f"{api}/campaigns/", {"name": "Probe", "destination_url": "https://example.com/",
                                                  "target_groups": [b.group.name]}, content_type="application/json")
    assert response.status_code == 400 and "target_groups" in response.json(), response.content
    response = session.post(f"{api}/reward-rules/", {"name": "Probe", "event": "lead", "unit": "money",
                                                     "amount": "1.00", "campaign": str(b.campaign.public_id),
                                                     "group": b.group.name}, content_type="application/json")
    assert response.status_code == 400 and {"campaign", "group"} <= set(response.json()), response.content
    response = session.get(f"{api}/audit-log/", {"object_id": str(b.reward_rule.public_id)})
    assert response.status_code == 200 and response.json()["count"] == 0, response.content
    response = session.post(f"/o/{a.org.slug}/manage/campaigns/new/", {
        "name": "Probe form", "destination_url": "https://example.com/", "status": "draft",
        "target_groups": [b.group.pk], "minutes_per_share": "5"})
    with tenant_scope(a.org):
        assert not Campaign.objects.filter(name="Probe form", target_groups=b.group.pk).exists()
    assert response.status_code in (200, 400), response.status_code  # the form again, with its error

    report_urls = [f"{api}/reports/{name}/" for name in ("leaderboard", "leaderboard/fair", "roi", "funnel", "models",
                                                          "overview")]
    report_urls += [f"/o/{a.org.slug}/reports/{name}" for name in ("leaderboard/", "roi/", "funnel/", "models/",
                                                                   "leaderboard.csv", "roi.csv", "funnel.csv",
                                                                   "models.csv")]
    report_urls += [f"/o/{a.org.slug}/reports/ambassadors/{a.me.public_id}/",  # the drill-down and the list
                    f"/o/{a.org.slug}/reports/ambassadors/{a.me.public_id}.csv",
                    f"{api}/ambassadors/{a.me.public_id}/performance/", f"/o/{a.org.slug}/ambassadors/"]
    for url in report_urls:
        for query in ({"campaign": str(b.campaign.public_id)}, {"group": str(b.group.pk)}):
            response = session.get(url, query)
            body = response.content.decode("utf-8", "replace")
            assert response.status_code in (200, 400), (url, query, response.status_code)
            assert not [m for m in b.markers() + b.id_markers()[:2] if m in body], (url, query, body[:500])

    # Earnings: B's entry can't be acted on from A's queue; filters on B's ambassador or campaign find nothing.
    response = session.post(f"/o/{a.org.slug}/manage/rewards/approvals/", {
        "action": "cancel", "reason": "pwned", "entries": [str(b.entry.public_id)]})
    assert response.status_code == 400, response.status_code
    for url in (f"{api}/earnings/", f"/o/{a.org.slug}/manage/rewards/approvals/", "/api/v1/me/earnings/"):
        for query in ({"ambassador": str(b.me.public_id)}, {"campaign": str(b.campaign.public_id)}):
            response = session.get(url, query)
            body = response.content.decode("utf-8", "replace")
            assert response.status_code in (200, 400), (url, query, response.status_code)  # 400: not a choice
            assert not [m for m in b.markers() + [str(b.entry.public_id)] if m in body], (url, query)

    # Points: B's item in A's redemption request or catalogue form is none of A's; filters on B's ambassador
    # find nothing; A's reward settings can't give B's group holding periods.
    response = session.post(f"{api}/redemptions/", {"item": str(b.catalogue_item.public_id)},
                            content_type="application/json")
    assert response.status_code == 400 and response.json() == {"item": ["No such item in the catalogue."]}
    response = session.get(f"{api}/redemptions/", {"ambassador": str(b.me.public_id)})
    assert response.status_code == 200 and response.json()["count"] == 0, response.content
    response = session.post(f"/o/{a.org.slug}/manage/rewards/settings/holding/", {
        "holding-group": b.group.pk, "holding-money_holding_days": "7", "holding-points_holding_days": "7"})
    assert response.status_code == 400, response.status_code
    response = session.post(f"/o/{a.org.slug}/manage/rewards/catalogue/", {
        "name": "Probe item", "points_cost": "5", "groups": [b.group.pk], "active": "on"})
    assert response.status_code == 400, response.status_code

    response = key.post("/api/v1/track/lead", {"click_id": b.customer.first_click_id,
                                               "visitor_id": b.customer.visitor_id,
                                               "customer_external_id": b.customer.external_id,
                                               "email": f"lead@{b.tag.lower()}.test"}, content_type="application/json")
    assert response.status_code == 201, response.content  # a new customer of A's, not B's
    assert response.json()["id"] != str(b.customer.public_id)
    response = key.post("/api/v1/track/sale", {"customer_external_id": b.customer.external_id, "amount": "5.00",
                                               "currency": "EUR", "invoice_id": b.sale.invoice_id},
                        content_type="application/json")
    assert response.status_code == 201 and response.json()["id"] != str(b.sale.public_id), response.content
    response = key.post("/api/v1/track/sale", {"customer_external_id": "nobody", "amount": "5.00",
                                               "currency": "EUR", "invoice_id": f"{b.tag.lower()}-invoice-2",
                                               "status": "refunded"}, content_type="application/json")
    assert response.status_code == 400, response.content  # a refund of an invoice A doesn't have
    attribute_pending(a.org.pk)
    with scopes_disabled():
        a_ambassadors = set(Ambassador.objects.filter(organization=a.org).values_list("pk", flat=True))
        credited = set(Credit.objects.filter(organization=a.org).values_list("ambassador_id", flat=True))
        assert credited <= a_ambassadors, (credited, a_ambassadors)
        assert not Credit.objects.filter(organization=a.org, link_id__in=[b.link.pk, b.other_link.pk]).exists()
    changes = diff(before, snapshot(b.org))
    print(f"DRILL tenant-bodies: report_requests={len(report_urls) * 2} b_rows_changed={len(changes)}")
    assert not changes, "\n".join(changes)


@pytest.mark.django_db
def test_format_suffixed_actions_answer(worlds):
    """The router also serves every action with a format suffix (…/status.json/); the custom
    actions didn't take the `format` argument and answered 500 (found by the probe)."""
    a, _ = worlds
    client = session_client(a.owner)
    api = f"/api/v1/o/{a.org.slug}"
    response = client.post(f"{api}/ambassadors/{a.ambassador.public_id}/status.json/", {"status": "paused"},
                           content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "paused", response.content
    response = client.post(f"{api}/my/campaigns/{a.campaign.public_id}/link.json/")
    assert response.status_code == 200 and response.json()["code"] == a.link.code, response.content
    response = client.post(f"{api}/my/links/{a.link.code}/shares.json/", {"channel": "x"},
                           content_type="application/json")
    assert response.status_code == 201, response.content
