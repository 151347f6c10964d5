"""Celery tasks that work on one organisation take its id explicitly and enter its
scope on every run, so nothing leaks between tasks that share a worker thread."""

import functools

from celery import shared_task

from .scoping import tenant_scope


def tenant_task(**task_options):
    def decorator(func):
        @shared_task(name=f"{func.__module__}.{func.__name__}", **task_options)
        @functools.wraps(func)
        def task(organization_id: int, *args, **kwargs):
            if not isinstance(organization_id, int):
                raise TypeError("Tenant tasks take the organisation's id as their first argument.")
            with tenant_scope(organization_id):
                return func(organization_id, *args, **kwargs)

        return task

    return decorator
