from rest_framework import permissions

from depportal.core.permissions import ADMINISTER, CHANGE, VIEW, role_permission


class RolePermission(permissions.BasePermission):
    """Reads need a role that views; writes need one that changes. Object scope is checked by selectors."""

    write_action = CHANGE

    def has_permission(self, request, view):
        action = VIEW if request.method in permissions.SAFE_METHODS else getattr(view, "write_action", CHANGE)
        return request.user.has_perm(role_permission(action))


class IsAdministrator(permissions.BasePermission):
    """Tenant administration (users, roles, scope tags): Administrators only; reads need a view role."""

    def has_permission(self, request, view):
        action = VIEW if request.method in permissions.SAFE_METHODS else ADMINISTER
        return request.user.has_perm(role_permission(action))


class AdministratorOnly(permissions.BasePermission):
    """Users and role assignments: only Administrators read or change them."""

    def has_permission(self, request, view):
        return request.user.has_perm(role_permission(ADMINISTER))
