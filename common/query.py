"""Query parameters read through a REST framework Serializer: the same object validates them and,
given to drf-spectacular as `extend_schema(parameters=[TheSerializer])`, documents them, so
what the schema says is what is checked. A value the schema doesn't allow, an empty one
included, is a 400 naming the parameter: {"scale": ["…"]}; a parameter left out takes the
field's default.

The fields are stricter than DRF's own on query strings: a whole number is ASCII digits (DRF's
IntegerField takes "1.0" and " 5"), a boolean is true/false/1/0 (DRF's takes "yes", "on", …)."""

import re

from rest_framework import serializers

_WHOLE = re.compile(r"-?[0-9]{1,20}")
TRUE, FALSE = ("true", "True", "1"), ("false", "False", "0")


class QueryIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data):
        if not isinstance(data, str) or not _WHOLE.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if data in TRUE:
            return True
        if data in FALSE:
            return False
        self.fail("invalid")


def read_query(serializer_class, request) -> dict:
    """The validated query parameters the serializer declares; ValidationError (a 400) otherwise.
    A parameter is repeated for a list field (ListField, MultipleChoiceField) only: given twice
    for a single value it is a 400, not "the last one wins"."""
    params = request.query_params
    fields = serializer_class().fields
    lists = {name for name, field in fields.items()
             if isinstance(field, serializers.ListField | serializers.MultipleChoiceField)}
    repeated = {name: ["Give this parameter once."] for name in fields
                if name not in lists and len(params.getlist(name)) > 1}
    if repeated:
        raise serializers.ValidationError(repeated)
    data = {name: params.getlist(name) if name in lists else params[name] for name in fields if name in params}
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
