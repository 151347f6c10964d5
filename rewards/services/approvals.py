"""An admin's actions on several ledger entries at once (the approvals queue): approve early,
hold for review, cancel with a reason. Each move is rewards.services.ledger's (audited); this
module only makes a batch all or nothing: one entry that can't move (another admin moved it
meanwhile, say) rolls the whole batch back and is named in the refusal."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ..models import EarningEntry, EntryStatus
from . import RewardError, fraud, ledger

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
    """An admin's hold (rewards.services.fraud.hold_for_review: each ambassador's entries go into
    their open case with a "manual" signal), refused up front with the entry that can't be held."""
    negative = next((entry for entry in entries if entry.amount < 0), None)
    if negative is not None:  # as the fraud rules do: holding a clawback would only delay it
        raise RewardError(None, f"{describe(negative)}: a correction that takes money back is not held (holding "
                                "would only delay it). Nothing was changed.")
    stuck = next((entry for entry in entries if entry.status not in ledger.HOLDABLE), None)
    if stuck is not None:
        raise RewardError(None, f"{describe(stuck)}: only a pending or approved entry can be held; this one "
                                f"is {EntryStatus(stuck.status).label.lower()}. Nothing was changed.")
    return fraud.hold_for_review(entries, actor, reason, now=now)  # rechecks under lock, all or nothing
