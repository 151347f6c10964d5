"""The CSV import of leads and sales on the REST API.

* /api/v1/o/<org_slug>/imports/ and imports/<id>/: for signed-in admins (session), like the
  other /api/v1/o/<slug>/ endpoints (which never take an API key: see tenancy.api_keys);
* `KeyImportListCreateView` / `KeyImportDetailView`: the same for an organisation API key, as
  machine endpoints without a slug (/api/v1/imports/, /api/v1/imports/<id>/, with
  /api/v1/track/… in tracking/api_urls.py's `key_urlpatterns`).

POST (multipart/form-data): kind (leads|sales), file, optional mapping (a JSON object of our
field → the file's column header; guessed from the headers when left out) → 202 with the
queued import; the rows are processed in the background: GET the import for its status,
counts and per-row errors. File-level problems are 400 (413 for a file over 5 MB) and
store nothing."""

import json

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from tenancy.api_keys import ApiKeyScopedView
from tenancy.models import Role
from tenancy.roles import MinimumRole

from ..models import ConversionImport
from ..services import imports
from .serializers import ImportCreateSerializer, ImportDetailSerializer, ImportSerializer


class FileTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The file is larger than {imports.MAX_FILE_BYTES // 1024 // 1024} MB."
    default_code = "file_too_large"


ERRORS = {400: OpenApiResponse(description="Bad kind, file or mapping: field messages; nothing is imported."),
          413: OpenApiResponse(description="The file is over 5 MB.")}


# --- shared behaviour ----------------------------------------------------------------------------------

class ImportApi:
    parser_classes = [MultiPartParser]  # a file upload: multipart/form-data only

    def organization(self):
        return self.request.auth.organization if self.request.auth is not None and hasattr(
            self.request.auth, "organization") else self.request.organization

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ConversionImport.objects.none()
        return (ConversionImport.objects.filter(organization=self.organization()).defer("content")
                .order_by("-created_at"))

    def create(self, request):
        serializer = ImportCreateSerializer(data=request.data)
        upload = request.data.get("file")
        if hasattr(upload, "size") and upload.size > imports.MAX_FILE_BYTES:
            raise FileTooLarge({"file": [f"The file is {upload.size / 1024 / 1024:.1f} MB; at most "
                                         f"{imports.MAX_FILE_BYTES // 1024 // 1024} MB can be imported at once. "
                                         "Split it into several files (each with the header line)."]})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        mapping = None
        if data.get("mapping", "").strip():
            try:
                mapping = json.loads(data["mapping"])
            except ValueError as error:
                raise serializers.ValidationError({"mapping": [f"Not valid JSON: {error}."]}) from None
        organization = self.organization()
        try:
            conversion_import = imports.submit_import(organization, request.user, data["kind"], data["file"].name,
                                                      data["file"].read(), mapping)
        except imports.ImportRefused as refused:
            if refused.too_large:
                raise FileTooLarge({refused.field: refused.messages}) from None
            raise serializers.ValidationError({refused.field: refused.messages}) from None
        body = ImportDetailSerializer(conversion_import, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


# --- signed-in admins: /api/v1/o/<org_slug>/imports/ ------------------------------------------------

class ImportListCreateView(ImportApi, generics.ListAPIView):
    """CSV imports of leads and sales exported from a CRM (admins). GET lists them, newest
    first; POST uploads a file (multipart) and queues its import."""

    serializer_class = ImportSerializer
    permission_classes = [MinimumRole(Role.ADMIN)]

    @extend_schema(operation_id="conversion_imports_create", request={"multipart/form-data": ImportCreateSerializer},
                   responses={202: ImportDetailSerializer, **ERRORS})
    def post(self, request, *args, **kwargs):
        return self.create(request)


class ImportDetailView(ImportApi, generics.RetrieveAPIView):
    """One import: status, counts and the per-row problems (line numbers as in the file)."""

    serializer_class = ImportDetailSerializer
    permission_classes = [MinimumRole(Role.ADMIN)]
    lookup_field = "public_id"


# --- organisation API keys: /api/v1/imports/ (machine endpoints) -----------------------------------

class KeyImportListCreateView(ImportApi, ApiKeyScopedView, generics.ListAPIView):
    """CSV imports with an organisation API key: GET lists them, newest first; POST uploads a
    file (multipart) and queues its import."""

    serializer_class = ImportSerializer

    @extend_schema(operation_id="key_conversion_imports_create",
                   request={"multipart/form-data": ImportCreateSerializer},
                   responses={202: ImportDetailSerializer, 401: OpenApiResponse(description="Bad API key."),
                              **ERRORS})
    def post(self, request, *args, **kwargs):
        return self.create(request)


class KeyImportDetailView(ImportApi, ApiKeyScopedView, generics.RetrieveAPIView):
    """One import (API key): status, counts and the per-row problems."""

    serializer_class = ImportDetailSerializer
    lookup_field = "public_id"
