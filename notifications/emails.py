"""E-mail notifications: what each kind's e-mail says (renderers) and their rendering helper.

One e-mail goes to one ambassador per (kind, due batch): the e-mail sender (`send_emails`, below,
registered for the e-mail channel) groups the claimed rows by (ambassador, kind) and asks the kind's renderer for the
e-mail of that group. A renderer registers with `@register_email(Kind.DIGEST)` over
`def render(ambassador, deliveries) -> RenderedEmail`; the sender adds the headers (Message-ID,
List-Unsubscribe, List-Unsubscribe-Post) and the unsubscribe footer's link is in `context`.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.template.loader import render_to_string

from ambassadors.models import Ambassador

from .models import Delivery


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


EmailRenderer = Callable[[Ambassador, list[Delivery]], RenderedEmail]

EMAIL_RENDERERS: dict[str, EmailRenderer] = {}


def register_email(kind: str) -> Callable[[EmailRenderer], EmailRenderer]:
    def decorator(func: EmailRenderer) -> EmailRenderer:
        EMAIL_RENDERERS[str(kind)] = func
        return func

    return decorator


def render_email(template: str, subject: str, context: dict) -> RenderedEmail:
    """templates/notifications/email/<template>.txt and .html with `context` (plus `subject`).
    Both templates may {% include "notifications/email/_footer.txt|html" %} for the
    preferences and unsubscribe links, given `preferences_url` and `unsubscribe_url`."""
    context = {**context, "subject": subject}
    return RenderedEmail(
        subject=" ".join(subject.split()),
        text=render_to_string(f"notifications/email/{template}.txt", context),
        html=render_to_string(f"notifications/email/{template}.html", context),
    )
