"""Tenant administration pages: users, roles, scope tags and API tokens."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse, reverse_lazy
from django.utils.functional import cached_property
from django.views.generic import TemplateView

from depportal.accounts import selectors, services
from depportal.accounts.forms import (
    ApiTokenForm,
    RoleAssignmentForm,
    ScopeTagForm,
    UserCreateForm,
    UserEditForm,
    UserRolesForm,
)
from depportal.accounts.models import ApiToken, Role, RoleAssignment, ScopeTag
from depportal.accounts.roles import ROLE_ACTIONS, ROLE_DESCRIPTIONS
from depportal.core.console import ConsoleMixin, ServiceFormView, apply_error
from depportal.core.exceptions import ApplicationError

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
        return context

    def post(self, request):
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
        assignment = get_object_or_404(RoleAssignment.objects.select_related("user"), pk=pk)
        try:
            services.role_assignment_delete(actor=request.user, assignment=assignment)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Removed {assignment.get_role_display()} from {assignment.user.username}.")
        return redirect("accounts:role_list")


class ScopeTagListView(ServiceFormView):
    """Scope tags; Administrators create them here."""

    template_name = "accounts/scope_tag_list.html"
    post_action = "administer"
    form_class = ScopeTagForm

    def get_breadcrumbs(self):
        return [TENANT_ADMIN, ("Scope tags", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tags"] = selectors.scope_tag_list(user=self.request.user)
        return context

    def perform(self, form):
        tag = services.scope_tag_create(actor=self.request.user, **form.cleaned_data)
        messages.success(self.request, f"Scope tag {tag.name} created.")
        return redirect("accounts:scope_tag_list")


class ScopeTagEditView(ServiceFormView):
    """Rename or delete a scope tag (Administrators)."""

    template_name = "accounts/scope_tag_edit.html"
    required_action = "administer"
    post_action = "administer"
    form_class = ScopeTagForm

    def get_breadcrumbs(self):
        return [TENANT_ADMIN, ("Scope tags", reverse("accounts:scope_tag_list")), (self.tag.name, None)]

    def load(self, request, *args, **kwargs):
        self.tag = get_object_or_404(ScopeTag, pk=kwargs["pk"])

    def get_initial(self):
        return {"name": self.tag.name, "description": self.tag.description}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tag"] = self.tag
        return context

    def perform_delete(self):
        services.scope_tag_delete(actor=self.request.user, tag=self.tag)
        messages.success(self.request, f"Scope tag {self.tag.name} deleted.")
        return redirect("accounts:scope_tag_list")

    def perform(self, form):
        services.scope_tag_update(actor=self.request.user, tag=self.tag, **form.cleaned_data)
        messages.success(self.request, "Scope tag saved.")
        return redirect("accounts:scope_tag_list")


class ApiTokenListView(ServiceFormView):
    """Your API tokens: create (the key is shown once), list by prefix and last use, revoke."""

    template_name = "accounts/api_token_list.html"
    post_action = "view"  # everyone keeps their own API tokens
    form_class = ApiTokenForm

    def get_breadcrumbs(self):
        return [TENANT_ADMIN, ("API tokens", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tokens"] = selectors.api_token_list(user=self.request.user)
        return context

    def post(self, request, *args, **kwargs):
        if "revoke" not in request.POST:
            return super().post(request, *args, **kwargs)
        token = get_object_or_404(ApiToken, pk=request.POST["revoke"], user=request.user)
        services.api_token_revoke(actor=request.user, token=token)
        messages.success(request, f"API token {token.name} revoked.")
        return redirect("accounts:api_token_list")

    def perform(self, form):
        token, key = services.api_token_create(actor=self.request.user, user=self.request.user, **form.cleaned_data)
        # The key is rendered in this response only; it is never stored or shown again.
        return self.render_to_response(
            self.get_context_data(form=self.get_form_class()(), new_key=key, new_token=token)
        )


class UserListView(ConsoleMixin, TemplateView):
    """Tenant administration > Users: everyone who can sign in, their roles and API tokens."""

    template_name = "accounts/user_list.html"
    required_action = "administer"

    def get_breadcrumbs(self):
        return [TENANT_ADMIN, ("Users", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        q = self.request.GET.get("q", "").strip()
        context.update(users=selectors.user_list(search=q), q=q)
        return context


class UserCreateView(ServiceFormView):
    """Add a user: with a password, or with a one-time link to choose one."""

    template_name = "accounts/user_create.html"
    required_action = "administer"
    post_action = "administer"
    form_class = UserCreateForm

    def get_breadcrumbs(self):
        return [TENANT_ADMIN, ("Users", reverse("accounts:user_list")), ("Add user", None)]

    def perform(self, form):
        user = services.user_create(actor=self.request.user, **form.cleaned_data)
        messages.success(self.request, f"User {user.username} created. Give them a role so they can see objects.")
        if not form.cleaned_data["password"]:
            return UserDetailView.with_reset_link(self.request, user)
        return redirect("accounts:user_detail", pk=user.pk)


class _UserPage(ConsoleMixin, TemplateView):
    """A page about one user, for Administrators: the account, its API tokens, the trail to it."""

    required_action = "administer"
    post_action = "administer"
    crumb = ""  # the page's own crumb below the user's; none on the user's page itself

    @cached_property
    def account(self):
        # Looked up when first used, after ConsoleMixin's permission check: a non-administrator gets 403, never 404.
        return selectors.user_get(pk=self.kwargs["pk"])

    def get_breadcrumbs(self):
        trail = [TENANT_ADMIN, ("Users", reverse("accounts:user_list"))]
        if not self.crumb:
            return [*trail, (self.account.username, None)]
        user_url = reverse("accounts:user_detail", args=[self.account.pk])
        return [*trail, (self.account.username, user_url), (self.crumb, None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(account=self.account, api_tokens=selectors.api_token_list(user=self.account))
        return context


class UserDetailView(_UserPage):
    """One user in one place: email and status, every role with its scope tags, password link, API tokens."""

    template_name = "accounts/user_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        account = self.account
        context.setdefault("edit_form", UserEditForm(initial={"email": account.email, "is_active": account.is_active}))
        context.setdefault("roles_form", UserRolesForm.for_user(account))
        return context

    @classmethod
    def with_reset_link(cls, request, user):
        """Render the user's page with a new one-time link: it is shown in this response only."""
        view = cls(request=request, kwargs={"pk": user.pk}, account=user)
        path, valid_until = services.user_password_reset_link(actor=request.user, user=user)
        context = view.get_context_data(reset_link=request.build_absolute_uri(path), reset_valid_until=valid_until)
        return view.render_to_response(context)

    def post(self, request, pk):
        action = request.POST.get("action")
        handler = {
            "profile": self._save_profile,
            "roles": self._save_roles,
            "reset_password": self._reset_password,
            "revoke": self._revoke,
        }.get(action)
        if handler is None:
            messages.error(request, "Unknown action.")
            return redirect("accounts:user_detail", pk=pk)
        return handler(request)

    def _save_profile(self, request):
        form = UserEditForm(request.POST)
        if form.is_valid():
            try:
                services.user_update(actor=request.user, user=self.account, **form.cleaned_data)
            except ApplicationError as error:
                apply_error(form, error)
            else:
                messages.success(request, f"User {self.account.username} saved.")
                return redirect("accounts:user_detail", pk=self.account.pk)
        return self.render_to_response(self.get_context_data(edit_form=form))

    def _save_roles(self, request):
        form = UserRolesForm(request.POST)
        if form.is_valid():
            try:
                services.user_roles_set(actor=request.user, user=self.account, roles=form.roles())
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Roles of {self.account.username} saved.")
                return redirect("accounts:user_detail", pk=self.account.pk)
        return self.render_to_response(self.get_context_data(roles_form=form))

    def _reset_password(self, request):
        try:
            return self.with_reset_link(request, self.account)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("accounts:user_detail", pk=self.account.pk)

    def _revoke(self, request):
        token = get_object_or_404(ApiToken, pk=request.POST.get("token"), user=self.account)
        services.api_token_revoke(actor=request.user, token=token)
        messages.success(request, f"API token {token.name} of {self.account.username} revoked.")
        return redirect("accounts:user_detail", pk=self.account.pk)


class UserDeleteView(_UserPage):
    """Confirm, then delete a user with their roles and API tokens."""

    template_name = "accounts/user_confirm_delete.html"
    crumb = "Delete"

    def post(self, request, pk):
        try:
            services.user_delete(actor=request.user, user=self.account)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("accounts:user_detail", pk=pk)
        messages.success(request, f"User {self.account.username} deleted.")
        return redirect("accounts:user_list")


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """The one-time link: the user chooses a password (Django's validators), and it is audited."""

    template_name = "registration/password_set.html"
    success_url = reverse_lazy("login")

    def form_valid(self, form):
        services.user_password_set(form=form)
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        messages.success(self.request, "Your password is set. Sign in with it.")
        return HttpResponseRedirect(self.get_success_url())
