"""Query helpers shared by the apps' selectors and services."""

from collections.abc import Iterator

from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

IN_CHUNK = 5_000  # values per IN (...) list outside PostgreSQL (SQLite's variable limit)


def where_in(model, field: str, values: list) -> Iterator[Q | RawSQL]:
    """Filters for `field IN values`, to run one query each. PostgreSQL: one, the values bound as a
    single array parameter (`= ANY(%s)`; Django binds an IN list value by value, which for the
    thousands of ids of a batch costs more than the query). Elsewhere: one per IN_CHUNK values."""
    if not values:
        return
    if connection.vendor != "postgresql":
        for start in range(0, len(values), IN_CHUNK):
            yield Q(**{f"{field}__in": values[start:start + IN_CHUNK]})
        return
    column = model._meta.pk.column if field == "pk" else model._meta.get_field(field).column
    yield RawSQL(f'"{model._meta.db_table}"."{column}" = ANY(%s)',  # noqa: S611 - the model's names, values bound
                 (list(values),), output_field=BooleanField())
