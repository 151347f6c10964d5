"""The one way a service refuses input, and the one place per HTTP layer where that becomes a field error.

A service (campaigns.services, ambassadors.services.groups, …) raises `ServiceError(field, message)`,
or its app's subclass of it, for input it refuses: a slug another campaign has, a group name already
taken. `field` names the input field at fault (None: the input as a whole); `code`, when given, is a
machine-readable reason. The HTTP layers never restate the rule or its message:

* forms: `with form_errors(form): …` — a ServiceError inside becomes `form.add_error(field, message)`
  (`add_form_error` for one in hand, such as each of several problems a service lists);
* DRF: `with api_errors(): …` — it becomes a 400 `{field: [message]}` (`non_field_errors` for None).
  Inside a serializer's `validate_<field>`, where DRF files the error under that field itself, use
  `api_errors(in_field_validator=True)` (the 400 is then `{<field>: [message]}` all the same).
  Where the refusal is the state of things, not the input (a run already open, a redemption already
  decided, a status that can't follow the current one): `with conflict_errors(): …`, a 409
  `{"detail": message, "code": code}` — the same request may succeed another time."""

from collections.abc import Iterator
from contextlib import contextmanager

from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.settings import api_settings


class ServiceError(ValueError):
    """Input a service refuses; `field` names the offending field (None: not one field)."""

    def __init__(self, field: str | None, message: str, *, code: str | None = None):
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


def add_form_error(form, error: ServiceError) -> None:
    form.add_error(error.field, error.message)


@contextmanager
def form_errors(form) -> Iterator[None]:
    """A ServiceError raised inside becomes an error of `form` on its field; the block stops there."""
    try:
        yield
    except ServiceError as error:
        add_form_error(form, error)


@contextmanager
def api_errors(*, in_field_validator: bool = False) -> Iterator[None]:
    """A ServiceError raised inside becomes DRF's ValidationError (a 400) on its field."""
    try:
        yield
    except ServiceError as error:
        if in_field_validator:
            raise ValidationError([error.message]) from error
        raise ValidationError({error.field or api_settings.NON_FIELD_ERRORS_KEY: [error.message]}) from error


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Not possible in the current state."


TAKEN = "taken"  # the code of a refusal of a name or address another object holds


@contextmanager
def conflict_errors(*, fields: tuple[str, ...] = (), codes: tuple[str, ...] = (),
                    in_field_validator: bool = False) -> Iterator[None]:
    """A ServiceError raised inside about the input as a whole (field None), about one of `fields`
    (whose valid values depend on the state) or with one of `codes` (TAKEN) becomes a 409
    {"detail": message, "code": code}; another stays a 400 on its field, as with api_errors."""
    try:
        yield
    except ServiceError as error:
        if error.field is None or error.field in fields or (error.code and error.code in codes):
            raise Conflict({"detail": error.message, **({"code": error.code} if error.code else {})}) from error
        if in_field_validator:
            raise ValidationError([error.message]) from error
        raise ValidationError({error.field: [error.message]}) from error
