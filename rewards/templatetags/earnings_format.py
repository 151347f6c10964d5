"""Amounts on the earnings pages: money with its currency and a real minus sign (a correction that
takes money back must not read as money earned), points as whole numbers."""

from decimal import Decimal

from django import template

register = template.Library()

MINUS = "\u2212"


@register.filter
def money(amount, currency: str = "") -> str:
    """12.40 → "12.40 EUR", −33.34 → "−33.34 EUR", 1234.5 → "1,234.50 EUR"."""
    if amount is None or amount == "":
        return ""
    amount = Decimal(amount)
    text = f"{abs(amount):,.2f}"
    return f"{MINUS if amount < 0 else ''}{text}{' ' + currency if currency else ''}"


@register.filter
def money_short(amount, currency: str = "") -> str:
    """A round limit without its cents: 20.00 → "20 EUR" (else as `money`)."""
    amount = Decimal(amount)
    if amount == amount.to_integral_value():
        return f"{MINUS if amount < 0 else ''}{abs(amount):,.0f}{' ' + currency if currency else ''}"
    return money(amount, currency)


@register.filter
def points(amount) -> str:
    """500.00 → "500 points", 1 → "1 point", −20 → "−20 points"."""
    if amount is None or amount == "":
        return ""
    whole = int(Decimal(amount))
    return f"{MINUS if whole < 0 else ''}{abs(whole):,} point{'' if abs(whole) == 1 else 's'}"


@register.filter
def amount_of(entry) -> str:
    """An entry's amount in its unit: money with its currency, or points."""
    return points(entry.amount) if entry.unit == "points" else money(entry.amount, entry.currency)
