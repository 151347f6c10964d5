"""Reward rule pages (/o/<slug>/manage/rewards/rules/…): managers read the list, admins create,
edit, deactivate and reactivate. The rules a rule keeps and every write are
rewards.services.rules' (audited); these parse and render."""

from functools import wraps

from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from common.service_errors import form_errors
from tenancy.models import Role
from tenancy.roles import role_required

from ..forms.rules import RewardRuleForm
from ..models import AmountKind, Recurrence, RewardEvent, RewardRule, RewardUnit, Split
from ..selectors.audit import audit_entries, with_pairs
from ..services import rules
from ..templatetags.earnings_format import money, points

FILTERS = {"active": ("Active", True), "inactive": ("Inactive", False), "all": ("All", None)}


def describe(rule: RewardRule, currency: str) -> str:
    """The rule in one sentence: “10 % of each sale, split by the reporting model; …”."""
    if rule.amount_kind == AmountKind.PERCENT:
        what = f"{rule.percent.normalize():f} % of each sale"
    else:
        value = points(rule.amount) if rule.unit == RewardUnit.POINTS else money(rule.amount, currency)
        what = f"{value} per {RewardEvent(rule.event).label.lower()}"
    parts = [what]
    if rule.event != RewardEvent.CLICK:
        parts.append({Split.MODEL: "split by the reporting model", Split.FIRST_TOUCH: "to the first touch",
                      Split.LAST_TOUCH: "to the last touch"}[rule.split])
    if rule.event == RewardEvent.SALE and rule.recurrence != Recurrence.LIFETIME:
        parts.append("first sale only" if rule.recurrence == Recurrence.FIRST_SALE
                     else f"sales in the first {rule.recurrence_months} months")
    if rule.cap_amount is not None:
        cap = points(rule.cap_amount) if rule.unit == RewardUnit.POINTS else money(rule.cap_amount, currency)
        parts.append(f"at most {cap} {rule.get_cap_period_display().lower()}")
    return "; ".join(parts)


def _in_org_time(view):
    """Forms read and pages show times in the organisation's time zone."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        with timezone.override(request.organization.tzinfo):
            return view(request, *args, **kwargs)
    return wrapped


@role_required(Role.MANAGER)
@_in_org_time
def rule_list(request, org_slug):
    shown = request.GET.get("show", "active")
    if shown not in FILTERS:
        shown = "active"
    queryset = RewardRule.objects.select_related("campaign", "group").order_by("event", "name", "pk")
    active = FILTERS[shown][1]
    if active is not None:
        queryset = queryset.filter(active=active)
    currency = request.organization.currency
    rows = [{"rule": rule, "summary": describe(rule, currency)} for rule in queryset]
    return render(request, "rewards/rules_list.html", {
        "rows": rows, "shown": shown, "filters": [(key, label) for key, (label, _) in FILTERS.items()],
        "can_edit": request.membership.is_admin})


@role_required(Role.ADMIN)
@_in_org_time
def rule_create(request, org_slug):
    form = RewardRuleForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        with form_errors(form):
            rule = rules.create_rule(organization=request.organization, actor=request.user, **form.values())
            messages.success(request, f"Rule “{rule.name}” created: {describe(rule, request.organization.currency)}.")
            return redirect("reward_rule_list", org_slug=org_slug)
    return render(request, "rewards/rules_form.html", {"form": form, "rule": None},
                  status=400 if form.is_bound else 200)


@role_required(Role.ADMIN)
@_in_org_time
def rule_edit(request, org_slug, public_id):
    rule = get_object_or_404(RewardRule.objects.select_related("campaign", "group"), public_id=public_id)
    form = RewardRuleForm(request.POST or None, organization=request.organization, rule=rule)
    if request.method == "POST" and form.is_valid():
        with form_errors(form):
            rule = rules.update_rule(rule, actor=request.user, **form.values())
            messages.success(request, f"Rule “{rule.name}” saved.")
            return redirect("reward_rule_list", org_slug=org_slug)
    history = with_pairs(audit_entries(object_type="reward_rule", object_id=str(rule.public_id))[:20])
    return render(request, "rewards/rules_form.html", {
        "form": form, "rule": rule, "summary": describe(rule, request.organization.currency),
        "history": history, "has_entries": rule.entries.exists()}, status=400 if form.is_bound else 200)


@require_POST
@role_required(Role.ADMIN)
def rule_active(request, org_slug, public_id):
    """Deactivate (active=0) or reactivate (active=1) a rule."""
    rule = get_object_or_404(RewardRule, public_id=public_id)
    wanted = request.POST.get("active")
    if wanted not in ("0", "1"):
        return HttpResponseBadRequest("Send active=0 to deactivate the rule or active=1 to reactivate it.")
    if wanted == "0":
        rules.deactivate_rule(rule, actor=request.user)
        messages.success(request, f"Rule “{rule.name}” deactivated: it earns nothing from now on; what it earned "
                                  "stays.")
    else:
        rules.reactivate_rule(rule, actor=request.user)
        messages.success(request, f"Rule “{rule.name}” is active again.")
    return redirect("reward_rule_list", org_slug=org_slug)
