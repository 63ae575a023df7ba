"""The base of every API request body, so that its meaning does not depend on its content type."""

from django.core.validators import MaxValueValidator
from rest_framework import serializers
from rest_framework.fields import ListField, MultipleChoiceField, empty
from rest_framework.relations import ManyRelatedField
from rest_framework.utils import html

from depportal.core.text import INVISIBLE_REFUSED, visible

_LIST_FIELDS = (ListField, ManyRelatedField, MultipleChoiceField)
# PostgreSQL's integer: a larger number is refused as input rather than failing in the database.
MAX_INTEGER = 2**31 - 1


def _visible_or_empty(value: str) -> None:
    if value and not visible(value):
        raise serializers.ValidationError(INVISIBLE_REFUSED)


class InputSerializer(serializers.Serializer):
    """An API input: a form-encoded or multipart body reads exactly like the same JSON body; integers are bounded
    and text must show (a name of zero-width spaces is refused).

    DRF reads form data as a browser form would send it: an absent checkbox is False and an absent list
    is empty. API clients leave a field out to keep it, so a PATCH naming only `name` would otherwise
    reset every boolean and list it left out (scope tags, Supervised...). Turning the form into a plain
    mapping first makes "absent" mean absent for every content type.
    """

    def __init__(self, instance=None, data=empty, **kwargs):
        if data is not empty and html.is_html_input(data):
            data = {
                key: data.getlist(key) if isinstance(self._declared_fields.get(key), _LIST_FIELDS) else data[key]
                for key in data
            }
        super().__init__(instance, data, **kwargs)

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field = getattr(field, "child", field)
            if isinstance(field, serializers.CharField):
                field.validators.append(_visible_or_empty)
            if isinstance(field, serializers.IntegerField) and field.max_value is None:
                field.max_value = MAX_INTEGER
                message = field.error_messages["max_value"].format(max_value=MAX_INTEGER)
                field.validators.append(MaxValueValidator(MAX_INTEGER, message=message))
        return fields
