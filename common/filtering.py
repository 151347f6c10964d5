"""The API's list filters (DEFAULT_FILTER_BACKENDS in config/settings.py REST_FRAMEWORK): a view's
django-filter FilterSet, read strictly. django-filter already answers 400 for a value its form
refuses ("Select a valid choice"), but it lets through what a form left empty would send: an
empty `?status=` or `?campaign=` is "no filter", and a boolean it can't read (`?mine=yes`) is
"unknown", i.e. no filter either. An integrator who wrote such a value meant something; the
schema says what is valid (an enum, a uuid, a date-time, a boolean), so anything else is a 400
naming the parameter as it is written in the query string (`earned_at_after`, not the filter's
`earned_at`). Free-text filters (CharFilter) may be empty: "" is a valid string. A parameter
that takes one value is given once.

Times are compared in UTC whatever offset they were written with: PostgreSQL refuses an offset
beyond ±15:59, which an ISO 8601 time may carry (1739-04-17T01:31+23:12 was a 500)."""

from datetime import UTC, datetime

from django import forms
from django_filters import rest_framework as filters
from django_filters.widgets import BooleanWidget, SuffixedMultiWidget
from rest_framework.exceptions import ValidationError

BOOLEAN_TEXT = ("true", "false", "True", "False", "1", "0")


def parameter_names(name: str, field) -> list[str]:
    """The query-string names a filter's form field reads."""
    widget = field.widget
    if isinstance(widget, SuffixedMultiWidget):
        return [widget.suffixed(name, suffix) for suffix in widget.suffixes]
    return [name]


def strict_errors(filterset) -> dict[str, list[str]]:
    """{parameter: [messages]} of everything wrong with the filter's query string; {} if nothing."""
    data, form, errors = filterset.data, filterset.form, {}
    for name, field in form.fields.items():
        free_text = type(filterset.filters[name]) is filters.CharFilter  # exactly: a UUID filter's field is text too
        names = [key for key in parameter_names(name, field) if key in data]
        for key in names:
            values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
            if len(values) > 1 and not isinstance(field, forms.MultipleChoiceField):
                errors[key] = ["Give this parameter once (the last value would win, the others be ignored)."]
            elif isinstance(field.widget, BooleanWidget) and any(value not in BOOLEAN_TEXT for value in values):
                errors[key] = ["Must be true or false."]
            elif not free_text and any(value.strip() == "" for value in values):
                errors[key] = ["May not be empty: leave the parameter out for no filter."]
        if name in form.errors and not any(key in errors for key in names):
            for key in names or [name]:
                errors[key] = list(form.errors[name])
    for name, messages in form.errors.items():
        if name not in form.fields:  # the form's own (non-field) errors
            errors[name] = list(messages)
    return errors


def in_utc(value):
    """An aware time in UTC, clamped to the representable range (9999-12-31T23:00-05:00 is past
    year 9999); a slice (a from/to range) of them likewise; anything else as it is."""
    if isinstance(value, slice):
        return slice(in_utc(value.start), in_utc(value.stop))
    if not isinstance(value, datetime) or value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return (datetime.max if value.year > 1 else datetime.min).replace(tzinfo=UTC)


class StrictFilterBackend(filters.DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        filterset.is_valid()
        errors = strict_errors(filterset)
        if errors:
            raise ValidationError(errors)
        cleaned = filterset.form.cleaned_data
        cleaned.update({name: in_utc(value) for name, value in cleaned.items()})
        return filterset.qs
