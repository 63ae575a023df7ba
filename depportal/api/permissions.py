from rest_framework import permissions

from depportal.accounts.roles import ADMINISTER, CHANGE, VIEW
from depportal.accounts.scoping import can, is_administrator


class RolePermission(permissions.BasePermission):
    """Reads need a role that views; writes need one that changes. Object scope is checked by selectors."""

    write_action = CHANGE

    def has_permission(self, request, view):
        action = VIEW if request.method in permissions.SAFE_METHODS else getattr(view, "write_action", CHANGE)
        return can(request.user, action)


class IsAdministrator(permissions.BasePermission):
    """Tenant administration (users, roles, scope tags): Administrators only; reads need a view role."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return can(request.user, VIEW)
        return can(request.user, ADMINISTER)


class AdministratorOnly(permissions.BasePermission):
    """Users and role assignments: only Administrators read or change them."""

    def has_permission(self, request, view):
        return is_administrator(request.user)
