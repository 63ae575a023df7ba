"""Console pages of Tenant administration > Apple Business: connection, inventory, activities; Apple's webhook."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from business import selectors, services
from business.alerts import connection_alerts
from business.forms import ActivityForm, ConnectionForm, WebhookForm
from business.models import ActivityKind, ConnectionState, OrgDevice
from depportal.core.console import ConsoleMixin, apply_error
from depportal.core.exceptions import ApplicationError

CRUMBS = [("Tenant administration", None)]
PREVIEW_SESSION_KEY = "business_activity_preview"


def _connection_crumb():
    return ("Apple Business", reverse("business:connection"))


class _BusinessMixin(ConsoleMixin):
    # The organisation's inventory spans every token and scope tag: administrators only.
    required_action = "administer"
    post_action = "administer"

    def load(self, request, *args, **kwargs):
        self.connection = services.connection_get()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["section"] = "business"
        context["connection"] = self.connection
        return context


class ConnectionView(_BusinessMixin, TemplateView):
    """Connect the organisation's API account; test it, refresh the inventory, enable webhooks, disconnect."""

    template_name = "business/connection.html"

    def get_breadcrumbs(self):
        return [*CRUMBS, ("Apple Business", None)]

    def get_template_names(self):
        # The inventory panel polls itself while a refresh runs.
        if self.request.headers.get("HX-Request") and self.connection:
            return ["business/_inventory_progress.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ConnectionForm())
        context.setdefault(
            "webhook_form", WebhookForm(initial={"url": self.request.build_absolute_uri(reverse("business:webhook"))})
        )
        if self.connection:
            context["alerts"] = connection_alerts(self.connection)
            context["servers"] = selectors.server_list(self.connection)
            context["activities"] = selectors.activity_list(self.connection)[:10]
            context["device_total"] = OrgDevice.objects.filter(connection=self.connection).count()
            context["refresh_running"] = selectors.inventory_refresh_running(self.connection)
            context["refresh_every_hours"] = max(1, settings.BUSINESS_INVENTORY_REFRESH_S // 3600)
            context["webhook_window_minutes"] = max(1, settings.BUSINESS_WEBHOOK_WINDOW_S // 60)
        return context

    def post(self, request):
        action = request.POST.get("action", "")
        if self.connection is None:
            return self._connect(request)
        if action == "validate":
            connection = services.connection_validate(actor=request.user, connection=self.connection)
            if connection.state == ConnectionState.ACTIVE:
                messages.success(request, "Apple accepted the API account and issued an access token.")
            else:
                messages.error(request, connection.last_error_message)
        elif action == "refresh":
            try:
                services.inventory_refresh_request(actor=request.user, connection=self.connection)
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, "Reading the organisation's inventory from Apple; its progress shows here.")
        elif action == "webhook":
            form = WebhookForm(request.POST)
            if not form.is_valid():
                return self.render_to_response(self.get_context_data(webhook_form=form))
            try:
                services.webhook_enable(actor=request.user, connection=self.connection, url=form.cleaned_data["url"])
            except ApplicationError as error:
                apply_error(form, error)
                return self.render_to_response(self.get_context_data(webhook_form=form))
            messages.success(request, "Apple now sends device events here; each token syncs by itself after them.")
        elif action == "disconnect":
            if request.POST.get("confirm") != "yes":
                return self.render_to_response(self.get_context_data(confirm_disconnect=True))
            services.connection_delete(actor=request.user, connection=self.connection)
            messages.success(request, "Disconnected. The API account still exists in Apple Business Manager.")
        return redirect("business:connection")

    def _connect(self, request):
        form = ConnectionForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.connection_create(
                    actor=request.user,
                    client_id=form.cleaned_data["client_id"],
                    key_id=form.cleaned_data["key_id"],
                    private_key=form.cleaned_data["private_key"].read(services.MAX_KEY_FILE_BYTES + 1),
                )
            except ApplicationError as error:
                apply_error(form, error)
            else:
                messages.success(request, "Connected. Refresh the inventory to see the organisation's devices.")
                return redirect("business:connection")
        return self.render_to_response(self.get_context_data(form=form))


class InventoryView(_BusinessMixin, TemplateView):
    """Every device the organisation owns, on whichever server or none, in keyset pages."""

    template_name = "business/inventory.html"

    def get_breadcrumbs(self):
        return [*CRUMBS, _connection_crumb(), ("Organisation inventory", None)]

    def get(self, request, *args, **kwargs):
        if self.connection is None:
            return redirect("business:connection")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        filters = {key: params.get(key, "").strip() for key in ("search", "status", "server", "holder", "family")}
        devices = selectors.inventory_queryset(self.connection, **filters)
        page = selectors.inventory_page(devices, cursor=params.get("cursor", ""))
        deadlines = selectors.migration_deadlines([d.serial_number for d in page.rows])
        for device in page.rows:
            device.migration_deadline = deadlines.get(device.serial_number)
        query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
        context.update(
            filters=filters,
            page=page,
            query=query,
            servers=selectors.server_list(self.connection),
            holders=selectors.HOLDERS.items(),
            families=OrgDevice.objects.filter(connection=self.connection)
            .order_by("product_family")
            .values_list("product_family", flat=True)
            .distinct(),
        )
        return context


class OrgDeviceView(_BusinessMixin, TemplateView):
    """One device of the organisation, with its AppleCare coverage read from Apple."""

    template_name = "business/device.html"

    def get_breadcrumbs(self):
        return [
            *CRUMBS,
            _connection_crumb(),
            ("Organisation inventory", reverse("business:inventory")),
            (self.kwargs["serial"], None),
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        device = (
            OrgDevice.objects.filter(connection=self.connection, serial_number=kwargs["serial"])
            .select_related("server", "server__token")
            .first()
            if self.connection
            else None
        )
        if device is None:
            raise Http404("No such device in the organisation's inventory.")
        context["device"] = device
        context["migration_deadline"] = selectors.migration_deadlines([device.serial_number]).get(device.serial_number)
        try:
            context["coverages"] = services.device_apple_care(connection=self.connection, serial=device.serial_number)
        except ApplicationError as error:
            context["coverage_error"] = error.message
        return context


class ActivityNewView(_BusinessMixin, TemplateView):
    """Seed step 7 in the portal: choose devices, see the preview, confirm."""

    template_name = "business/activity_new.html"

    def get_breadcrumbs(self):
        return [*CRUMBS, _connection_crumb(), ("Assign devices", None)]

    def get(self, request, *args, **kwargs):
        if self.connection is None:
            return redirect("business:connection")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.connection:
            initial = {
                "kind": self.request.GET.get("kind", ActivityKind.ASSIGN),
                "serials": self.request.GET.get("serials", ""),
            }
            context.setdefault("form", ActivityForm(initial=initial, servers=selectors.server_list(self.connection)))
        return context

    def post(self, request):
        if self.connection is None:
            return redirect("business:connection")
        if request.POST.get("step") == "confirm":
            return self._confirm(request)
        # Only the preview just shown may be confirmed: a new attempt forgets the last one, even when it fails.
        request.session.pop(PREVIEW_SESSION_KEY, None)
        servers = selectors.server_list(self.connection)
        form = ActivityForm(request.POST, request.FILES, servers=servers)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        data = form.cleaned_data
        try:
            serials = services.serials_from_text(data["serials"])
            if data["csv_file"]:
                serials += services.serials_from_csv(data["csv_file"].read())
            preview = services.activity_preview(
                connection=self.connection,
                kind=data["kind"],
                server=selectors.server_get(self.connection, data["server"]) if data["server"] else None,
                serials=serials,
                order_number=data["order_number"],
                migration_deadline=data["migration_deadline"],
            )
        except ApplicationError as error:
            apply_error(form, error)
            return self.render_to_response(self.get_context_data(form=form))
        request.session[PREVIEW_SESSION_KEY] = {
            "kind": preview["kind"],
            "server": preview["server"].pk if preview["server"] else None,
            "serials": preview["serials"],
            "migration_deadline": data["migration_deadline"].isoformat() if data["migration_deadline"] else None,
        }
        return self.render_to_response(self.get_context_data(form=form, preview=preview))

    def _confirm(self, request):
        chosen = request.session.get(PREVIEW_SESSION_KEY)
        if not chosen:
            messages.error(request, "The preview has expired: choose the devices again.")
            return redirect("business:activity_new")
        if chosen["kind"] == ActivityKind.RELEASE and request.POST.get("irreversible") != "yes":
            messages.error(request, "Tick that you understand releasing devices cannot be undone.")
            return redirect("business:activity_new")
        try:
            activity = services.activity_start(
                actor=request.user,
                connection=self.connection,
                kind=chosen["kind"],
                server=selectors.server_get(self.connection, chosen["server"]) if chosen["server"] else None,
                serials=chosen["serials"],
                migration_deadline=parse_datetime(chosen["migration_deadline"])
                if chosen["migration_deadline"]
                else None,
            )
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("business:activity_new")
        del request.session[PREVIEW_SESSION_KEY]
        return redirect("business:activity_detail", pk=activity.pk)


class ActivityDetailView(_BusinessMixin, TemplateView):
    """An activity's progress at Apple, its result per device and the syncs it started."""

    template_name = "business/activity_detail.html"

    def get_breadcrumbs(self):
        return [*CRUMBS, _connection_crumb(), (f"Activity {self.kwargs['pk']}", None)]

    def get_template_names(self):
        if self.request.headers.get("HX-Request"):
            return ["business/_activity_progress.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        activity = selectors.activity_get(self.connection, kwargs["pk"]) if self.connection else None
        if activity is None:
            raise Http404("No such activity.")
        context["activity"] = activity
        context["results"] = sorted(activity.results.items())
        return context


@csrf_exempt
@require_POST
def webhook_receiver(request):
    """Apple Business's webhook deliveries: signature checked, then debounced delta syncs are queued."""
    try:
        outcome = services.webhook_receive(
            body=request.body, signature=request.headers.get(services.SIGNATURE_HEADER, "")
        )
    except ApplicationError as error:
        return JsonResponse({"detail": error.message}, status=error.status)
    return JsonResponse({"tokens": outcome["tokens"]}, status=202)
