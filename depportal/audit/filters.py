import django_filters
from django import forms

from depportal.audit.display import label
from depportal.audit.models import AuditEvent


class AuditEventFilterSet(django_filters.FilterSet):
    """Filters shared by the audit log page and the API."""

    actor = django_filters.CharFilter(field_name="actor_name", lookup_expr="iexact", label="Actor")
    action = django_filters.CharFilter(lookup_expr="iexact")
    object_type = django_filters.CharFilter(lookup_expr="iexact", label="Object type")
    object = django_filters.CharFilter(field_name="object_repr", lookup_expr="icontains", label="Object name")
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
        fields = ["actor", "action", "object_type", "object", "object_id", "since", "until"]

    def offer_choices(self, events) -> None:
        """Turn actor, action and object type into pickers of the values these (scoped) events hold."""
        for name, column, any_label in (
            ("actor", "actor_name", "Anyone"),
            ("action", "action", "Any action"),
            ("object_type", "object_type", "Any object"),
        ):
            values = events.order_by(column).values_list(column, flat=True).distinct()
            choices = [(value, value if name == "actor" else label(value)) for value in values]
            self.form.fields[name].widget = forms.Select(choices=[("", any_label), *choices])
        # Links from an object's page filter by its id; nobody types one.
        self.form.fields["object_id"].widget = forms.HiddenInput()
