"""Writes of the reports app: the organisation's points rules, and the programme report's PDF
(asked for, produced in the background, e-mailed)."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from common import outbox
from tenancy.models import Organization
from tenancy.scoping import scopes_disabled, tenant_scope

from .models import PENDING_STATUSES, PointsRules, ProgrammeReport, ReportStatus
from .periods import Period

RULE_FIELDS = ("per_share", "per_unique_click", "per_lead", "per_revenue_unit")


class RulesError(ValueError):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))
        self.errors = errors


def update_points_rules(organization_id: int, **values: Decimal) -> PointsRules:
    """Change some of the rules (the others stay); RulesError({field: [message]}) if a value
    is negative or has too many digits. Points are computed from events when read, so new
    rules apply to every period at once (nothing to recompute)."""
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise RulesError({name: ["Not a points rule."] for name in sorted(unknown)})
    with transaction.atomic():
        rules, _ = PointsRules.objects.select_for_update().get_or_create(organization_id=organization_id)
        for name, value in values.items():
            setattr(rules, name, value)
        try:
            rules.full_clean(exclude=["organization"])
        except ValidationError as error:
            raise RulesError(error.message_dict) from None
        rules.save()
    return rules


# --- The programme report (PDF) -----------------------------------------------------------------------
#
# A manager asks for the PDF of a period (request_programme_report): a ProgrammeReport row, queued,
# and in the same transaction an outbox event whose handler queues the task (so a broker that is
# down when the manager asks only delays it: the outbox retries until the task is queued). The task
# (reports.tasks.produce_programme_report) claims the row (queued → running, a conditional UPDATE:
# a second delivery of the task does nothing), renders the PDF (reports.pdf), stores it through
# Django's default storage under an unguessable name in the organisation's folder, and marks it
# ready — with, in that transaction, one outbox e-mail event per user who asked to be e-mailed.
# Asking again for a period whose report is queued or running joins that report (a partial unique
# constraint makes this hold under concurrent requests too). A report still "running" after
# STALE_AFTER had its worker die under it: it is marked failed when the period is asked for again.

REQUESTED_TOPIC = "reports.programme_report.requested"
EMAIL_TOPIC = "reports.programme_report.email"
PRODUCE_TASK = "reports.tasks.produce_programme_report"  # by name: the tasks module imports this one
STALE_AFTER = timedelta(minutes=15)
MAX_FAILURE_LENGTH = 500

log = logging.getLogger(__name__)


def request_programme_report(organization: Organization, user, period: Period, *,
                             email: bool = False) -> tuple[ProgrammeReport, bool]:
    """Ask for the PDF of `period`: (the report, True) when a new one is queued, (the report
    already queued or running for the same period, False) otherwise — `user` then joins its
    e-mail list if `email`. Call inside the organisation's scope."""
    fail_stale_reports(organization.pk)
    with transaction.atomic():
        existing = _pending(organization.pk, period)
        if existing is not None:
            return _join(existing, user, email), False
        try:
            with transaction.atomic():
                report = ProgrammeReport.objects.create(
                    organization=organization, period_key=period.key, period_start=period.start,
                    period_end=period.end, requested_by=user, email_user_ids=[user.pk] if email else [])
        except IntegrityError:  # a concurrent request for the same period was first
            existing = _pending(organization.pk, period)
            if existing is None:
                raise
            return _join(existing, user, email), False
        outbox.emit(REQUESTED_TOPIC, key=f"programme-report:{report.public_id}", organization_id=organization.pk,
                    payload={"report": report.pk})
    return report, True


def _pending(organization_id: int, period: Period) -> ProgrammeReport | None:
    return (ProgrammeReport.objects.select_for_update()
            .filter(organization_id=organization_id, period_start=period.start, period_end=period.end,
                    status__in=PENDING_STATUSES).first())


def _join(report: ProgrammeReport, user, email: bool) -> ProgrammeReport:
    if email and user.pk not in report.email_user_ids:
        report.email_user_ids = [*report.email_user_ids, user.pk]
        report.save(update_fields=["email_user_ids"])
    return report


def fail_stale_reports(organization_id: int | None = None, now=None) -> int:
    """Mark failed the reports whose production started more than STALE_AFTER ago and never
    finished (the worker died under them), so the period can be asked for again: those of one
    organisation (in its scope), or of every organisation (None: the beat's sweep)."""
    now = now or timezone.now()
    stale = {"status": ReportStatus.RUNNING, "started_at__lt": now - STALE_AFTER}
    if organization_id is None:
        with scopes_disabled():
            queryset = ProgrammeReport.objects.filter(**stale)
            return _fail_stale(queryset, now)
    return _fail_stale(ProgrammeReport.objects.filter(organization_id=organization_id, **stale), now)


def _fail_stale(queryset, now) -> int:
    return queryset.update(status=ReportStatus.FAILED, finished_at=now,
                           failure="Production stopped before it finished (the worker was restarted); "
                                   "ask for it again.")


@outbox.register(REQUESTED_TOPIC)
def _queue_production(event) -> None:
    """Queue the task (raises while the broker is down: the outbox retries with back-off)."""
    from celery import current_app

    report_id = int(event.payload["report"])
    with tenant_scope(event.organization_id):
        if not ProgrammeReport.objects.filter(pk=report_id, status=ReportStatus.QUEUED).exists():
            return  # produced (or failed) already
    current_app.send_task(PRODUCE_TASK, args=[event.organization_id, report_id])


def storage_name(organization_id: int) -> str:
    """Where a report's PDF goes: the organisation's folder, a random name nobody can guess."""
    return f"programme-reports/org-{organization_id}/{secrets.token_urlsafe(24)}.pdf"


def produce_programme_report(organization_id: int, report_id: int) -> bool:
    """Build and store the PDF of a queued report (inside the organisation's scope); True when
    this call made it ready. A report that isn't queued any more (made by another delivery of
    the task) is left alone; one that can't be made is marked failed with the reason."""
    from . import pdf  # WeasyPrint (and Pango) only where PDFs are made

    claimed = (ProgrammeReport.objects.filter(pk=report_id, organization_id=organization_id,
                                              status=ReportStatus.QUEUED)
               .update(status=ReportStatus.RUNNING, started_at=timezone.now()))
    if not claimed:
        return False
    report = ProgrammeReport.objects.select_related("organization").get(pk=report_id)
    organization = report.organization
    period = Period(report.period_start, report.period_end, organization.tzinfo, report.period_key)
    step = "made"
    try:
        data = pdf.render_pdf(organization, period)
        step = "stored"
        name = default_storage.save(storage_name(organization_id), ContentFile(data))
    except Exception as error:  # noqa: BLE001 - whatever it was, the manager sees why
        log.exception("Programme report %s of organisation %s could not be %s", report.public_id, organization_id,
                      step)
        ProgrammeReport.objects.filter(pk=report_id, status=ReportStatus.RUNNING).update(
            status=ReportStatus.FAILED, failure=failure_reason(step, error), finished_at=timezone.now())
        return False
    with transaction.atomic():
        report = ProgrammeReport.objects.select_for_update().filter(pk=report_id,
                                                                    status=ReportStatus.RUNNING).first()
        if report is not None:
            report.status, report.file, report.size = ReportStatus.READY, name, len(data)
            report.finished_at, report.failure = timezone.now(), ""
            report.save(update_fields=["status", "file", "size", "finished_at", "failure"])
            for user_id in report.email_user_ids:
                outbox.emit(EMAIL_TOPIC, key=f"programme-report-email:{report.public_id}:{user_id}",
                            organization_id=organization_id, payload={"report": report.pk, "user": user_id})
    if report is None:  # marked failed as stale meanwhile: its file is nobody's
        default_storage.delete(name)
        return False
    return True


def failure_reason(step: str, error: Exception) -> str:
    """What the manager reads: which step failed and the kind of error, without the server's
    paths or internals (the log has the traceback)."""
    what = getattr(error, "strerror", None) or type(error).__name__
    return (f"The PDF could not be {step} ({what}); the error is in the server's log. "
            "Ask for it again, or tell your administrator if it fails again.")[:MAX_FAILURE_LENGTH]


@outbox.register(EMAIL_TOPIC)
def _email_programme_report(event) -> None:
    """Tell one user that the report they asked for is ready, with the link to download it (they
    sign in to download it: the PDF is not attached). A user who is no longer a manager of the
    organisation gets nothing."""
    from django.contrib.auth import get_user_model

    from .digest import is_manager

    with tenant_scope(event.organization_id):
        report = (ProgrammeReport.objects.select_related("organization")
                  .filter(pk=int(event.payload["report"]), status=ReportStatus.READY).first())
        user = get_user_model().objects.filter(pk=int(event.payload["user"])).first()
        if report is None or user is None or not user.email or not is_manager(event.organization_id, user):
            return
        organization = report.organization
        period = Period(report.period_start, report.period_end, organization.tzinfo)  # dates, not "this month"
        path = reverse("report_pdf_download", kwargs={"org_slug": organization.slug, "public_id": report.public_id})
        listing = reverse("report_pdfs", kwargs={"org_slug": organization.slug})
        context = {"organization": organization, "user": user, "report": report, "period_label": period.label,
                   "download_url": f"{settings.SITE_URL}{path}", "reports_url": f"{settings.SITE_URL}{listing}"}
        message = EmailMultiAlternatives(
            subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}Programme report {period.label} is ready",
            body=render_to_string("reports/email/programme_report.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email],
            headers={"Auto-Submitted": "auto-generated"})
        message.attach_alternative(render_to_string("reports/email/programme_report.html", context), "text/html")
        message.send()
