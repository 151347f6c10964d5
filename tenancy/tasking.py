"""Celery tasks that work on one organisation take its id explicitly and enter its
scope on every run, so nothing leaks between tasks that share a worker thread."""

import functools
import logging

from celery import shared_task
from django.db import transaction
from kombu.exceptions import KombuError

from .scoping import tenant_scope

log = logging.getLogger(__name__)


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


def publish_after_commit(task, *args, recovery: str) -> None:
    """Queue `task` with `args` once the current transaction commits (its rows must be visible).
    What the task works on is stored by then, so a broker that is down or hung (publishing gives
    up after BROKER_SOCKET_TIMEOUT) must not turn the request that stored it into a 500: the
    failure is logged, with `recovery` saying what picks the work up later."""

    def publish() -> None:
        try:
            task.delay(*args)
        except (KombuError, OSError):
            log.warning("Could not queue %s%r (broker down?); %s", task.name, args, recovery, exc_info=True)

    transaction.on_commit(publish)
