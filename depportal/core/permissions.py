"""The permissions console pages and API endpoints ask for, by the action they need (view, change, administer).

Asked as `user.has_perm(role_permission(action))`; the accounts app's RoleBackend answers from the user's roles,
so the layers that ask need no app.
"""

VIEW = "view"
CHANGE = "change"
ADMINISTER = "administer"  # tenant administration: users, roles, scope tags, every scope
ACTIONS = (VIEW, CHANGE, ADMINISTER)
PREFIX = "roles."


def role_permission(action: str) -> str:
    """The permission name for an action: "roles.view", "roles.change" or "roles.administer"."""
    return PREFIX + action
