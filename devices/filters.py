"""The one device filter: the console list, its export and bulk actions, and the REST API all use it."""

import django_filters
from django.db.models import Q, QuerySet

from depportal.accounts.scoping import scoped
from devices.models import ProfileStatus
from tokens.models import EnrollmentProgramToken, TokenState

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


def _tokens(request) -> QuerySet[EnrollmentProgramToken]:
    if request is None:
        return EnrollmentProgramToken.objects.none()
    return scoped(EnrollmentProgramToken.objects.exclude(state=TokenState.PENDING), request.user).order_by("name")


class DeviceFilter(django_filters.FilterSet):
    """Search and filters of the device list; devices removed at Apple or deleted here only show when asked for."""

    search = django_filters.CharFilter(method="filter_search", label="Search")
    token = django_filters.ModelChoiceFilter(queryset=_tokens, label="Token")
    serial_number = django_filters.CharFilter(method="filter_serial", label="Serial number")
    serial_number__startswith = django_filters.CharFilter(method="filter_serial_prefix", label="Serial number starts")
    profile_status = django_filters.ChoiceFilter(choices=ProfileStatus.choices, label="Apple profile status")
    profile = django_filters.CharFilter(method="filter_profile", label="Profile assigned here")
    device_family = django_filters.ChoiceFilter(choices=FAMILIES, label="Device family")
    platform = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in PLATFORMS.items()], method="filter_platform", label="Platform"
    )
    os = django_filters.ChoiceFilter(choices=OS_CHOICES, label="OS")
    assigned_by = django_filters.CharFilter(field_name="device_assigned_by", label="Assigned to the server by")
    assigned = django_filters.DateFromToRangeFilter(field_name="device_assigned_date", label="Assigned to the server")
    changed = django_filters.DateFromToRangeFilter(field_name="op_date", label="Last Apple change")
    added = django_filters.DateFromToRangeFilter(field_name="first_seen_at", label="First synced")
    # `active` names the default explicitly (API clients that send it keep working).
    state = django_filters.ChoiceFilter(
        choices=[("active", STATES[0][1]), *STATES[1:]], method="filter_state", label="Show"
    )

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
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("state"):
            queryset = _assigned(queryset)
        return queryset


def _assigned(queryset):
    return queryset.filter(removed_at__isnull=True, deleted_here_at__isnull=True)
