"""Console: the token's sync panel (buttons with the rule that disables them, live progress, history)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from depportal.accounts.roles import CHANGE
from depportal.accounts.scoping import can, is_administrator
from depportal.core.console import ConsoleMixin
from depportal.core.exceptions import ApplicationError
from syncjobs import selectors, services
from syncjobs.models import SyncKind, SyncTrigger
from tokens.crumbs import token_crumbs
from tokens.selectors import token_get

HISTORY_ROWS = 20


def sync_panel_context(request, token) -> dict:
    """What the sync panel shows; shared by the token blade and the panel's own polling view."""
    availability = services.sync_availability(token)
    jobs = list(selectors.syncjob_list(user=request.user, token_id=token.pk)[:HISTORY_ROWS])
    active = next((job for job in jobs if job.is_active), None)
    return {
        "token": token,
        "sync_jobs": jobs,
        "active_job": active,
        "manual_refusal": availability[SyncKind.MANUAL],
        "full_refusal": availability[SyncKind.FULL],
        "can_sync": can(request.user, CHANGE),
        "can_reset_cursor": is_administrator(request.user),
        "now": timezone.now(),
    }


class SyncPanelView(ConsoleMixin, TemplateView):
    """The panel alone, for htmx polling while a job runs (the response stops the polling when it ends)."""

    template_name = "syncjobs/_sync_panel.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(sync_panel_context(self.request, token_get(user=self.request.user, pk=self.kwargs["pk"])))
        return context


class SyncStartView(ConsoleMixin, TemplateView):
    """POST: start a manual (kind=manual) or full (kind=full) sync."""

    http_method_names = ["post"]  # it has no page: a GET is a 405, not a missing template
    required_action = CHANGE
    post_action = CHANGE

    def post(self, request, pk):
        token = token_get(user=request.user, pk=pk, action=CHANGE)
        kind = SyncKind.FULL if request.POST.get("kind") == "full" else SyncKind.MANUAL
        try:
            services.syncjob_request(token=token, kind=kind, trigger=SyncTrigger.CONSOLE, actor=request.user)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Sync started. Progress shows below.")
        return redirect(reverse("tokens:token_detail", args=[pk]) + "#sync")


class SyncResetCursorView(ConsoleMixin, TemplateView):
    """Confirm, then forget the cursor so the next sync is a full sync (Administrators)."""

    template_name = "syncjobs/reset_cursor_confirm.html"
    required_action = "administer"
    post_action = "administer"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        token = token_get(user=self.request.user, pk=self.kwargs["pk"], action=CHANGE)
        context.update(token=token, full_refusal=services.sync_availability(token)[SyncKind.FULL])
        context["breadcrumbs"] = [
            *token_crumbs(token),
            ("Reset cursor", None),
        ]
        return context

    def post(self, request, pk):
        token = token_get(user=request.user, pk=pk, action=CHANGE)
        try:
            services.token_sync_cursor_reset(actor=request.user, token=token)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "The cursor was reset: the next sync of this token is a full sync.")
        return redirect(reverse("tokens:token_detail", args=[pk]) + "#sync")
