"""A service's refusal (ServiceError) as a form's field error and as DRF's 400, each in one place."""

import pytest
from django import forms
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from common.service_errors import ServiceError, api_errors, form_errors


class NameForm(forms.Form):
    name = forms.CharField()


def refuse(field):
    raise ServiceError(field, "Taken.", code="taken")


def test_form_errors_puts_the_message_on_the_field_and_stops_the_block():
    form = NameForm({"name": "Sales"})
    assert form.is_valid()
    reached = []
    with form_errors(form):
        refuse("name")
        reached.append(True)
    assert not reached and form.errors == {"name": ["Taken."]} and "name" not in form.cleaned_data
    with form_errors(form):
        refuse(None)
    assert form.non_field_errors() == ["Taken."]


def test_api_errors_is_a_400_on_the_field():
    with pytest.raises(ValidationError) as raised, api_errors():
        refuse("name")
    assert raised.value.detail == {"name": ["Taken."]}
    with pytest.raises(ValidationError) as whole, api_errors():
        refuse(None)
    assert whole.value.detail == {"non_field_errors": ["Taken."]}


def test_inside_a_field_validator_drf_files_it_under_that_field():
    class NameSerializer(serializers.Serializer):
        name = serializers.CharField()
        other = serializers.IntegerField()

        def validate_name(self, value):
            with api_errors(in_field_validator=True):
                refuse("name")

    body = NameSerializer(data={"name": "Sales", "other": "x"})
    assert not body.is_valid()
    assert body.errors == {"name": ["Taken."], "other": ["A valid integer is required."]}
