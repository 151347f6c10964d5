"""Payout tests' shared helpers: approved money entries written directly (the earnings engine is
tested elsewhere) and payout details stored through the real service (encrypted)."""

from decimal import Decimal

from rewards.models import EntryStatus
from rewards.services.payout_details import set_details
from tenancy.scoping import tenant_scope
from tests.factories import PASSWORD, EarningEntryFactory, RewardRuleFactory

IBAN_DE = "DE89370400440532013000"  # the standard example IBAN (valid checksum)
IBAN_GB = "GB82WEST12345698765432"


def approved(ambassador, amount, currency="EUR", *, rule=None, status=EntryStatus.APPROVED, **fields):
    """One approved money entry of `amount` (a string or Decimal; negative: a correction)."""
    rule = rule or RewardRuleFactory(organization=ambassador.organization)
    return EarningEntryFactory(organization=ambassador.organization, rule=rule, ambassador=ambassador,
                               amount=Decimal(str(amount)), currency=currency, status=status, **fields)


def give_paypal(ambassador, email, *, password=PASSWORD):
    with tenant_scope(ambassador.organization):
        return set_details(ambassador, user=ambassador.user, method="paypal", paypal_email=email, password=password)


def give_iban(ambassador, iban=IBAN_DE, holder="Jo Bank", *, password=PASSWORD):
    with tenant_scope(ambassador.organization):
        return set_details(ambassador, user=ambassador.user, method="bank", iban=iban, account_holder=holder,
                           password=password)
