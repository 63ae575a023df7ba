"""Console pages for enrollment program tokens: list, add wizard, blade, renew, edit, delete."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from depportal.accounts.roles import CHANGE
from depportal.accounts.scoping import scoped
from depportal.core.console import ConsoleMixin, ServiceFormView
from depportal.core.exceptions import ApplicationError
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


# The wizard's pages say whether its key pair stands: a copy from the browser's cache would say it wrongly.
@method_decorator(never_cache, name="dispatch")
class TokenAddView(ServiceFormView):
    """Wizard step 1: agree to share data with Apple; nothing else is possible before it."""

    template_name = "tokens/token_add.html"
    required_action = CHANGE
    post_action = CHANGE
    form_class = ConsentForm

    def get_breadcrumbs(self):
        return [*TOKENS_CRUMBS, _token_list_crumb(), ("Add", None)]

    def perform(self, form):
        token = services.token_start(
            actor=self.request.user, data_sharing_consent=form.cleaned_data["data_sharing_consent"]
        )
        return redirect("tokens:token_wizard", pk=token.pk)


class _PendingTokenMixin:
    def _pending(self):
        # A wizard whose token is gone (abandoned or never visible to this user) reads the same: start again.
        return (
            scoped(EnrollmentProgramToken.objects.filter(state=TokenState.PENDING), self.request.user, CHANGE)
            .filter(pk=self.kwargs["pk"])
            .first()
        )


@method_decorator(never_cache, name="dispatch")
class TokenWizardView(_PendingTokenMixin, ServiceFormView):
    """Wizard steps on one page: leaving the page invalidates its key pair, as Apple's flow requires."""

    template_name = "tokens/token_wizard.html"
    required_action = CHANGE
    post_action = CHANGE
    form_class = TokenUploadForm

    def get_breadcrumbs(self):
        return [*TOKENS_CRUMBS, _token_list_crumb(), ("Add", None)]

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        token = self._pending()
        form = context["form"]
        context.update(
            token=token,
            usable=token is not None and token.pending_key_usable,
            apple_portal_url=settings.APPLE_BUSINESS_MANAGER_URL,
            wizard_minutes=settings.DEP_TOKEN_WIZARD_TTL_S // 60,
            # A refused Create comes back without the chosen file (browsers drop it): resume at the token step.
            initial_step=2 if form.is_bound else 1,
        )
        return context

    def perform(self, form):
        token = self._pending()
        if token is None:  # the page says why Create is off; the form keeps what was typed
            return self.form_invalid(form)
        token = services.token_activate(
            actor=self.request.user,
            token=token,
            token_file=form.cleaned_data["token_file"].read(services.MAX_TOKEN_FILE_BYTES + 1),
            apple_id=form.cleaned_data["apple_id"],
            scope_tags=list(form.cleaned_data["scope_tags"]),
            name=form.cleaned_data["name"],
        )
        messages.success(
            self.request,
            f"The token {token.name} was created. It is active until {token.access_token_expiry:%Y-%m-%d}.",
        )
        return redirect("tokens:token_detail", pk=token.pk)


@method_decorator(never_cache, name="dispatch")
class TokenWizardStatusView(_PendingTokenMixin, ConsoleMixin, View):
    """Whether the wizard's key still stands: the page asks when the browser brings it back."""

    required_action = CHANGE

    def get(self, request, pk):
        token = self._pending()
        usable = token is not None and token.pending_key_usable
        return JsonResponse({"usable": usable, "expires_at": token.pending_expires_at if usable else None})


@method_decorator(never_cache, name="dispatch")
class TokenWizardCheckView(_PendingTokenMixin, ConsoleMixin, View):
    """Check one wizard step as it is left, with the rules Create applies; nothing is stored."""

    required_action = CHANGE
    post_action = CHANGE
    fields = {"token": ("apple_id", "token_file", "name"), "scope_tags": ("scope_tags",)}

    def post(self, request, pk):
        step = request.POST.get("step", "")
        if step not in self.fields:
            return JsonResponse({"ok": False, "message": f"Unknown wizard step {step!r}."}, status=400)
        token = self._pending()
        if token is None or not token.pending_key_usable:
            return JsonResponse({"ok": False, "usable": False}, status=410)
        form = TokenUploadForm(request.POST, request.FILES, user=request.user)
        form.is_valid()
        errors = {name: messages for name, messages in form.errors.items() if name in self.fields[step]}
        if errors:
            return JsonResponse({"ok": False, "errors": errors}, status=400)
        try:
            review = self._check(step, token, form.cleaned_data)
        except ApplicationError as error:
            fields = {name: msgs for name, msgs in error.fields.items() if name in form.fields}
            return JsonResponse(
                {"ok": False, "errors": fields, "message": "" if fields else error.message}, status=error.status
            )
        return JsonResponse({"ok": True, "review": review})

    def _check(self, step, token, data):
        if step == "scope_tags":
            tags = services.token_check_scope_tags(actor=self.request.user, scope_tags=list(data["scope_tags"]))
            return {"scope_tags": [tag.name for tag in tags]}
        review = services.token_check_upload(
            actor=self.request.user,
            token=token,
            token_file=data["token_file"].read(services.MAX_TOKEN_FILE_BYTES + 1),
            apple_id=data["apple_id"],
            name=data["name"],
        )
        expiry = review["access_token_expiry"]
        return {**review, "access_token_expiry": f"{expiry:%Y-%m-%d}" if expiry else "—"}


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

    def load(self, request, *args, **kwargs):
        self.token = selectors.token_get(user=request.user, pk=kwargs["pk"])
        if self.token.is_pending:
            return redirect("tokens:token_wizard", pk=self.token.pk)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(token=self.token, alerts=token_alerts(self.token))
        return context


class _TokenChangePage:
    """A page that changes one token: loaded with the change permission, under the token's breadcrumbs."""

    required_action = CHANGE
    post_action = CHANGE
    crumb = ""

    def load(self, request, *args, **kwargs):
        self.token = selectors.token_get(user=request.user, pk=kwargs["pk"], action=CHANGE)

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


class TokenRenewView(_TokenChangePage, ServiceFormView):
    """Renew: upload a new .p7m for the same Apple MDM server (seed: "Renew a DEP token")."""

    template_name = "tokens/token_renew.html"
    crumb = "Renew token"
    form_class = TokenRenewForm

    def get_initial(self):
        return {"apple_id": self.token.apple_id}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["apple_portal_url"] = settings.APPLE_BUSINESS_MANAGER_URL
        return context

    def perform(self, form):
        token = services.token_renew(
            actor=self.request.user,
            token=self.token,
            token_file=form.cleaned_data["token_file"].read(services.MAX_TOKEN_FILE_BYTES + 1),
            apple_id=form.cleaned_data["apple_id"],
        )
        messages.success(
            self.request,
            f"The token {token.name} was renewed. It is now valid until {token.access_token_expiry:%Y-%m-%d}.",
        )
        return redirect("tokens:token_detail", pk=token.pk)


class TokenEditView(_TokenChangePage, ServiceFormView):
    """Edit the name, Apple ID and scope tags."""

    template_name = "tokens/token_edit.html"
    crumb = "Edit"
    form_class = TokenEditForm

    def get_initial(self):
        return {
            "name": self.token.name,
            "apple_id": self.token.apple_id,
            "scope_tags": list(self.token.scope_tags.all()),
        }

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def perform(self, form):
        services.token_update(
            actor=self.request.user,
            token=self.token,
            name=form.cleaned_data["name"],
            apple_id=form.cleaned_data["apple_id"],
            scope_tags=list(form.cleaned_data["scope_tags"]),
        )
        messages.success(self.request, "Token saved.")
        return redirect("tokens:token_detail", pk=self.token.pk)


class TokenDeleteView(_TokenChangePage, ConsoleMixin, TemplateView):
    """Confirm, then delete the token with its profiles and device records here."""

    template_name = "tokens/token_confirm_delete.html"
    crumb = "Delete"

    def post(self, request, pk):
        name = self.token.name
        services.token_delete(actor=request.user, token=self.token)
        messages.success(request, f"The token {name} was deleted.")
        return redirect("tokens:token_list")
