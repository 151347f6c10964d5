"""Role checks, in one place: a view decorator for pages and a DRF permission for the API.
The tenant middleware has already turned non-members away with a 404; these decide what
a member may do in their own organisation (403 with the role needed)."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from .models import ROLE_RANK, Role


def has_role(request, minimum: str) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and ROLE_RANK[membership.role] >= ROLE_RANK[minimum]


def role_required(minimum: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request, minimum):
                raise PermissionDenied(f"This page needs the {Role(minimum).label.lower()} role or higher.")
            return view(request, *args, **kwargs)

        wrapped.required_role = minimum
        return wrapped

    return decorator


def MinimumRole(minimum: str):  # noqa: N802 - used like a permission class
    class _MinimumRole(BasePermission):
        message = f"This needs the {Role(minimum).label.lower()} role or higher."

        def has_permission(self, request, view):
            return has_role(request, minimum)

    _MinimumRole.__name__ = f"MinimumRole_{minimum}"
    return _MinimumRole
