"""The list's markup drawn in Python is the markup its template loops drew (the old loops are kept here)."""

import pytest
from django.template import Context, Template

from devices.columns import BY_KEY, COLUMNS, DEFAULT_COLUMNS
from devices.rendering import column_choices_html, column_headers_html

_HEADERS = Template(
    '{% for column, link in columns %}<th aria-sort="{% if column.key == sort_key %}{% if sort_descending %}'
    'descending{% else %}ascending{% endif %}{% else %}none{% endif %}"><a href="{{ link }}" title="Sort by '
    '{{ column.label|lower }}">{{ column.heading }}{% if column.key == sort_key %}{% if sort_descending %} ▼'
    "{% else %} ▲{% endif %}{% endif %}</a></th>{% endfor %}"
)
_CHOICES = Template(
    '{% for column in all_columns %}<label><input type="checkbox" name="columns" value="{{ column.key }}" '
    "{% if column.key in column_keys %}checked{% endif %} {% if column.key == 'serial_number' %}disabled"
    "{% endif %}> {{ column.label }}</label>{% endfor %}"
)


@pytest.mark.parametrize("keys", [DEFAULT_COLUMNS, [c.key for c in COLUMNS], ["serial_number", "op_date"]])
@pytest.mark.parametrize("sort_key", ["serial_number", "op_date", "token", "color"])
@pytest.mark.parametrize("descending", [False, True])
def test_headings_and_column_choices_are_the_templates(keys, sort_key, descending):
    columns = [(BY_KEY[key], f"?search=a&b=<'\">&ordering={key}") for key in keys]
    old = _HEADERS.render(Context({"columns": columns, "sort_key": sort_key, "sort_descending": descending}))
    assert column_headers_html(columns, sort_key=sort_key, descending=descending) == old
    old = _CHOICES.render(Context({"all_columns": COLUMNS, "column_keys": set(keys)}))
    assert column_choices_html(COLUMNS, set(keys)) == old
