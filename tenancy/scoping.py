"""Tenant scoping, built on django-scopes: a query on a tenant model outside a scope
raises ScopeError instead of returning every organisation's rows (fail closed).

`tenant_scope(org)` is the one way in. It refuses None, because django-scopes treats
a None scope value as "no filter", which is exactly the leak we exist to prevent."""

from contextlib import contextmanager

from django.db import models
from django_scopes import ScopedManager, scope, scopes_disabled
from django_scopes.exceptions import ScopeError

__all__ = ["ScopeError", "TenantManager", "TenantModel", "scopes_disabled", "tenant_scope"]


def TenantManager(manager_class=models.Manager):  # noqa: N802 - mirrors ScopedManager
    return ScopedManager(_manager_class=manager_class, organization="organization")


@contextmanager
def tenant_scope(organization):
    """Enter the scope of one organisation (an Organization or its id)."""
    organization_id = getattr(organization, "pk", organization)
    if organization_id is None:
        raise ScopeError("tenant_scope() needs an organisation, not None.")
    with scope(organization=organization_id):
        yield


class TenantModel(models.Model):
    """Base of every tenant-owned model: an indexed organisation and a scoped manager."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=True)

    objects = TenantManager()

    class Meta:
        abstract = True
