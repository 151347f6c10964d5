"""The reports' Celery tasks (thin: the work is in reports.digest and reports.services)."""

from celery import shared_task

from tenancy.tasking import tenant_task

from . import digest, services


@shared_task(name="reports.tasks.send_due_digests")
def send_due_digests() -> int:
    """Every 15 minutes (beat): send the weekly and monthly digests that are due, platform-wide."""
    return digest.send_due_digests()


@tenant_task()
def produce_programme_report(organization_id: int, report_id: int) -> bool:
    """Build, store and mark ready one queued programme report (queued by the outbox handler of
    services.REQUESTED_TOPIC); False when it was done already or failed (its row says why)."""
    return services.produce_programme_report(organization_id, report_id)


@shared_task(name="reports.tasks.fail_stale_programme_reports")
def fail_stale_programme_reports() -> int:
    """Every 5 minutes (beat), platform-wide: programme reports whose worker died while making
    them are marked failed (the page says to ask again) instead of "being produced" for ever."""
    return services.fail_stale_reports()
