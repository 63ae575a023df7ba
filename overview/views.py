from django.views.generic import TemplateView

from depportal.core.console import ConsoleMixin
from devices.dashboard import dashboard_context


class HomeView(ConsoleMixin, TemplateView):
    """The dashboard: alerts and device charts."""

    template_name = "home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(dashboard_context(self.request.user))
        return context
