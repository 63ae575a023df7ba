"""Small helpers shared by the console views of every app."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.urls import reverse

from depportal.accounts.scoping import can, is_administrator


class ConsoleMixin(LoginRequiredMixin):
    """Login required; `required_action` (view/change/administer) checked against the user's roles."""

    required_action = "view"
    # What a POST needs. No default: a view that changes something must say which permission it takes.
    post_action: str | None = None
    breadcrumbs: list[tuple[str, str | None]] = []

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        action = self.required_action_for(request)
        allowed = is_administrator(request.user) if action == "administer" else can(request.user, action)
        if not allowed:
            raise PermissionDenied("Your roles do not allow this.")
        return super().dispatch(request, *args, **kwargs)

    def required_action_for(self, request) -> str:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return self.required_action
        if self.post_action is None:
            raise ImproperlyConfigured(f"{type(self).__name__} must name the permission its POST needs (post_action).")
        return self.post_action

    def get_breadcrumbs(self) -> list[tuple[str, str | None]]:
        return self.breadcrumbs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["breadcrumbs"] = [("Home", reverse("home")), *self.get_breadcrumbs()]
        return context
