"""Tenant administration > Notifications: where alerts go, and a test message."""

from django.contrib import messages
from django.shortcuts import redirect

from depportal.accounts.roles import ADMINISTER
from depportal.accounts.scoping import is_administrator
from depportal.core.console import ServiceFormView
from depportal.core.exceptions import ApplicationError
from overview.alerts import selectors, services
from overview.alerts.display import webhook_url_for
from overview.alerts.forms import NotificationSettingsForm


class NotificationSettingsView(ServiceFormView):
    """Anyone with a view role reads the settings; Administrators change them and send a test."""

    template_name = "alerts/notification_settings.html"
    post_action = ADMINISTER
    form_class = NotificationSettingsForm

    def load(self, request, *args, **kwargs):
        self.config = selectors.notification_settings_get()

    def get_breadcrumbs(self):
        return [("Tenant administration", None), ("Notifications", None)]

    def get_initial(self):
        config = self.config
        return {
            "email_enabled": config.email_enabled,
            "email_recipients": config.email_recipients,
            "webhook_enabled": config.webhook_enabled,
            "webhook_url": config.webhook_url,
        }

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "secret_set": self.config.webhook_secret_set}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        can_edit = is_administrator(self.request.user)
        context.update(
            config=self.config,
            can_edit=can_edit,
            webhook_url=webhook_url_for(self.config.webhook_url, full=can_edit),
        )
        return context

    def post(self, request, *args, **kwargs):
        if "send_test" in request.POST:
            return self._send_test(request)
        return super().post(request, *args, **kwargs)

    def perform(self, form):
        data = form.cleaned_data
        services.notification_settings_update(
            actor=self.request.user,
            email_enabled=data["email_enabled"],
            email_recipients=data["email_recipients"],
            webhook_enabled=data["webhook_enabled"],
            webhook_url=data["webhook_url"],
            webhook_secret=data["webhook_secret"],
            webhook_secret_clear=data.get("webhook_secret_clear", False),
        )
        messages.success(self.request, "Notification settings saved.")
        return redirect("alerts:notification_settings")

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
