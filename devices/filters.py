"""The one device filter: the console list, its export and bulk actions, and the REST API all use it."""

import copy
from functools import cache
from types import MappingProxyType

import django_filters
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q, QuerySet
from django.forms.utils import flatatt
from django.http import QueryDict
from django.utils.choices import BaseChoiceIterator
from django.utils.html import format_html
from django_filters.constants import EMPTY_VALUES
from django_filters.filters import QuerySetRequestMixin
from django_filters.widgets import DateRangeWidget

from depportal.accounts.scoping import scope_of
from depportal.core.db import compiled_rows
from devices.models import ProfileStatus
from devices.rendering import options_html
from tokens.models import EnrollmentProgramToken
from tokens.selectors import tokens_in

FAMILIES = [
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("iPod", "iPod"),
    ("Mac", "Mac"),
    ("AppleTV", "Apple TV"),
    ("Vision", "Apple Vision"),
]
# Apple's device_family values as people write them ("AppleTV" is Apple's key, "Apple TV" the product).
FAMILY_LABELS = dict(FAMILIES)
OS_CHOICES = [
    ("iOS", "iOS"),
    ("iPadOS", "iPadOS"),
    ("OSX", "macOS"),
    ("tvOS", "tvOS"),
    ("visionOS", "visionOS"),
    ("watchOS", "watchOS"),
]
# The left navigation's platform entries: Apple reports the family per device.
PLATFORMS = {
    "ios": ("iOS/iPadOS", ["iPhone", "iPad", "iPod"]),
    "macos": ("macOS", ["Mac"]),
    "tvos": ("tvOS", ["AppleTV"]),
    "visionos": ("visionOS", ["Vision"]),
}


def platform_for_family(device_family: str) -> str | None:
    """The profile platform of an Apple device family (None when Apple reported none we know)."""
    for platform, (_, families) in PLATFORMS.items():
        if device_family in families:
            return platform
    return None


# The default list is what Apple assigns now and was not deleted here: the same devices the token's count counts.
STATES = [
    ("", "Assigned by Apple"),
    ("removed", "Removed at Apple"),
    ("deleted", "Deleted from the portal"),
    ("all", "All, including removed and deleted"),
]
NO_PROFILE = "none"


def _token_choices(scope: frozenset[int] | None) -> QuerySet:
    return tokens_in(scope).order_by("name").values_list("pk", "name")


def _tokens(request) -> QuerySet[EnrollmentProgramToken]:
    if request is None:
        return EnrollmentProgramToken.objects.none()
    return tokens_in(scope_of(request.user)).order_by("name")


class _Direct:
    """Renders in Python instead of through widget templates: the device list draws these on every view, and
    template rendering cost ten times the page's own work. The markup is the same as Django's templates."""

    def render(self, name, value, attrs=None, renderer=None):
        if isinstance(self, forms.Select):
            # Straight from the choices: Django's option dictionaries (optgroups) cost more than the markup.
            selected = {str(chosen) for chosen in self.format_value(value)}
            options = options_html((choice, label, str(choice) in selected) for choice, label in self.choices)
            return format_html(
                '<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)), options
            )
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else format_html(' value="{}"', widget["value"])
        return format_html('<input type="{}" name="{}"{}{}>', widget["type"], name, shown, flatatt(widget["attrs"]))


class Select(_Direct, forms.Select):
    pass


class SearchInput(_Direct, forms.SearchInput):
    pass


class TextInput(_Direct, forms.TextInput):
    pass


class DatePickers(DateRangeWidget):
    """A date range as two of the browser's date pickers (`NAME_after`, `NAME_before`)."""

    class DateInput(_Direct, forms.DateInput):
        input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.widgets = [self.DateInput() for _ in self.suffixes]


class _TokenChoices(BaseChoiceIterator):
    """The token select's options from one plain (pk, name) query, run only when the select is drawn (the API
    never draws it) and compiled once per scope; a model choice field would fetch whole tokens through a
    server-side cursor."""

    def __init__(self, request):
        self.request = request

    def __iter__(self):
        yield "", "All tokens"
        if self.request is not None:
            yield from compiled_rows(_token_choices, scope_of(self.request.user))


class _SharedFields(dict):
    """A form class's fields, of which each form copies only those it changes.

    Django deep-copies every field (widget, choices, validators) for each form so that a form may change its own;
    for the device filters that copy was most of the cost of building the form, on every list page and API call.
    The filter form changes only the choices of `copied` (the viewer's tokens and profiles); the other fields are
    read, never written, and every form shares them.
    """

    def __init__(self, fields, copied):
        super().__init__(fields)
        self.copied = frozenset(copied)

    def __deepcopy__(self, memo):
        return {name: copy.deepcopy(field, memo) if name in self.copied else field for name, field in self.items()}


class DeviceFilterForm(forms.Form):
    """The console's filter bar: its controls, in order, with the list's ids (`f-NAME`)."""

    bar = ("search", "token", "profile_status", "profile", "device_family", "os", "state")
    more = ("assigned_by", "assigned", "changed", "added")
    # The only fields a form changes (offer_tokens, offer_profiles): see _SharedFields.
    per_request = ("token", "profile")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, auto_id="f-%s", label_suffix="", **kwargs)

    def offer_tokens(self, request) -> None:
        """The tokens the Token select offers: the viewer's, read when the select is drawn."""
        self.fields["token"].widget.choices = _TokenChoices(request)

    def offer_profiles(self, profiles) -> None:
        """The profiles the Profile select offers: (pk, label) pairs the viewer may see."""
        self.fields["profile"].widget.choices = [("", "Any"), (NO_PROFILE, "None"), *profiles]

    def bar_fields(self):
        return [self[name] for name in self.bar]

    def more_is_set(self) -> bool:
        """Whether a filter under "More filters" has a value, so the page opens that section."""
        values = [self[name].value() for name in self.more]
        return any(any(value) if isinstance(value, list) else value for value in values)

    def more_controls(self):
        """(id, label, control) for each input under "More filters": a date range is two, "from" and "to"."""
        for name in self.more:
            field = self[name]
            widget = field.field.widget
            if not isinstance(widget, DateRangeWidget):
                yield field.id_for_label, field.label, field.as_widget()
                continue
            pickers = zip(widget.widgets, widget.suffixes, field.value() or [None, None], strict=True)
            for index, (picker, suffix, value) in enumerate(pickers):
                control_id = f"f-{name}-{suffix}"
                label = f"{field.label} from" if index == 0 else "to"
                name_suffixed = widget.suffixed(field.html_name, suffix)
                yield control_id, label, picker.render(name_suffixed, value, {"id": control_id})


class DeviceFilter(django_filters.FilterSet):
    """Search and filters of the device list; devices removed at Apple or deleted here only show when asked for."""

    search = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        widget=SearchInput(attrs={"placeholder": "Serial number, asset tag or description"}),
    )
    token = django_filters.ModelChoiceFilter(queryset=_tokens, label="Token", widget=Select)
    serial_number = django_filters.CharFilter(method="filter_serial", label="Serial number")
    serial_number__startswith = django_filters.CharFilter(method="filter_serial_prefix", label="Serial number starts")
    profile_status = django_filters.ChoiceFilter(
        choices=ProfileStatus.choices,
        label="Apple profile status",
        empty_label="Any",
        widget=Select(attrs={"id": "f-status"}),
    )
    # Any text is accepted (a profile the viewer cannot see lists nothing); the console offers a select.
    profile = django_filters.CharFilter(method="filter_profile", label="Profile assigned here", widget=Select)
    device_family = django_filters.ChoiceFilter(
        choices=FAMILIES, label="Device family", empty_label="Any", widget=Select(attrs={"id": "f-family"})
    )
    platform = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in PLATFORMS.items()], method="filter_platform", label="Platform"
    )
    os = django_filters.ChoiceFilter(choices=OS_CHOICES, label="OS", empty_label="Any", widget=Select)
    assigned_by = django_filters.CharFilter(
        field_name="device_assigned_by",
        label="Assigned to the server by",
        widget=TextInput(attrs={"id": "f-by"}),
    )
    assigned = django_filters.DateFromToRangeFilter(
        field_name="device_assigned_date", label="Assigned to the server", widget=DatePickers
    )
    changed = django_filters.DateFromToRangeFilter(field_name="op_date", label="Last Apple change", widget=DatePickers)
    added = django_filters.DateFromToRangeFilter(field_name="first_seen_at", label="First synced", widget=DatePickers)
    # `active` names the default explicitly (API clients that send it keep working).
    state = django_filters.ChoiceFilter(
        choices=[("active", STATES[0][1]), *STATES[1:]], method="filter_state", label="Show", widget=Select
    )

    class Meta:
        form = DeviceFilterForm

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        # As django-filter's, without its deep copy of every filter per FilterSet (a copy that only gives each
        # filter its `parent` and `model`): the filters here are shared and read-only, filter_queryset calls the
        # `method` filters on this FilterSet itself.
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = MappingProxyType(self.base_filters)

    def filter_search(self, queryset, name, value):
        """Serial number prefix (or exact), asset tag, or the start of the description.

        Each branch is a prefix match on a byte-ordered column, so an index answers it (see migration 0003).
        """
        value = value.strip()
        if not value:
            return queryset
        upper = value.upper()
        return queryset.filter(
            Q(serial_number__startswith=upper)
            | Q(asset_tag__startswith=value)
            | Q(description__startswith=value)
            | Q(description__startswith=upper)
        )

    def filter_serial(self, queryset, name, value):
        """Exact serial number, whatever the case typed."""
        return queryset.filter(serial_number=value.strip().upper())

    def filter_serial_prefix(self, queryset, name, value):
        """Serial numbers starting with the value (an index range)."""
        return queryset.filter(serial_number__startswith=value.strip().upper())

    def filter_profile(self, queryset, name, value):
        """Devices with that profile assigned here, or `none` for devices without one."""
        value = value.strip()
        if value == NO_PROFILE:
            return queryset.filter(assigned_profile__isnull=True)
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(assigned_profile_id=int(value))

    def filter_platform(self, queryset, name, value):
        """Devices of the platform's device families."""
        return queryset.filter(device_family__in=PLATFORMS[value][1])

    def filter_state(self, queryset, name, value):
        """Assigned by Apple (the default), removed at Apple, deleted from the portal, or all."""
        if value == "active":
            return _assigned(queryset)
        if value == "removed":
            return queryset.filter(removed_at__isnull=False, deleted_here_at__isnull=True)
        if value == "deleted":
            return queryset.filter(deleted_here_at__isnull=False)
        return queryset

    def filter_queryset(self, queryset):
        """Apply the filters; without `state`, only devices Apple assigns now and not deleted here."""
        for name, value in self.form.cleaned_data.items():
            filter_ = self.filters[name]
            if filter_.method is None:
                queryset = filter_.filter(queryset, value)
            elif value not in EMPTY_VALUES:  # as django-filter's FilterMethod calls a method
                queryset = getattr(self, filter_.method)(queryset, filter_.field_name, value)
        if not self.form.cleaned_data.get("state"):
            queryset = _assigned(queryset)
        return queryset

    def get_form_class(self):
        return _form_class(type(self))

    @property
    def form(self):
        """The form of the shared class, with this request's choices where a filter's choices depend on it."""
        if not hasattr(self, "_form"):
            form = super().form
            for name, filter_ in self.filters.items():
                # Only a value needs the viewer's choices to be checked against; without one the field keeps the
                # shared empty queryset, and the API call builds no query it would not run.
                if isinstance(filter_, QuerySetRequestMixin) and self.data.get(name) not in EMPTY_VALUES:
                    form.fields[name].queryset = filter_.get_queryset(self.request)
            form.offer_tokens(self.request)
        return self._form


@cache
def _form_class(filterset_class):
    """The filter form, built once per FilterSet instead of on every request.

    django-filter builds a new form class, with a new field per filter, for each FilterSet instance: about a
    millisecond of every list page and API call. The fields are the same for every request except the querysets
    that depend on the user, which `DeviceFilter.form` sets on each form (a form copies its fields, so nothing
    set there is shared). Here those start empty, so no user's choices can stay in the shared class.
    """
    filters = copy.deepcopy(filterset_class.base_filters)
    copied = filterset_class._meta.form.per_request
    fields = {}
    for name, filter_ in filters.items():
        if isinstance(filter_, QuerySetRequestMixin):
            if name not in copied:  # each form sets its own queryset here, which must not be a shared field's
                raise ImproperlyConfigured(f"{name} has choices per request: list it in the form's per_request.")
            filter_.queryset = filter_.get_queryset(None).none()
        fields[name] = filter_.field
    # The empty choice is the default, devices Apple assigns now; `active` stays valid without a second entry.
    fields["state"].widget.choices = STATES
    form_class = type(f"{filterset_class.__name__}Form", (filterset_class._meta.form,), fields)
    form_class.base_fields = _SharedFields(form_class.base_fields, copied)
    return form_class


def _assigned(queryset):
    return queryset.filter(removed_at__isnull=True, deleted_here_at__isnull=True)
