"""Console pages for enrollment program tokens: list, add wizard, blade, renew, edit, delete."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from depportal.accounts.forms import apply_error
from depportal.accounts.roles import CHANGE
from depportal.accounts.scoping import scoped
from depportal.console import ConsoleMixin
from depportal.exceptions import ApplicationError
from syncjobs.views import sync_panel_context
from tokens import selectors, services
from tokens.alerts import token_alerts
from tokens.forms import ConsentForm, TokenEditForm, TokenRenewForm, TokenUploadForm
from tokens.models import EnrollmentProgramToken, TokenState

TOKENS_CRUMBS = [("Devices", None), ("iOS/iPadOS", None), ("iOS enrollment", None)]


def _token_list_crumb():
    return ("Enrollment program tokens", reverse("tokens:token_list"))


class TokenListView(ConsoleMixin, TemplateView):
    """Enrollment program tokens within the user's scope tags, with search, state filter and sorting."""

    template_name = "tokens/token_list.html"

    def get_breadcrumbs(self):
        return [*TOKENS_CRUMBS, ("Enrollment program tokens", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        ordering = params.get("ordering", "name")
        tokens = list(
            selectors.token_list(
                user=self.request.user,
                search=params.get("q", "").strip(),
                state=params.get("state", ""),
                ordering=ordering,
            )
        )
        context.update(
            tokens=tokens,
            q=params.get("q", ""),
            state=params.get("state", ""),
            ordering=ordering,
            states=[choice for choice in TokenState.choices if choice[0] != TokenState.PENDING],
        )
        return context


class TokenAddView(ConsoleMixin, TemplateView):
    """Wizard step 1: agree to share data with Apple; nothing else is possible before it."""

    template_name = "tokens/token_add.html"
    required_action = CHANGE
    post_action = CHANGE

    def get_breadcrumbs(self):
        return [*TOKENS_CRUMBS, _token_list_crumb(), ("Add", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ConsentForm())
        return context

    def post(self, request):
        form = ConsentForm(request.POST)
        form.is_valid()
        try:
            token = services.token_start(
                actor=request.user, data_sharing_consent=form.cleaned_data.get("data_sharing_consent", False)
            )
        except ApplicationError as error:
            apply_error(form, error)
            return self.render_to_response(self.get_context_data(form=form))
        return redirect("tokens:token_wizard", pk=token.pk)


class TokenWizardView(ConsoleMixin, TemplateView):
    """Wizard steps 2 to 4 on one page: leaving the page invalidates its key pair, as Apple's flow requires."""

    template_name = "tokens/token_wizard.html"
    required_action = CHANGE
    post_action = CHANGE

    def get_breadcrumbs(self):
        return [*TOKENS_CRUMBS, _token_list_crumb(), ("Add", None)]

    def _pending(self):
        # A wizard whose token is gone (abandoned or never visible to this user) reads the same: start again.
        return (
            scoped(EnrollmentProgramToken.objects.filter(state=TokenState.PENDING), self.request.user, CHANGE)
            .filter(pk=self.kwargs["pk"])
            .first()
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        token = self._pending()
        context.update(
            token=token,
            usable=token is not None and token.pending_key_usable,
            apple_portal_url=settings.APPLE_BUSINESS_MANAGER_URL,
            wizard_minutes=settings.DEP_TOKEN_WIZARD_TTL_S // 60,
        )
        context.setdefault("form", TokenUploadForm(user=self.request.user))
        return context

    def post(self, request, pk):
        token = self._pending()
        form = TokenUploadForm(request.POST, request.FILES, user=request.user)
        if token is None or not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        try:
            token = services.token_activate(
                actor=request.user,
                token=token,
                token_file=form.cleaned_data["token_file"].read(services.MAX_TOKEN_FILE_BYTES + 1),
                apple_id=form.cleaned_data["apple_id"],
                scope_tags=list(form.cleaned_data["scope_tags"]),
                name=form.cleaned_data["name"],
            )
        except ApplicationError as error:
            apply_error(form, error)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(
            request, f"The token {token.name} was created. It is active until {token.access_token_expiry:%Y-%m-%d}."
        )
        return redirect("tokens:token_detail", pk=token.pk)


class TokenAbandonView(ConsoleMixin, View):
    """Called by the wizard page as it is closed or left (navigator.sendBeacon)."""

    required_action = CHANGE
    post_action = CHANGE

    def post(self, request, pk):
        token = (
            scoped(EnrollmentProgramToken.objects.filter(state=TokenState.PENDING), request.user, CHANGE)
            .filter(pk=pk)
            .first()
        )
        if token is not None:
            services.token_abandon(actor=request.user, token=token)
        return HttpResponse(status=204)


class TokenPublicKeyView(ConsoleMixin, View):
    """Download the token's public key (.pem) for Apple Business Manager."""

    def get(self, request, pk):
        token = selectors.token_get(user=request.user, pk=pk)
        response = HttpResponse(services.token_public_key(token), content_type="application/x-pem-file")
        response["Content-Disposition"] = f'attachment; filename="depportal-token-{token.pk}-public-key.pem"'
        return response


class TokenDetailView(ConsoleMixin, TemplateView):
    """The token blade: overview and actions."""

    template_name = "tokens/token_detail.html"

    def get_breadcrumbs(self):
        return [*TOKENS_CRUMBS, _token_list_crumb(), (str(self.token), None)]

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.token = selectors.token_get(user=request.user, pk=kwargs["pk"])
            if self.token.is_pending:
                return redirect("tokens:token_wizard", pk=self.token.pk)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(token=self.token, alerts=token_alerts(self.token))
        context.update(sync_panel_context(self.request, self.token))
        return context


class _TokenChangeView(ConsoleMixin, TemplateView):
    required_action = CHANGE
    post_action = CHANGE
    crumb = ""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.token = selectors.token_get(user=request.user, pk=kwargs["pk"], action=CHANGE)
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs(self):
        return [
            *TOKENS_CRUMBS,
            _token_list_crumb(),
            (str(self.token), reverse("tokens:token_detail", args=[self.token.pk])),
            (self.crumb, None),
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["token"] = self.token
        return context


class TokenRenewView(_TokenChangeView):
    """Renew: upload a new .p7m for the same Apple MDM server (seed: "Renew a DEP token")."""

    template_name = "tokens/token_renew.html"
    crumb = "Renew token"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", TokenRenewForm(initial={"apple_id": self.token.apple_id}))
        context["apple_portal_url"] = settings.APPLE_BUSINESS_MANAGER_URL
        return context

    def post(self, request, pk):
        form = TokenRenewForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                token = services.token_renew(
                    actor=request.user,
                    token=self.token,
                    token_file=form.cleaned_data["token_file"].read(services.MAX_TOKEN_FILE_BYTES + 1),
                    apple_id=form.cleaned_data["apple_id"],
                )
            except ApplicationError as error:
                apply_error(form, error)
            else:
                messages.success(
                    request,
                    f"The token {token.name} was renewed. It is now valid until {token.access_token_expiry:%Y-%m-%d}.",
                )
                return redirect("tokens:token_detail", pk=pk)
        return self.render_to_response(self.get_context_data(form=form))


class TokenEditView(_TokenChangeView):
    """Edit the name, Apple ID and scope tags."""

    template_name = "tokens/token_edit.html"
    crumb = "Edit"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        initial = {
            "name": self.token.name,
            "apple_id": self.token.apple_id,
            "scope_tags": list(self.token.scope_tags.all()),
        }
        context.setdefault("form", TokenEditForm(initial=initial, user=self.request.user))
        return context

    def post(self, request, pk):
        form = TokenEditForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                services.token_update(
                    actor=request.user,
                    token=self.token,
                    name=form.cleaned_data["name"],
                    apple_id=form.cleaned_data["apple_id"],
                    scope_tags=list(form.cleaned_data["scope_tags"]),
                )
            except ApplicationError as error:
                apply_error(form, error)
            else:
                messages.success(request, "Token saved.")
                return redirect("tokens:token_detail", pk=pk)
        return self.render_to_response(self.get_context_data(form=form))


class TokenDeleteView(_TokenChangeView):
    """Confirm, then delete the token with its profiles and device records here."""

    template_name = "tokens/token_confirm_delete.html"
    crumb = "Delete"

    def post(self, request, pk):
        name = self.token.name
        services.token_delete(actor=request.user, token=self.token)
        messages.success(request, f"The token {name} was deleted.")
        return redirect("tokens:token_list")
