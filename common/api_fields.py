"""Request body fields that take JSON as the schema types it, without REST framework's coercion.

DRF's CharField turns a JSON number or boolean into text (`{"name": 12}` is the name "12"), its
numeric and boolean fields read text ("12", "yes"), its UUIDField a number, and its
ManyRelatedField iterates whatever it is given, so an object where a list of ids is expected is
read as the list of its keys. The schema says which JSON type: anything else is a 400 naming the
field. Every serializer that reads a body uses these: `StrictModelSerializer` maps the model's
fields to them and its relations to `IdListField`; hand-declared fields use `StrictCharField`,
`StrictDecimalField` and the like, and relation fields with `many=True` derive from
`StrictRelatedField`. The API's bodies are JSON (DEFAULT_PARSER_CLASSES); the CSV import's
multipart form is text, read with DRF's own fields."""

from collections.abc import Mapping

from django.db import models
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS, ManyRelatedField

NOT_A_STRING = "Not a valid string."


class StrictStringMixin:
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictCharField(StrictStringMixin, serializers.CharField):
    default_error_messages = {"not_a_string": NOT_A_STRING}


class StrictSlugField(StrictStringMixin, serializers.SlugField):
    default_error_messages = {"not_a_string": NOT_A_STRING}


class StrictEmailField(StrictStringMixin, serializers.EmailField):
    default_error_messages = {"not_a_string": NOT_A_STRING}


class StrictURLField(StrictStringMixin, serializers.URLField):
    default_error_messages = {"not_a_string": NOT_A_STRING}


class StrictUUIDField(StrictStringMixin, serializers.UUIDField):
    """DRF's takes a JSON number as UUID(int=…): 12345 would be 00000000-0000-0000-0000-000000003039."""
    default_error_messages = {"not_a_string": "Must be a UUID string."}


class StrictDecimalField(StrictStringMixin, serializers.DecimalField):
    """Money and other exact decimals as strings ("12.50"), as the schema says: a JSON number may
    already have lost digits in the client's float."""
    default_error_messages = {"not_a_string": 'Send a decimal string, e.g. "12.50", not a JSON number.'}


class StrictBooleanField(serializers.BooleanField):
    """true or false: DRF's also takes "yes", "on", 1, "0"…"""
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: DRF's also takes "12" and 12.0."""
    default_error_messages = {"invalid": "A whole number (a JSON integer) is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class IdListField(ManyRelatedField):
    """A list of related objects: a JSON array, not an object (whose keys DRF would iterate)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            self.fail("not_a_list", input_type="object")
        return super().to_internal_value(data)


class StrictManyMixin:
    @classmethod
    def many_init(cls, *args, **kwargs):
        list_kwargs = {"child_relation": cls(*args, **kwargs)}
        list_kwargs.update({key: value for key, value in kwargs.items() if key in MANY_RELATION_KWARGS})
        return IdListField(**list_kwargs)


class StrictRelatedField(StrictManyMixin, serializers.RelatedField):
    pass


class StrictPrimaryKeyRelatedField(StrictManyMixin, serializers.PrimaryKeyRelatedField):
    pass


class StrictModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
        models.EmailField: StrictEmailField,
        models.URLField: StrictURLField,
        models.UUIDField: StrictUUIDField,
        models.DecimalField: StrictDecimalField,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
        models.BigIntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
    }
    serializer_related_field = StrictPrimaryKeyRelatedField
