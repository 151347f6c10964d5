"""Fraud holds: new entries are screened in the transaction that writes them (earnings calls
`screen_entries`); a case per ambassador lists its reasons; admins release or confirm."""


def screen_entries(organization_id: int, entries, *, now) -> None:
    """Hold (status held, attached to the ambassador's open case, with signals) each of `entries`
    (saved EarningEntry rows, just written) that a fraud rule flags. To be filled by the fraud work."""
    return None


def flag_shared_details(organization_id: int, ambassador_ids, *, now) -> None:
    """Open (or add to) a case for each of `ambassador_ids`, whose payout details have the same
    fingerprint as another ambassador's, holding their unpaid entries. To be filled by the fraud work."""
    return None
