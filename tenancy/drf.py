"""REST framework hardening shared by every API view (REST_FRAMEWORK in config/settings.py).

* `SafeJSONParser`: JSON nested deeper than MAX_JSON_DEPTH levels (a RecursionError in the
  decoder, or a jsonb PostgreSQL would take but we'd choke on), strings with NUL characters
  (PostgreSQL refuses them in text and jsonb) and lone surrogates (not encodable as UTF-8)
  are a 400 parse error, not a 500.
* `exception_handler`: a body over DATA_UPLOAD_MAX_MEMORY_SIZE is 413 and too many form fields
  400, each as JSON {"detail": …}, rather than Django's bare HTML 400 page; a 404 from
  get_object_or_404 says "Not found." rather than naming our model ("No AmbassadorGroup matches
  the given query."), like the 404 of an organisation or URL that doesn't exist."""

import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.views import exception_handler as drf_exception_handler

MAX_JSON_DEPTH = 32
GENERIC_404 = re.compile(r"No \w+ matches the given query\.")  # django.shortcuts.get_object_or_404's text


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep.") from None
        problem = json_problem(data)
        if problem:
            raise exceptions.ParseError(f"JSON parse error - {problem}")
        return data


def json_problem(data, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """What is wrong with parsed JSON for us, or None. Iterative: no recursion on hostile depth."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            strings = (value,)
        elif isinstance(value, dict):
            if depth > max_depth:
                return f"nested more than {max_depth} levels deep."
            strings = tuple(value)
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            if depth > max_depth:
                return f"nested more than {max_depth} levels deep."
            strings = ()
            stack.extend((item, depth + 1) for item in value)
        else:
            continue
        for text in strings:
            if "\x00" in text:
                return "text can't contain NUL (\\u0000) characters."
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return "text contains a lone surrogate (\\ud800–\\udfff), which is not valid Unicode."
    return None


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        limit_kb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
        exc = PayloadTooLarge(f"Request body too large: at most {limit_kb} kB (files: use a file upload).")
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        exc = exceptions.ParseError(str(exc))
    elif isinstance(exc, Http404) and GENERIC_404.fullmatch(str(exc)):
        exc = exceptions.NotFound()
    return drf_exception_handler(exc, context)
