from .selectors import memberships_of


def tenancy(request):
    """The current organisation and the user's other ones (for the switcher)."""
    user = getattr(request, "user", None)
    return {
        "current_org": getattr(request, "organization", None),
        "current_membership": getattr(request, "membership", None),
        "my_memberships": memberships_of(user) if user is not None else [],
    }
