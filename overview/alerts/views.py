"""Tenant administration > Notifications: where alerts go, and a test message."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.generic import TemplateView

from depportal.accounts.forms import apply_error
from depportal.accounts.roles import ADMINISTER
from depportal.accounts.scoping import is_administrator
from depportal.core.console import ConsoleMixin
from depportal.core.exceptions import ApplicationError
from overview.alerts import selectors, services
from overview.alerts.display import webhook_url_for
from overview.alerts.forms import NotificationSettingsForm


class NotificationSettingsView(ConsoleMixin, TemplateView):
    """Anyone with a view role reads the settings; Administrators change them and send a test."""

    template_name = "alerts/notification_settings.html"
    post_action = ADMINISTER

    def get_breadcrumbs(self):
        return [("Tenant administration", None), ("Notifications", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        config = selectors.notification_settings_get()
        can_edit = is_administrator(self.request.user)
        context.update(
            config=config,
            can_edit=can_edit,
            webhook_url=webhook_url_for(config.webhook_url, full=can_edit),
        )
        if can_edit:
            context.setdefault(
                "form",
                NotificationSettingsForm(
                    initial={
                        "email_enabled": config.email_enabled,
                        "email_recipients": config.email_recipients,
                        "webhook_enabled": config.webhook_enabled,
                        "webhook_url": config.webhook_url,
                    },
                    secret_set=config.webhook_secret_set,
                ),
            )
        return context

    def post(self, request):
        if "send_test" in request.POST:
            return self._send_test(request)
        config = selectors.notification_settings_get()
        form = NotificationSettingsForm(request.POST, secret_set=config.webhook_secret_set)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.notification_settings_update(
                    actor=request.user,
                    email_enabled=data["email_enabled"],
                    email_recipients=data["email_recipients"],
                    webhook_enabled=data["webhook_enabled"],
                    webhook_url=data["webhook_url"],
                    webhook_secret=data["webhook_secret"],
                    webhook_secret_clear=data.get("webhook_secret_clear", False),
                )
            except ApplicationError as error:
                apply_error(form, error)
            else:
                messages.success(request, "Notification settings saved.")
                return redirect("alerts:notification_settings")
        return self.render_to_response(self.get_context_data(form=form))

    def _send_test(self, request):
        try:
            results = services.notification_test_send(actor=request.user)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("alerts:notification_settings")
        for channel, result in results.items():
            label = "Email" if channel == "email" else "Webhook"
            level = messages.SUCCESS if result["status"] == "sent" else messages.ERROR
            messages.add_message(request, level, f"{label}: {result['detail']}")
        return redirect("alerts:notification_settings")
