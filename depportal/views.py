from django.views.generic import TemplateView

from depportal.console import ConsoleMixin


class HomeView(ConsoleMixin, TemplateView):
    """The dashboard: counts and alerts (the devices and sync features fill it in)."""

    template_name = "home.html"

    def get_context_data(self, **kwargs):
        from devices.dashboard import dashboard_context

        context = super().get_context_data(**kwargs)
        context.update(dashboard_context(self.request.user))
        return context
