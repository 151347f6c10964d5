"""The programme report's PDF (managers and up): the page that asks for one (a period picker;
optionally "e-mail me when it's ready") and lists the organisation's reports with their status
(queued, being produced, ready, failed with the reason), and the download of a ready one. The
work is in reports.services (request, produce) and reports.pdf (the document)."""

from __future__ import annotations

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tenancy.models import Role
from tenancy.roles import role_required

from ..forms import ParamError, report_filter
from ..models import ProgrammeReport, ReportStatus
from ..periods import DEFAULT, PRESETS
from ..services import request_programme_report

LISTED = 20  # the newest reports shown on the page


@role_required(Role.MANAGER)
@require_http_methods(["GET", "POST"])
def programme_reports(request, org_slug):
    organization = request.organization
    status = 200
    error = None
    params = request.POST if request.method == "POST" else request.GET
    if request.method == "POST":
        try:
            period = report_filter(organization, {"period": request.POST.get("period") or DEFAULT,
                                                  "start": request.POST.get("start"),
                                                  "end": request.POST.get("end")}).period
        except ParamError as bad:
            error, status = bad.message, 400
        else:
            report, created = request_programme_report(organization, request.user, period,
                                                       email=request.POST.get("email") == "on")
            if created:
                messages.success(request, f"The report of {period.label} is being produced; it appears below when "
                                          "it is ready." + (" You will get an e-mail." if report.email_user_ids
                                                            and request.user.pk in report.email_user_ids else ""))
            else:
                messages.info(request, f"The report of {period.label} is already being produced; it appears below "
                                       "when it is ready.")
            return redirect("report_pdfs", org_slug=org_slug)
    reports = list(ProgrammeReport.objects.filter(organization=organization)
                   .select_related("requested_by").order_by("-created_at", "-pk")[:LISTED])
    return render(request, "reports/pdf.html", {
        "presets": PRESETS, "period_key": params.get("period") or DEFAULT, "start": params.get("start", ""),
        "end": params.get("end", ""), "email": params.get("email") == "on", "error": error, "reports": reports,
        "pending": any(report.is_pending for report in reports), "time_zone": organization.time_zone,
    }, status=status)


@role_required(Role.MANAGER)
def programme_report_download(request, org_slug, public_id):
    report = (ProgrammeReport.objects.filter(organization=request.organization, public_id=public_id,
                                             status=ReportStatus.READY).exclude(file="").first())
    if report is None:
        raise Http404("No such report, or it isn't ready.")
    try:
        handle = default_storage.open(report.file, "rb")
    except FileNotFoundError:
        raise Http404("The report's file is gone; ask for it again.") from None
    name = f"programme-report-{request.organization.slug}-{report.period_start:%Y%m%d}-{report.period_end:%Y%m%d}.pdf"
    return FileResponse(handle, as_attachment=True, filename=name, content_type="application/pdf")
