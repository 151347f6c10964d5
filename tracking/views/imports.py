"""Manage pages of the CSV import of leads and sales (admins): /o/<slug>/manage/imports/.

Upload (kind + file) → mapping step (the file's columns, a <select> per field pre-filled by
guess_mapping, a preview of the first rows) → confirm: the import is stored and queued, and
the browser goes to its page, which refreshes itself until the report is ready.

Between the upload and the confirmation nothing is stored: the file travels in the mapping
form, compressed and signed (for this organisation and user). A file too big to travel that
way (rare: CSV compresses well) is selected once more on the mapping step, and checked to be
the same file by its SHA-256."""

import base64
import binascii
import csv
import hashlib
import io
import zlib

from django import forms
from django.contrib import messages
from django.core import signing
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from common.csv_cells import safe_row
from tenancy.models import Role
from tenancy.roles import role_required

from ..models import ConversionImport, ImportKind, ImportStatus
from ..services import import_runs, imports

# Hidden form fields count against DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default).
PAYLOAD_MAX_CHARS = 2_000_000
LIST_LIMIT = 50


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportKind.choices, initial=ImportKind.LEADS, widget=forms.RadioSelect,
                             label="The file holds")
    file = forms.FileField(
        label="CSV file",
        help_text=f"Exported from your CRM, with a header line naming the columns; comma, semicolon or tab "
                  f"separated; UTF-8 (or Windows-1252); at most {imports.MAX_FILE_BYTES // 1024 // 1024} MB and "
                  f"{import_runs.MAX_ROWS:,} rows. You choose which column is which on the next step.")


def _signer(request) -> signing.Signer:
    return signing.Signer(salt=f"tracking.imports:{request.organization.pk}:{request.user.pk}")


def _pack(request, data: bytes) -> str:
    packed = base64.b64encode(zlib.compress(data, 6)).decode("ascii")
    if len(packed) > PAYLOAD_MAX_CHARS:
        return ""
    return _signer(request).sign(packed)


def _unpack(request, payload: str) -> bytes | None:
    try:
        packed = _signer(request).unsign(payload)
        inflater = zlib.decompressobj()
        data = inflater.decompress(base64.b64decode(packed), imports.MAX_FILE_BYTES + 1)
    except (signing.BadSignature, binascii.Error, zlib.error, ValueError):
        return None
    return data


def _read_upload(upload) -> bytes:
    if upload.size > imports.MAX_FILE_BYTES:
        return upload.read(imports.MAX_FILE_BYTES + 1)  # read_csv refuses it with the limit
    return upload.read()


def _mapping_page(request, *, kind, file_name, data, parsed, mapping, problems=(), status=200):
    labels_required = set(imports.REQUIRED[ImportKind(kind)])
    fields = [{"name": name, "label": label, "help": help_text, "selected": mapping.get(name, ""),
               "required": name in labels_required}
              for name, label, help_text in imports.fields_for(kind)]
    payload = _pack(request, data)
    return render(request, "tracking/imports_mapping.html", {
        "kind": ImportKind(kind), "file_name": file_name, "fields": fields,
        "headers": [h for h in parsed.headers if h], "all_headers": parsed.headers,
        "preview": parsed.preview(), "row_count": len(parsed.rows), "encoding": parsed.encoding,
        "delimiter": parsed.delimiter_name, "payload": payload, "sha256": hashlib.sha256(data).hexdigest(),
        "previous": imports.previous_imports_of(request.organization, data), "problems": problems,
        "identity_fields": imports.LEAD_IDENTITY if kind == ImportKind.LEADS else (),
    }, status=status)


def _list_page(request, form, status=200):
    imports_list = (ConversionImport.objects.select_related("created_by").order_by("-created_at")
                    .defer("content")[:LIST_LIMIT])
    return render(request, "tracking/imports.html", {"form": form, "imports": imports_list}, status=status)


@role_required(Role.ADMIN)
def import_list(request, org_slug):
    """Past imports and the upload form; POST step=upload shows the mapping step, POST
    step=confirm stores and queues the import."""
    if request.method != "POST":
        return _list_page(request, UploadForm())
    if request.POST.get("step") == "confirm":
        return _confirm(request, org_slug)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    upload = form.cleaned_data["file"]
    kind = form.cleaned_data["kind"]
    data = _read_upload(upload)
    try:
        parsed = imports.read_csv(data)
    except imports.ImportRefused as refused:
        form.add_error("file", refused.messages)
        return _list_page(request, form, status=413 if refused.too_large else 400)
    return _mapping_page(request, kind=kind, file_name=upload.name, data=data, parsed=parsed,
                         mapping=imports.guess_mapping(kind, parsed.headers))


def _confirm(request, org_slug):
    kind = request.POST.get("kind", "")
    file_name = request.POST.get("file_name", "")[:255]
    if kind not in ImportKind.values:
        messages.error(request, "Choose what the file holds (leads or sales) and upload it again.")
        return redirect("conversion_imports", org_slug=org_slug)
    data = None
    if request.POST.get("payload"):
        data = _unpack(request, request.POST["payload"])
    elif "file" in request.FILES:
        data = _read_upload(request.FILES["file"])
        expected = request.POST.get("sha256", "")
        if expected and hashlib.sha256(data).hexdigest() != expected:
            messages.error(request, "That isn't the file you uploaded first; upload the file again.")
            return redirect("conversion_imports", org_slug=org_slug)
    if data is None:
        messages.error(request, "The uploaded file was lost on the way (or the form is too old); "
                                "upload it again.")
        return redirect("conversion_imports", org_slug=org_slug)
    mapping = {name: request.POST.get(f"map_{name}", "") for name, _, _ in imports.fields_for(kind)}
    try:
        conversion_import = imports.submit_import(request.organization, request.user, kind, file_name, data,
                                                  mapping)
    except imports.ImportRefused as refused:
        try:
            parsed = imports.read_csv(data)
        except imports.ImportRefused:
            messages.error(request, " ".join(refused.messages))
            return redirect("conversion_imports", org_slug=org_slug)
        return _mapping_page(request, kind=kind, file_name=file_name, data=data, parsed=parsed,
                             mapping=imports.clean_mapping(mapping), problems=refused.messages, status=400)
    messages.success(request, f"Import of {file_name or 'the file'} queued: the report below fills in as the "
                              "rows are processed.")
    return redirect("conversion_import_detail", org_slug=org_slug, public_id=conversion_import.public_id)


def _error_rows(conversion_import):
    labels = {name: label for name, label, _ in imports.fields_for(conversion_import.kind)}
    labels["row"] = "Whole line"
    mapping = conversion_import.mapping or {}
    for error in conversion_import.errors:
        name = error.get("field", "")
        yield {**error, "label": labels.get(name, name), "column": mapping.get(name, "")}


@role_required(Role.ADMIN)
def import_detail(request, org_slug, public_id):
    conversion_import = get_object_or_404(ConversionImport.objects.select_related("created_by"),
                                          public_id=public_id)
    labels = {name: label for name, label, _ in imports.fields_for(conversion_import.kind)}
    in_progress = conversion_import.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
    processed = (conversion_import.rows_created + conversion_import.rows_updated + conversion_import.rows_unchanged
                 + conversion_import.rows_failed)
    return render(request, "tracking/imports_detail.html", {
        "imp": conversion_import, "errors": list(_error_rows(conversion_import)), "in_progress": in_progress,
        "processed": processed,
        "mapping": [(labels.get(name, name), header) for name, header in conversion_import.mapping.items()],
    })


@require_POST
@role_required(Role.ADMIN)
def import_rerun(request, org_slug, public_id):
    """Run a finished import again (after the leads a sales file refers to were imported, say):
    it recomputes the report and creates nothing twice."""
    conversion_import = get_object_or_404(ConversionImport, public_id=public_id)
    if imports.rerun_import(request.organization, conversion_import):
        messages.success(request, "Import queued again.")
    else:
        messages.info(request, "This import is already queued or running.")
    return redirect("conversion_import_detail", org_slug=org_slug, public_id=public_id)


@role_required(Role.ADMIN)
def import_rejected(request, org_slug, public_id):
    """The rejected lines as a CSV file in the upload's own columns and delimiter, with a
    "Problem" column: fix them and upload this file again (the extra column is ignored)."""
    conversion_import = get_object_or_404(ConversionImport, public_id=public_id)
    problems: dict[int, list[str]] = {}
    for error in conversion_import.errors:
        if error.get("line"):
            column = conversion_import.mapping.get(error.get("field", ""), "")
            problems.setdefault(error["line"], []).append(f"{column}: {error['message']}" if column
                                                          else error["message"])
    parsed = import_runs.parse_text(conversion_import.content)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=parsed.delimiter)
    writer.writerow(safe_row([*parsed.headers, "Problem"]))
    for line, values in parsed.rows:
        if line in problems:
            writer.writerow(safe_row([*(values + [""] * len(parsed.headers))[:len(parsed.headers)],
                                      " | ".join(problems[line])]))
    stem = (conversion_import.file_name.rsplit(".", 1)[0] or "import") if conversion_import.file_name else "import"
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    safe_stem = "".join(c for c in stem if c.isalnum() or c in "-_ ")[:80] or "import"
    response["Content-Disposition"] = f'attachment; filename="{safe_stem}-rejected.csv"'
    return response
