"""The programme report's PDF through the API (managers and up), under /api/v1/o/<slug>/reports/pdf/:

    GET  reports/pdf/               the organisation's newest reports and their status
    POST reports/pdf/               ask for one: {"period": "30d"} or {"period": "custom", "start": …, "end": …},
                                    "email": true to be e-mailed when it is ready; 202 (queued) or
                                    200 (a report of that period was already queued or running: joined)
    GET  reports/pdf/<public_id>/   one report: queued, running, ready (download_url) or failed (failure)

The PDF itself downloads from `download_url` (the reports page's download, same session). The
work is reports.services' (request_programme_report), as for the page."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_fields import StrictBooleanField
from tenancy.models import Role
from tenancy.roles import MinimumRole

from ..models import ProgrammeReport, ReportStatus
from ..periods import DEFAULT, PRESETS, PeriodError, period_for
from ..services import request_programme_report
from ..views.pdf import LISTED


class ProgrammeReportSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    status = serializers.ChoiceField(choices=ReportStatus.choices, read_only=True,
                                     help_text="queued → running → ready, or failed (see failure).")
    failure = serializers.CharField(read_only=True, help_text="Why it could not be produced; empty unless failed.")
    size = serializers.IntegerField(read_only=True, help_text="Bytes of the PDF (0 until ready).")
    download_url = serializers.SerializerMethodField(help_text="Where the PDF downloads (signed in), once ready.")

    class Meta:
        model = ProgrammeReport
        fields = ["id", "period_key", "period_start", "period_end", "status", "failure", "size", "created_at",
                  "started_at", "finished_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, report) -> str | None:
        if report.status != ReportStatus.READY:
            return None
        return reverse("report_pdf_download", kwargs={"org_slug": self.context["org_slug"],
                                                      "public_id": report.public_id})


class ProgrammeReportRequestSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=list(PRESETS.items()), default=DEFAULT,
                                     help_text="A preset ending today (the organisation's time zone), or custom.")
    start = serializers.DateField(required=False, help_text="First day of a custom period (YYYY-MM-DD).")
    end = serializers.DateField(required=False, help_text="Last day of a custom period (YYYY-MM-DD), included.")
    email = StrictBooleanField(default=False, help_text="E-mail me the download link when it is ready.")

    def validate(self, attrs):
        tz = self.context["organization"].tzinfo
        try:
            attrs["period_value"] = period_for(attrs["period"], tz, start=attrs.get("start"), end=attrs.get("end"))
        except PeriodError as error:
            raise serializers.ValidationError({"period": [str(error)]}) from None
        return attrs


class ProgrammeReportsView(APIView):
    """The organisation's programme reports (PDF), newest first; POST asks for one."""

    permission_classes = [MinimumRole(Role.MANAGER)]

    @extend_schema(operation_id="report_pdf_list", responses=ProgrammeReportSerializer(many=True))
    def get(self, request, org_slug):
        reports = ProgrammeReport.objects.filter(organization=request.organization).order_by("-created_at", "-pk")
        return Response(ProgrammeReportSerializer(reports[:LISTED], many=True, context={"org_slug": org_slug}).data)

    @extend_schema(operation_id="report_pdf_request", request=ProgrammeReportRequestSerializer,
                   responses={202: OpenApiResponse(ProgrammeReportSerializer, description="Queued."),
                              200: OpenApiResponse(ProgrammeReportSerializer,
                                                   description="A report of this period is already queued or being "
                                                               "produced: that one (you join its e-mail list).")})
    def post(self, request, org_slug):
        form = ProgrammeReportRequestSerializer(data=request.data, context={"organization": request.organization})
        form.is_valid(raise_exception=True)
        report, created = request_programme_report(request.organization, request.user,
                                                   form.validated_data["period_value"],
                                                   email=form.validated_data["email"])
        return Response(ProgrammeReportSerializer(report, context={"org_slug": org_slug}).data,
                        status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class ProgrammeReportView(APIView):
    """One programme report: its status, and where it downloads once ready."""

    permission_classes = [MinimumRole(Role.MANAGER)]

    @extend_schema(operation_id="report_pdf_detail", responses=ProgrammeReportSerializer)
    def get(self, request, org_slug, public_id):
        report = ProgrammeReport.objects.filter(organization=request.organization, public_id=public_id).first()
        if report is None:
            raise Http404("No such report.")
        return Response(ProgrammeReportSerializer(report, context={"org_slug": org_slug}).data)
