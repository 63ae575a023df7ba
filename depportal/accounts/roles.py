"""What each built-in role may do. Views, API permissions and the scoping helper all read this table."""

from depportal.accounts.models import Role
from depportal.core.permissions import ADMINISTER, CHANGE, VIEW

__all__ = ["ADMINISTER", "CHANGE", "ROLE_ACTIONS", "VIEW"]

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.ADMINISTRATOR: frozenset({VIEW, CHANGE, ADMINISTER}),
    Role.ENROLLMENT_MANAGER: frozenset({VIEW, CHANGE}),
    Role.READ_ONLY: frozenset({VIEW}),
}

ROLE_DESCRIPTIONS: dict[str, str] = {
    Role.ADMINISTRATOR: "Everything: every token, profile and device, plus users, roles and scope tags.",
    Role.ENROLLMENT_MANAGER: "Read and change tokens, profiles, devices and syncs within the assigned scope tags.",
    Role.READ_ONLY: "Read tokens, profiles, devices and syncs within the assigned scope tags.",
}
