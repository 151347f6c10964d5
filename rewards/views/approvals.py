"""The admins' approvals queue (/o/<slug>/manage/rewards/approvals/): pending and held entries,
filtered by campaign, ambassador, status and whether their holding period is over; admins
approve early, hold or cancel (with a reason) several at once, or one from its page. Every move
goes through rewards.services.ledger (audited); managers see the queue but may not act (403).

All or nothing: a batch where one entry can't move (another admin moved it meanwhile, say)
moves none and says which and why."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from ambassadors.models import Ambassador
from tenancy.models import Role
from tenancy.roles import role_required

from ..forms.approvals import ACTIONS, ActionForm, QueueFilterForm
from ..models import EarningEntry, EntryStatus
from ..selectors import earnings
from ..services import RewardError, approvals
from ..templatetags.earnings_format import amount_of

QUEUE_PAGE_SIZE = 50
DONE = {"approve": "Approved", "hold": "Held", "cancel": "Canceled"}
# What an admin may do to one entry in each status (a held entry is released from its fraud case).
ACTIONS_BY_STATUS = {EntryStatus.PENDING: ("approve", "hold", "cancel"), EntryStatus.APPROVED: ("hold", "cancel"),
                     EntryStatus.HELD: ("cancel",)}


def _act(request, form) -> int:
    """The form's action on its entries (all or none); a refusal becomes the form's error."""
    data = form.cleaned_data
    try:
        return approvals.act_on_entries(data["action"], data["entries"], request.user, data["reason"],
                                        describe=_describe)
    except RewardError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return 0


def _describe(entry) -> str:
    return f"{entry.ambassador} · {amount_of(entry)}"


def _actions_for(entry) -> tuple[str, ...]:
    actions = ACTIONS_BY_STATUS.get(entry.status, ())
    return tuple(a for a in actions if a != "hold") if entry.amount < 0 else actions  # clawbacks aren't held


def _require_admin(request):
    if not request.membership.is_admin:
        raise PermissionDenied("Only admins can approve, hold or cancel earnings; managers see the queue.")


@role_required(Role.MANAGER)
def approvals_queue(request, org_slug):
    now = timezone.now()
    action_form = None
    status = 200
    if request.method == "POST":
        _require_admin(request)
        action_form = ActionForm(request.POST)
        if action_form.is_valid():
            done = _act(request, action_form)
            if done:
                messages.success(request, f"{DONE[action_form.cleaned_data['action']]} {done} "
                                          f"entr{'y' if done == 1 else 'ies'}.")
                return redirect(request.get_full_path())
        status = 400
    filters = QueueFilterForm(request.GET or None)
    if filters.is_bound and not filters.is_valid():
        entries, status = EarningEntry.objects.none(), 400
    else:
        chosen = filters.cleaned_data if filters.is_bound else {}
        campaign = chosen.get("campaign")
        entries = earnings.approval_queue(now=now, status=chosen.get("status", ""), due=chosen.get("due", ""),
                                          campaign=campaign.public_id if campaign else None,
                                          ambassador=chosen.get("ambassador"))
    page = Paginator(entries, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    for entry in page:
        entry.correction = earnings.CORRECTION_LABELS.get(earnings.correction_kind(entry.cause))
    query = request.GET.copy()
    query.pop("page", None)
    ambassador_id = filters.cleaned_data.get("ambassador") if filters.is_bound and filters.is_valid() else None
    filtered_ambassador = Ambassador.objects.filter(public_id=ambassador_id).first() if ambassador_id else None
    with timezone.override(request.organization.tzinfo):
        return render(request, "rewards/approvals_queue.html", {
            "filters": filters, "page": page, "query": query.urlencode(), "now": now,
            "counts": earnings.queue_counts(now), "totals": earnings.queue_totals(entries),
            "filtered_ambassador": filtered_ambassador, "ambassador_filter": ambassador_id,
            "form": action_form, "actions": ACTIONS, "can_act": request.membership.is_admin,
        }, status=status)


@role_required(Role.MANAGER)
def approval_entry(request, org_slug, public_id):
    entry = get_object_or_404(EarningEntry.objects.select_related("ambassador", "rule", "campaign", "adjusts",
                                                                  "fraud_case"), public_id=public_id)
    form = None
    status = 200
    if request.method == "POST":
        _require_admin(request)
        data = request.POST.copy()
        data.setlist("entries", [str(entry.public_id)])
        form = ActionForm(data)
        if form.is_valid():
            done = _act(request, form)
            if done:
                messages.success(request, f"{DONE[form.cleaned_data['action']]}.")
                return redirect("reward_approval_entry", org_slug=org_slug, public_id=public_id)
        status = 400
        entry.refresh_from_db()
    with timezone.override(request.organization.tzinfo):
        return render(request, "rewards/approvals_entry.html", {
            "entry": entry, "form": form, "now": timezone.now(), "can_act": request.membership.is_admin,
            "correction": earnings.CORRECTION_LABELS.get(earnings.correction_kind(entry.cause)),
            "adjustments": entry.adjustments.select_related("rule").order_by("earned_at", "pk"),
            "actions": [(value, label) for value, label in ACTIONS if value in _actions_for(entry)],
        }, status=status)
