from django.views.generic import TemplateView

from depportal.accounts.scoping import scoped
from depportal.console import ConsoleMixin
from tokens.models import EnrollmentProgramToken


class TokenListView(ConsoleMixin, TemplateView):
    """Enrollment program tokens within the user's scope tags."""

    template_name = "tokens/token_list.html"

    def get_breadcrumbs(self):
        return [("Devices", None), ("iOS/iPadOS", None), ("iOS enrollment", None), ("Enrollment program tokens", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tokens"] = scoped(EnrollmentProgramToken.objects.prefetch_related("scope_tags"), self.request.user)
        return context
