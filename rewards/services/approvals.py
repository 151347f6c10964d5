"""An admin's actions on several ledger entries at once (the approvals queue): approve early,
hold for review, cancel with a reason. Each move is rewards.services.ledger's (audited); this
module only makes a batch all or nothing: one entry that can't move (another admin moved it
meanwhile, say) rolls the whole batch back and is named in the refusal."""

from __future__ import annotations

from datetime import datetime
from itertools import groupby

from django.db import transaction
from django.utils import timezone

from ..models import EarningEntry, EntryStatus
from . import RewardError, fraud, ledger
from .audit import record

ACTIONS = ("approve", "hold", "cancel")


def act_on_entries(action: str, entries: list[EarningEntry], actor, reason: str = "", *,
                   now: datetime | None = None, describe=str) -> int:
    """Apply `action` to every one of `entries` (rows of one organisation) or to none; returns how
    many moved. `describe(entry)` names an entry in a refusal (e.g. its ambassador and amount)."""
    if action not in ACTIONS:
        raise RewardError("action", "Choose approve, hold or cancel.")
    if not entries:
        raise RewardError("entries", "Tick the entries to act on.")
    reason = (reason or "").strip()
    if action == "cancel" and not reason:
        raise RewardError("reason", "Say why the entries are canceled (the ambassador's ledger and the audit log "
                                    "keep it).")
    now = now or timezone.now()
    with transaction.atomic():
        if action == "hold":
            return hold_for_review(entries, actor, reason, now=now, describe=describe)
        for entry in entries:
            try:
                if action == "approve":
                    ledger.approve(entry, actor, now=now)
                else:
                    ledger.cancel(entry, actor, reason, now=now)
            except RewardError as error:
                raise RewardError(None, f"{describe(entry)}: {error.message} Nothing was changed.") from error
    return len(entries)


def hold_for_review(entries: list[EarningEntry], actor, reason: str = "", *, now: datetime | None = None,
                    describe=str) -> int:
    """An admin's hold: each ambassador's entries go into their open fraud case (opened if they
    have none), with the admin's reason in the audit log; the case is then released or confirmed
    like any other (and releases itself after 30 quiet days)."""
    now = now or timezone.now()
    negative = next((entry for entry in entries if entry.amount < 0), None)
    if negative is not None:  # as the fraud rules do: holding a clawback would only delay it
        raise RewardError(None, f"{describe(negative)}: a correction that takes money back is not held (holding "
                                "would only delay it). Nothing was changed.")
    held = 0
    with transaction.atomic():
        by_ambassador = groupby(sorted(entries, key=lambda e: (e.ambassador_id, e.pk)), key=lambda e: e.ambassador_id)
        for ambassador_id, group in by_ambassador:
            group = list(group)
            organization_id = group[0].organization_id
            case, opened = fraud._open_case(organization_id, ambassador_id, now)  # one open case per ambassador
            if opened:
                record(organization_id=organization_id, actor=actor, at=now, object_type="fraud_case",
                       object_id=case.public_id, action="fraud_case.open", before=None,
                       after={"status": case.status, "ambassador_id": ambassador_id,
                              "reason": f"held by an admin: {reason}"[:300]})
            moved = ledger.hold(group, case, actor, reason=reason or "held by an admin", now=now)
            if moved != len(group):
                now_in = dict(EarningEntry.objects.filter(pk__in=[e.pk for e in group]).values_list("pk", "status"))
                stuck = next(e for e in group if e.status not in ledger.HOLDABLE or now_in[e.pk] != EntryStatus.HELD)
                raise RewardError(None, f"{describe(stuck)}: only a pending or approved entry can be held; this one "
                                        f"is {EntryStatus(now_in[stuck.pk]).label.lower()}. Nothing was changed.")
            held += moved
    return held
