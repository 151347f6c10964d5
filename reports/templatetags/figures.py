"""Template filters that show a report figure in its one unit (reports/figures.py does the work):

    {% load figures %}
    {{ fig.roi|roi }}                     → 718.6 %     (ROI is a ratio in the selectors)
    {{ rates.unique|percent }}            → 91.9 %      (a funnel rate)
    {{ fig.revenue|money:current_org }}   → €1,234.50   (the organisation's currency and locale)
    {{ amount|money:"USD" }}              → $1,234.50   (a currency code)
    {{ fig.leads|credited }}              → 14.2        (credited leads / customers)
    {{ rates.clicks|per:"per share" }}    → 9.3 per share
    {{ fig.shares|count }}                → 1,234
    {% credit_note %}                     → the sentence explaining fractional credit, once per page

Every filter takes the organisation as an optional argument for its locale
({{ fig.roi|roi:current_org }}); without it the site's language is used. None shows as "—".
"""

from django import template
from django.utils.html import format_html

from reports import figures

register = template.Library()


def _locale(org):
    return figures.locale_of(org if org is not None and not isinstance(org, str) else None)


@register.filter
def roi(ratio, org=None) -> str:
    return figures.format_roi(ratio, locale=_locale(org))


@register.filter
def percent(ratio, org=None) -> str:
    return figures.format_percent(ratio, locale=_locale(org))


@register.filter
def money(amount, org_or_currency=None) -> str:
    """The organisation's currency and locale, or a currency code (site locale)."""
    if isinstance(org_or_currency, str):
        return figures.format_money(amount, org_or_currency, locale=_locale(None))
    currency = getattr(org_or_currency, "currency", "") if org_or_currency is not None else ""
    return figures.format_money(amount, currency, locale=_locale(org_or_currency))


@register.filter
def credited(value, org=None) -> str:
    return figures.format_credited(value, locale=_locale(org))


@register.filter
def per(value, unit: str = "") -> str:
    return figures.format_per(value, unit)


@register.filter
def count(value, org=None) -> str:
    return figures.format_number(value, locale=_locale(org))


@register.simple_tag
def credit_note() -> str:
    return format_html('<p class="muted credit-note" data-note="credit">{}</p>', figures.CREDIT_EXPLANATION)
