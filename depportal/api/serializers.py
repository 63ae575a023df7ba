"""The base of every API request body, so that its meaning does not depend on its content type."""

from rest_framework import serializers
from rest_framework.fields import ListField, MultipleChoiceField, empty
from rest_framework.relations import ManyRelatedField
from rest_framework.utils import html

_LIST_FIELDS = (ListField, ManyRelatedField, MultipleChoiceField)


class InputSerializer(serializers.Serializer):
    """An API input: a form-encoded or multipart body reads exactly like the same JSON body.

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
