import django_filters
from django import forms

from depportal.audit.models import AuditEvent


class AuditEventFilterSet(django_filters.FilterSet):
    """Filters shared by the audit log page and the API."""

    actor = django_filters.CharFilter(field_name="actor_name", lookup_expr="iexact", label="Actor")
    action = django_filters.CharFilter(lookup_expr="iexact")
    object_type = django_filters.CharFilter(lookup_expr="iexact", label="Object type")
    object_id = django_filters.CharFilter(label="Object id")
    since = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        label="From date",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__lte",
        label="To date",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "object_type", "object_id", "since", "until"]
