"""Streamed CSV downloads: rows are written as they are produced, so a 100,000-row table never
sits in memory as one string. Numbers go out as plain decimals ("1234.50"), dates as ISO;
text that a spreadsheet would run as a formula is neutralised (common.csv_cells)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse

from common.csv_cells import safe_row


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # a BOM, so Excel reads UTF-8 names correctly
        yield writer.writerow(safe_row(header))
        for row in rows:
            yield writer.writerow(safe_row("" if value is None else value for value in row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
