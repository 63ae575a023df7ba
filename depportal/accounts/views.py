"""Tenant administration pages: roles, scope tags and API tokens."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView

from depportal.accounts import selectors, services
from depportal.accounts.forms import ApiTokenForm, RoleAssignmentForm, ScopeTagForm, UserCreateForm, apply_error
from depportal.accounts.models import ApiToken, Role, RoleAssignment, ScopeTag
from depportal.accounts.roles import ROLE_ACTIONS, ROLE_DESCRIPTIONS
from depportal.console import ConsoleMixin
from depportal.exceptions import ApplicationError

TENANT_ADMIN = ("Tenant administration", None)


class RoleListView(ConsoleMixin, TemplateView):
    """Built-in roles, users and their assignments; Administrators assign and remove roles."""

    template_name = "accounts/role_list.html"
    required_action = "administer"
    post_action = "administer"

    def get_breadcrumbs(self):
        return [TENANT_ADMIN, ("Roles", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["roles"] = [
            {
                "label": Role(value).label,
                "description": ROLE_DESCRIPTIONS[value],
                "actions": sorted(ROLE_ACTIONS[value]),
            }
            for value in Role.values
        ]
        context["users"] = selectors.user_list()
        context.setdefault("assign_form", RoleAssignmentForm())
        context.setdefault("user_form", UserCreateForm())
        return context

    def post(self, request):
        if "username" in request.POST:
            form = UserCreateForm(request.POST)
            if form.is_valid():
                try:
                    user = services.user_create(actor=request.user, **form.cleaned_data)
                except ApplicationError as error:
                    apply_error(form, error)
                else:
                    messages.success(request, f"User {user.username} created. Assign a role so they can see objects.")
                    return redirect("accounts:role_list")
            return self.render_to_response(self.get_context_data(user_form=form))
        form = RoleAssignmentForm(request.POST)
        if form.is_valid():
            try:
                services.role_assignment_set(
                    actor=request.user,
                    user=form.cleaned_data["user"],
                    role=form.cleaned_data["role"],
                    scope_tags=list(form.cleaned_data["scope_tags"]),
                )
            except ApplicationError as error:
                apply_error(form, error)
            else:
                messages.success(request, f"Role assigned to {form.cleaned_data['user'].username}.")
                return redirect("accounts:role_list")
        return self.render_to_response(self.get_context_data(assign_form=form))


class RoleAssignmentDeleteView(ConsoleMixin, TemplateView):
    """Confirm, then remove one role assignment."""

    template_name = "accounts/role_assignment_confirm_delete.html"
    required_action = "administer"
    post_action = "administer"

    def get_breadcrumbs(self):
        return [TENANT_ADMIN, ("Roles", reverse("accounts:role_list")), ("Remove role", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["assignment"] = get_object_or_404(RoleAssignment.objects.select_related("user"), pk=self.kwargs["pk"])
        return context

    def post(self, request, pk):
        assignment = get_object_or_404(RoleAssignment, pk=pk)
        services.role_assignment_delete(actor=request.user, assignment=assignment)
        messages.success(request, f"Removed {assignment.get_role_display()} from {assignment.user.username}.")
        return redirect("accounts:role_list")


class ScopeTagListView(ConsoleMixin, TemplateView):
    """Scope tags; Administrators create them here."""

    template_name = "accounts/scope_tag_list.html"
    post_action = "administer"

    def get_breadcrumbs(self):
        return [TENANT_ADMIN, ("Scope tags", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tags"] = selectors.scope_tag_list(user=self.request.user)
        context.setdefault("form", ScopeTagForm())
        return context

    def post(self, request):
        form = ScopeTagForm(request.POST)
        if form.is_valid():
            try:
                tag = services.scope_tag_create(actor=request.user, **form.cleaned_data)
            except ApplicationError as error:
                apply_error(form, error)
            else:
                messages.success(request, f"Scope tag {tag.name} created.")
                return redirect("accounts:scope_tag_list")
        return self.render_to_response(self.get_context_data(form=form))


class ScopeTagEditView(ConsoleMixin, TemplateView):
    """Rename or delete a scope tag (Administrators)."""

    template_name = "accounts/scope_tag_edit.html"
    required_action = "administer"
    post_action = "administer"

    def get_breadcrumbs(self):
        return [TENANT_ADMIN, ("Scope tags", reverse("accounts:scope_tag_list")), (self.tag.name, None)]

    def dispatch(self, request, *args, **kwargs):
        self.tag = get_object_or_404(ScopeTag, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tag"] = self.tag
        context.setdefault("form", ScopeTagForm(initial={"name": self.tag.name, "description": self.tag.description}))
        return context

    def post(self, request, pk):
        if "delete" in request.POST:
            try:
                services.scope_tag_delete(actor=request.user, tag=self.tag)
            except ApplicationError as error:
                messages.error(request, error.message)
                return redirect("accounts:scope_tag_edit", pk=pk)
            messages.success(request, f"Scope tag {self.tag.name} deleted.")
            return redirect("accounts:scope_tag_list")
        form = ScopeTagForm(request.POST)
        if form.is_valid():
            try:
                services.scope_tag_update(actor=request.user, tag=self.tag, **form.cleaned_data)
            except ApplicationError as error:
                apply_error(form, error)
            else:
                messages.success(request, "Scope tag saved.")
                return redirect("accounts:scope_tag_list")
        return self.render_to_response(self.get_context_data(form=form))


class ApiTokenListView(ConsoleMixin, TemplateView):
    """Your API tokens: create (the key is shown once), list by prefix and last use, revoke."""

    template_name = "accounts/api_token_list.html"
    post_action = "view"  # everyone keeps their own API tokens

    def get_breadcrumbs(self):
        return [TENANT_ADMIN, ("API tokens", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tokens"] = selectors.api_token_list(user=self.request.user)
        context.setdefault("form", ApiTokenForm())
        return context

    def post(self, request):
        if "revoke" in request.POST:
            token = get_object_or_404(ApiToken, pk=request.POST["revoke"], user=request.user)
            services.api_token_revoke(actor=request.user, token=token)
            messages.success(request, f"API token {token.name} revoked.")
            return redirect("accounts:api_token_list")
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        token, key = services.api_token_create(actor=request.user, user=request.user, **form.cleaned_data)
        # The key is rendered in this response only; it is never stored or shown again.
        return self.render_to_response(self.get_context_data(new_key=key, new_token=token))
