"""The demo's people that the demo's modules need to find again: the demo ambassador, the
login README and the start-up message give for the ambassador role."""

from ambassadors.models import Ambassador

DEMO_AMBASSADOR_LOCAL_PART = "ambassador"


def demo_ambassador_email(domain: str) -> str:
    return f"{DEMO_AMBASSADOR_LOCAL_PART}@{domain}"


def demo_ambassador(org) -> Ambassador | None:
    """The organisation's demo ambassador (inside its tenant scope), if the demo made one."""
    return (Ambassador.objects.filter(organization=org, email__startswith=f"{DEMO_AMBASSADOR_LOCAL_PART}@")
            .order_by("pk").first())
