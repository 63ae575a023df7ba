from django.views.generic import TemplateView

from depportal.console import ConsoleMixin


class HomeView(ConsoleMixin, TemplateView):
    """The dashboard: counts and alerts (the devices and sync features fill it in)."""

    template_name = "home.html"
