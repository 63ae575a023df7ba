"""Small helpers shared by the console views of every app."""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import FormView

from depportal.core.exceptions import ApplicationError
from depportal.core.permissions import role_permission


class ConsoleMixin(LoginRequiredMixin):
    """Login required; `required_action` (view/change/administer) checked against the user's roles."""

    required_action = "view"
    # What a POST needs. No default: a view that changes something must say which permission it takes.
    post_action: str | None = None
    breadcrumbs: list[tuple[str, str | None]] = []

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not request.user.has_perm(role_permission(self.required_action_for(request))):
            raise PermissionDenied("Your roles do not allow this.")
        response = self.load(request, *args, **kwargs)
        return response if response is not None else super().dispatch(request, *args, **kwargs)

    def load(self, request, *args, **kwargs):
        """Fetch what the page is about, through a scoped selector, once the user may see the page at all.

        Runs before get and post; a response returned here (a redirect) answers the request instead.
        """
        return None

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


def apply_error(form: forms.Form, error: ApplicationError) -> None:
    """Put an ApplicationError's field messages on the form, and the rest on the form itself."""
    placed = False
    for field, field_messages in error.fields.items():
        if field in form.fields:
            for message in field_messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


class ServiceFormView(ConsoleMixin, FormView):
    """A page whose form, once valid, goes to one service: `perform(form)` calls it and returns the response.

    An ApplicationError from the service lands on the form (apply_error) and the page shows again, so every
    console form reports refusals the same way and nothing is half-saved.

    A page with a delete button (a `delete` field in its POST) defines `perform_delete()`: the service, then the
    response. A refusal is shown as a message on the same page.
    """

    def post(self, request, *args, **kwargs):
        if "delete" not in request.POST or not hasattr(self, "perform_delete"):
            return super().post(request, *args, **kwargs)
        try:
            return self.perform_delete()
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect(request.get_full_path())

    def form_valid(self, form):
        try:
            return self.perform(form)
        except ApplicationError as error:
            apply_error(form, error)
            return self.form_invalid(form)

    def perform(self, form):
        raise NotImplementedError
