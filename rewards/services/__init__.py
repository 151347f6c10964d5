"""The writes of rewards, a module per group of operations:

* `earnings`: rules applied to attributed clicks, leads and sales → ledger entries, corrections;
* `ledger`: status moves of entries (approve, hold, release, cancel, refund) with the audit log;
* `payouts`: payout runs, exports, mark paid; `payout_details`: encrypted details;
* `points`: the catalogue and redemptions;
* `fraud`: holds, cases, release and confirmation;
* `audit`: the one writer of the audit log;
* `rules`, `settings`: what admins configure."""

from common.service_errors import ServiceError


class RewardError(ServiceError):
    """A refusal an admin or ambassador can act on (field, message)."""
