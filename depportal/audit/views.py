from django.core.paginator import Paginator
from django.views.generic import TemplateView

from depportal.accounts.scoping import scoped
from depportal.audit.filters import AuditEventFilterSet
from depportal.audit.models import AuditEvent
from depportal.core.console import ConsoleMixin


class AuditEventListView(ConsoleMixin, TemplateView):
    """The audit log with filters; events on objects outside your scope tags are not listed."""

    template_name = "audit/event_list.html"
    paginate_by = 50

    def get_breadcrumbs(self):
        return [("Tenant administration", None), ("Audit logs", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        queryset = scoped(AuditEvent.objects.all(), self.request.user).prefetch_related("scope_tags")
        filterset = AuditEventFilterSet(self.request.GET or None, queryset=queryset)
        filterset.offer_choices(scoped(AuditEvent.objects.all(), self.request.user))
        page = Paginator(filterset.qs, self.paginate_by).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(filter=filterset, page=page, query=query.urlencode())
        return context
