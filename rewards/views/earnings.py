"""The ambassador's "My earnings" page (/o/<slug>/me/earnings/): money per status and currency,
when pending money becomes approvable, the next payout's estimate against the minimum payout,
paid runs, points, and the ledger of every entry (paginated). Held entries say "on hold for
review" and nothing of the fraud rule that held them."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from ambassadors.models import Kind
from ambassadors.selectors import ambassador_of

from ..models import EntryStatus
from ..selectors import earnings
from ..selectors.money import money_summary
from ..selectors.points import points_summary
from ..selectors.settings import reward_settings
from ..services.payout_details import details_of

LEDGER_PAGE_SIZE = 25
PAID_RUNS_SHOWN = 12
# The ledger's status filter: every status an entry can have, in the ambassador's words.
LEDGER_STATUSES = [(EntryStatus.PENDING, "Pending"), (EntryStatus.HELD, "On hold for review"),
                   (EntryStatus.APPROVED, "Approved"), (EntryStatus.IN_PAYOUT, "In a payout"),
                   (EntryStatus.PAID, "Paid"), (EntryStatus.CANCELED, "Canceled"),
                   (EntryStatus.REFUNDED, "Refunded")]
BADGES = {EntryStatus.PENDING: "pending", EntryStatus.HELD: "warning", EntryStatus.APPROVED: "ok",
          EntryStatus.IN_PAYOUT: "running", EntryStatus.PAID: "done", EntryStatus.CANCELED: "paused",
          EntryStatus.REFUNDED: "paused"}


def my_earnings(request, org_slug):
    me = ambassador_of(request.user)
    if me is None:
        raise Http404("You have no ambassador profile in this organisation.")
    organization = request.organization
    status = request.GET.get("status", "")
    if status not in dict(LEDGER_STATUSES):
        status = ""
    totals = earnings.per_currency(money_summary(me))
    settings = reward_settings(organization.pk)
    ledger = Paginator(earnings.ledger_of(me.pk, status), LEDGER_PAGE_SIZE).get_page(request.GET.get("page"))
    labels = dict(LEDGER_STATUSES)
    for entry in ledger:
        entry.correction = earnings.CORRECTION_LABELS.get(earnings.correction_kind(entry.cause))
        entry.status_label, entry.badge = labels[entry.status], BADGES[entry.status]
    paid = list(earnings.paid_history(me.pk)[:PAID_RUNS_SHOWN])
    estimates = earnings.next_payout(totals, settings.minimum_payout)
    details = details_of(me)
    with timezone.override(organization.tzinfo):
        return render(request, "rewards/earnings_mine.html", {
            "me": me,
            "totals": totals,
            "schedule": earnings.pending_schedule(me.pk, organization.tzinfo),
            "estimates": estimates,
            "details": details,
            # External ambassadors are paid to their payout details (internal ones through payroll).
            "needs_details": me.kind == Kind.EXTERNAL and details is None,
            "minimum_payout": settings.minimum_payout,
            "paid": paid,
            "points": points_summary(me),
            "ledger": ledger,
            "status": status,
            "statuses": LEDGER_STATUSES,
            "now": timezone.now(),
            "today": timezone.localdate(timezone=organization.tzinfo),
            "totals_have_held": any(t.held for t in totals),
        })
