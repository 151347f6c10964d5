"""A response's text, and the rows of a CSV export (streamed or not)."""

import csv
import io


def content(response) -> str:
    return (b"".join(response.streaming_content) if response.streaming else response.content).decode()


def csv_rows(response) -> list[dict]:
    """The rows of a CSV answer (a 200 of text/csv), by column name."""
    assert response.status_code == 200, content(response)
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(content(response).lstrip("\ufeff"))))


def parse_csv(response) -> list[dict]:
    """The rows of a streamed CSV export, by column name."""
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def without_units(rows: list[dict]) -> list[dict]:
    """CSV rows keyed by the column's name without the unit the report exports add
    ("revenue (EUR)" → "revenue", "roi (%)" → "roi", "leads (credited)" → "leads")."""
    return [{key.split(" (")[0]: value for key, value in row.items()} for row in rows]
