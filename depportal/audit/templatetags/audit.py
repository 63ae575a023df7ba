from django import template

from depportal.audit import display

register = template.Library()


@register.filter
def audit_label(value: str) -> str:
    return display.label(value)


@register.inclusion_tag("audit/_changes.html")
def audit_changes(event):
    return {"rows": display.change_rows(event.action, event.changes)}
