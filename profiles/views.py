from django.views.generic import TemplateView

from depportal.accounts.scoping import scoped
from depportal.console import ConsoleMixin
from profiles.models import VppToken


class VppTokenListView(ConsoleMixin, TemplateView):
    """Apple VPP tokens within the user's scope tags."""

    template_name = "profiles/vpp_token_list.html"

    def get_breadcrumbs(self):
        return [("Apps", None), ("Apple VPP tokens", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["vpp_tokens"] = scoped(VppToken.objects.prefetch_related("scope_tags"), self.request.user)
        return context
