"""The API's paging (DEFAULT_PAGINATION_CLASS in config/settings.py REST_FRAMEWORK): ?limit= and
?offset= as REST framework's LimitOffsetPagination reads them, but checked rather than guessed.

DRF's own falls back to the default on a limit it can't read ("abc", "1.5", -1) and passes any
offset it can parse to the database, where 2^63 is a PostgreSQL "bigint out of range" (a 500).
Here both are whole numbers written in ASCII digits within their bounds, or a 400 naming the
parameter: {"limit": ["…"]}. The bounds are in the schema (minimum, maximum, default), so a
generated client knows them."""

import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 1000
# Far beyond any list we hold, far below bigint: OFFSET never overflows.
MAX_OFFSET = 10_000_000
_DIGITS = re.compile(r"[0-9]{1,20}")  # int() would also take " 5", "+5", "1_000" and other scripts' digits


def whole_number(params, name: str, *, minimum: int, maximum: int, default: int | None) -> int | None:
    """The query parameter `name` as an int in [minimum, maximum]; `default` when absent;
    ValidationError({name: [...]}) when present but anything else (empty or repeated included)."""
    if name not in params:
        return default
    raw = params.get(name)
    if len(params.getlist(name)) > 1 or not _DIGITS.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise ValidationError({name: [f"Must be a whole number from {minimum} to {maximum}."]})
    return int(raw)


class Pagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT
    limit_query_description = f"Number of results to return per page, 1–{MAX_LIMIT}."
    offset_query_description = f"The initial index from which to return the results, 0–{MAX_OFFSET}."

    def paginate_queryset(self, queryset, request, view=None):
        self._offset(request)  # a bad offset is refused before the count query, not after
        return super().paginate_queryset(queryset, request, view)

    def _limit(self, request) -> int:
        return whole_number(request.query_params, self.limit_query_param, minimum=1, maximum=MAX_LIMIT,
                            default=self.default_limit)

    def _offset(self, request) -> int:
        return whole_number(request.query_params, self.offset_query_param, minimum=0, maximum=MAX_OFFSET, default=0)

    def get_limit(self, request):
        return self._limit(request)

    def get_offset(self, request):
        return self._offset(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: {"minimum": 1, "maximum": MAX_LIMIT, "default": self.default_limit},
                  self.offset_query_param: {"minimum": 0, "maximum": MAX_OFFSET, "default": 0}}
        for parameter in parameters:
            parameter["schema"].update(bounds[parameter["name"]])
        return parameters
