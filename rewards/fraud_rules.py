"""The fraud rules' arithmetic, pure (no database): which e-mail domains are generic or
disposable, when clicks on a link come too fast, when a refund rate is too high. The
service (rewards.services.fraud) reads the data and holds what these flag."""

from collections.abc import Sequence
from datetime import datetime, timedelta

import disposable_email_domains

# A refund rate above 1/4 over the last 90 days, with at least 4 sales, holds the ambassador's earnings.
REFUND_RATE_DAYS = 90
REFUND_RATE_MIN_SALES = 4
REFUND_RATE_ABOVE = (1, 4)  # numerator, denominator: compared in integers, exact
# An open case with no new signal for this long releases itself.
STALE_AFTER = timedelta(days=30)
VELOCITY_WINDOW = timedelta(minutes=1)

# Mail providers anyone can sign up with: two people sharing one of these are not colleagues.
# A short list of the big ones, not a complete one: a domain missing here that an ambassador
# and their customer share only makes a case an admin can release (the reason says which domain).
GENERIC_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com",
    "protonmail.ch", "pm.me", "tutanota.com", "tuta.io", "fastmail.com", "zoho.com", "zohomail.com", "mail.com",
    "email.com", "gmx.com", "gmx.net", "gmx.de", "web.de", "t-online.de", "freenet.de", "orange.fr", "wanadoo.fr",
    "free.fr", "laposte.net", "sfr.fr", "libero.it", "virgilio.it", "seznam.cz", "wp.pl", "o2.pl", "interia.pl",
    "mail.ru", "bk.ru", "inbox.ru", "list.ru", "qq.com", "163.com", "126.com", "naver.com", "daum.net",
    "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "btinternet.com", "sky.com", "bigpond.com",
    "shaw.ca", "rogers.com", "uol.com.br", "bol.com.br", "rediffmail.com", "hey.com", "duck.com",
})
# Providers with one domain per country (yahoo.fr, hotmail.co.uk, outlook.com.br, yandex.ru, …).
GENERIC_FAMILIES = frozenset({"yahoo", "ymail", "rocketmail", "hotmail", "outlook", "live", "msn", "windowslive",
                              "aol", "aim", "yandex", "gmx", "mail", "posteo", "mailbox"})


def is_generic_domain(domain: str) -> bool:
    """A free mail provider's domain (sharing it says nothing about two people)."""
    if domain in GENERIC_DOMAINS:
        return True
    name, _, suffix = domain.partition(".")
    # "<family>.<tld>" or "<family>.<co|com>.<cc>": every label after the name is a short public suffix,
    # so mail.acme.com (a company's mail host) is not taken for mail.com.
    labels = suffix.split(".") if suffix else []
    return name in GENERIC_FAMILIES and 1 <= len(labels) <= 2 and all(len(label) <= 3 for label in labels)


def is_disposable_domain(domain: str) -> bool:
    """The domain, or one it is under (x.mailinator.com), is on the disposable-email-domains list."""
    labels = domain.split(".")
    for start in range(len(labels) - 1):
        candidate = ".".join(labels[start:])
        if candidate in disposable_email_domains.allowlist:
            return False
        if candidate in disposable_email_domains.blocklist:
            return True
    return False


def company_domain(domain: str | None) -> str | None:
    """The domain if it can name a company (neither generic nor disposable), else None."""
    if not domain or is_generic_domain(domain) or is_disposable_domain(domain):
        return None
    return domain


def first_burst(times: Sequence[datetime], per_minute: int) -> tuple[datetime, int] | None:
    """The first run of more than `per_minute` clicks within one minute (from the first of them to
    the last less than a minute later), as (its first click's time, how many); None if none.
    `times` sorted."""
    start = 0
    for end, at in enumerate(times):
        while at - times[start] >= VELOCITY_WINDOW:
            start += 1
        if end - start + 1 > per_minute:
            count = end - start + 1
            # Count the whole run from that start, not only up to the click that crossed the limit.
            while end + 1 < len(times) and times[end + 1] - times[start] < VELOCITY_WINDOW:
                end += 1
                count += 1
            return times[start], count
    return None


def refund_rate_too_high(sales: int, refunded: int) -> bool:
    numerator, denominator = REFUND_RATE_ABOVE
    return sales >= REFUND_RATE_MIN_SALES and refunded * denominator > sales * numerator


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "0 %"
