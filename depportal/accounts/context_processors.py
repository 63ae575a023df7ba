from depportal.accounts.roles import CHANGE
from depportal.accounts.scoping import can, is_administrator


def console(request):
    """What the layout needs on every page: the user's powers, for showing or hiding actions."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"user_can_change": can(user, CHANGE), "user_is_admin": is_administrator(user)}
