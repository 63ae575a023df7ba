"""Console pages of the devices app: thin, over devices.selectors and devices.services."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import QueryDict, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import TemplateView, View

from depportal.accounts.roles import CHANGE, VIEW
from depportal.accounts.scoping import can, is_administrator, scoped
from depportal.core.console import ConsoleMixin
from depportal.core.exceptions import ApplicationError
from depportal.core.serials import MAX_BYTES
from depportal.core.spreadsheet import CSV_CONTENT_TYPE
from devices import selectors, services
from devices.columns import BY_KEY, COLUMNS, cell_text, parse_ordering
from devices.csv_import import MATCHED, OUTCOME_LABELS
from devices.filters import FAMILY_LABELS, PLATFORMS, platform_for_family
from devices.forms import ColumnsForm, ImportForm
from devices.models import Device
from devices.rendering import column_choices_html, column_headers_html, device_rows_html, options_html
from profiles import selectors as profile_selectors
from tokens import selectors as token_selectors
from tokens.crumbs import token_crumbs
from tokens.models import EnrollmentProgramToken, TokenState

# Parameters of the list that are not filters.
_PAGING = ("cursor", "size")
_DETAIL_FIELDS = [
    ("Serial number", "serial_number"),
    ("Model", "model"),
    ("Description", "description"),
    ("Color", "color"),
    ("Asset tag", "asset_tag"),
    ("OS", "os"),
    ("Device family", "device_family"),
    ("Assigned to the MDM server on", "device_assigned_date"),
    ("Assigned to the MDM server by", "device_assigned_by"),
    ("Last Apple change", "op_type"),
    ("Last Apple change on", "op_date"),
]
# Apple's newer device keys (protocol v8 and v10, apple-dep-api.md section 3), which Device keeps in `extra`.
_EXTRA_LABELS = {
    "imei": "IMEI",
    "meid": "MEID",
    "eid": "EID (eSIM)",
    "wifi_mac_address": "Wi-Fi MAC address",
    "bluetooth_mac_address": "Bluetooth MAC address",
    "ethernet_mac_address": "Ethernet MAC address",
    "is_replacement_device": "Replacement device",
    "released_by_replacement": "Released by a replacement",
    "mdm_migration_deadline": "MDM migration deadline",
}


def _extra_fields(extra: dict) -> list[tuple[str, str]]:
    """(label, text) for what Apple sent beyond the known fields: lists joined, flags as Yes/No."""
    rows = []
    for key, value in extra.items():
        if isinstance(value, bool):
            text = "Yes" if value else "No"
        elif isinstance(value, list):
            text = ", ".join(str(item) for item in value)
        else:
            text = "" if value is None else str(value)
        rows.append((_EXTRA_LABELS.get(key, key.replace("_", " ").capitalize()), text))
    return sorted(rows)


_PROFILE_FIELDS = [
    ("Apple profile status", "get_profile_status_display"),
    ("Profile UUID at Apple", "profile_uuid"),
    ("Profile assigned at Apple on", "profile_assign_time"),
    ("Profile pushed to the device on", "profile_push_time"),
]


def _matching(filterset):
    """The filtered devices; none when a filter is invalid, so a bad parameter never widens a bulk action."""
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def _back(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def _export_response(queryset, columns: list[str], name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(services.device_export_lines(queryset, columns), content_type=CSV_CONTENT_TYPE)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


def _filter_options(request, filterset, token) -> dict:
    """The profiles of the filter bar and the bulk bar, from one small query (values, not model instances)."""
    user = request.user
    visible = profile_selectors.profile_choice_rows(user=user, token=token)
    labels = {pk: (name if token else f"{token_name}: {name}") for pk, name, token_name, _, _ in visible}
    if not can(user, CHANGE):
        assignable = []
    elif is_administrator(user):
        assignable = [pk for pk, _, _, uuid, _ in visible if uuid]
    else:
        assignable = list(profile_selectors.profile_assignable(user=user, token=token).values_list("pk", flat=True))
    filterset.form.offer_profiles(labels.items())
    # The bulk bar's select is drawn here, like the rows: hundreds of profiles are hundreds of template loops.
    return {"assign_options": options_html((str(pk), labels[pk], False) for pk in assignable if pk in labels)}


class _DeviceListBase(ConsoleMixin, TemplateView):
    """The list's filters and selection, shared by the page, the export and the bulk actions."""

    platform = ""

    def load(self, request, *args, **kwargs):
        self.token = None
        if kwargs.get("token_pk"):
            self.token = token_selectors.token_get(user=request.user, pk=kwargs["token_pk"])

    def filter_params(self, source: QueryDict) -> QueryDict:
        params = source.copy()
        for name in _PAGING:
            params.pop(name, None)
        if self.token is not None:
            params["token"] = str(self.token.pk)
        if self.platform and not params.get("device_family") and "platform" not in params:
            params["platform"] = self.platform
        return params


class DeviceListView(_DeviceListBase):
    """Devices across tokens, of one platform, or of one token (its Devices tab): keyset pages, bulk actions."""

    template_name = "devices/device_list.html"

    def get_breadcrumbs(self):
        if self.token is not None:
            return [
                *token_crumbs(self.token),
                ("Devices", None),
            ]
        if self.platform:
            return [("Devices", reverse("devices:device_list")), (PLATFORMS[self.platform][0], None)]
        return [("Devices", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        request = self.request
        params = self.filter_params(request.GET)
        filterset = selectors.device_filter(params, user=request.user, request=request)
        queryset = _matching(filterset)
        ordering = request.GET.get("ordering", "")
        column, descending = parse_ordering(ordering)
        size = _page_size(request.GET.get("size"))
        page = selectors.device_page(queryset, ordering=ordering, cursor=request.GET.get("cursor", ""), size=size)
        count = selectors.device_count(queryset, page)
        columns = selectors.device_columns_for(request.user)
        tz = timezone.get_current_timezone()
        query = params.urlencode()
        base = f"?{query}&" if query else "?"
        sized = f"size={size}&" if size != selectors.DEFAULT_PAGE_SIZE else ""
        links = {
            c.key: f"{base}{sized}ordering={'-' if c.key == column.key and not descending else ''}{c.key}"
            for c in COLUMNS
        }
        context.update(
            token=self.token,
            tab="devices",
            platform=self.platform,
            filterset=filterset,
            form=filterset.form,
            page=page,
            count=count,
            rows=page.rows,
            rows_html=device_rows_html([(d, [(key, cell_text(d, key, tz)) for key in columns]) for d in page.rows]),
            # The headings and the column chooser are drawn here, like the rows: two dozen template loops otherwise.
            column_headers=column_headers_html(
                [(BY_KEY[key], links[key]) for key in columns], sort_key=column.key, descending=descending
            ),
            column_choices=column_choices_html(COLUMNS, set(columns)),
            next_url=f"{base}{sized}cursor={page.next_cursor}" if page.next_cursor else "",
            previous_url=f"{base}{sized}cursor={page.previous_cursor}" if page.previous_cursor else "",
            first_url=f"{base}{sized}".rstrip("&") if page.previous_cursor else "",
            query=query,
            page_size=size,
            page_sizes=selectors.PAGE_SIZES,
            **_filter_options(request, filterset, self.token),
            filtered=bool(set(params) - {"token", "platform", "ordering"}),
            export_url=reverse("devices:device_export") + (f"?{query}" if query else ""),
            import_url=(
                reverse("devices:token_device_import", args=[self.token.pk])
                if self.token
                else reverse("devices:device_import")
            ),
            here=request.get_full_path(),
        )
        return context


def _page_size(value) -> int:
    try:
        size = int(value)
    except (TypeError, ValueError):
        return selectors.DEFAULT_PAGE_SIZE
    return size if size in selectors.PAGE_SIZES else selectors.DEFAULT_PAGE_SIZE


class DeviceExportView(_DeviceListBase):
    """CSV of every device matching the filters, with the user's columns, streamed."""

    def get(self, request, *args, **kwargs):
        params = self.filter_params(request.GET)
        filterset = selectors.device_filter(params, user=request.user, request=request)
        return _export_response(_matching(filterset), selectors.device_columns_for(request.user), "devices")


class DeviceBulkView(_DeviceListBase):
    """Bulk actions on the selected rows or on every device matching the list's filters.

    Export, delete and restore are the devices app's own; Assign and Unassign post to profiles.views'
    DeviceAssignView, which extends this view with the assignment.
    """

    template_name = "devices/bulk_confirm.html"
    required_action = CHANGE
    post_action = CHANGE
    actions = ("delete", "restore")

    def required_action_for(self, request) -> str:
        return VIEW if request.POST.get("action") == "export" else CHANGE

    def get_breadcrumbs(self):
        return [("Devices", reverse("devices:device_list")), ("Confirm", None)]

    def _selection(self, action: str):
        request = self.request
        base = selectors.device_queryset(user=request.user, action=action)
        if request.POST.get("select_all") == "1":
            params = self.filter_params(QueryDict(request.POST.get("query", "")))
            return _matching(selectors.device_filter(params, user=request.user, request=request, queryset=base))
        ids = [int(pk) for pk in request.POST.getlist("id") if pk.isdigit()]
        return base.filter(pk__in=ids)

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        back = _back(request, reverse("devices:device_list"))
        if action == "export":
            return _export_response(
                self._selection(VIEW), selectors.device_columns_for(request.user), "devices-selected"
            )
        devices = self._selection(CHANGE)
        if action not in self.actions:
            messages.error(request, "Choose an action.")
            return redirect(back)
        try:
            profile = self.chosen_profile(action)
            if request.POST.get("confirm") != "yes" and action != "restore":
                return self.render_to_response(self._preview(action, devices, profile, back))
            return self._apply(action, devices, profile, back)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect(back)

    def chosen_profile(self, action: str):
        """The profile the action gives the devices; none for the devices app's own actions."""
        return None

    def _preview(self, action, devices, profile, back):
        live = devices.filter(deleted_here_at__isnull=True)
        context = self.get_context_data(
            action=action,
            profile=profile,
            back=back,
            selected=devices.order_by().count(),
            live=live.order_by().count(),
            post_items=[
                (name, value)
                for name in ("select_all", "query", "profile", "next")
                for value in self.request.POST.getlist(name)
            ]
            + [("id", pk) for pk in self.request.POST.getlist("id")],
        )
        if profile is not None:
            context["on_token"] = live.filter(token_id=profile.token_id).order_by().count()
            context["other_tokens"] = context["live"] - context["on_token"]
        context["sample"] = list(live.order_by("serial_number").values_list("serial_number", flat=True)[:20])
        return context

    def _apply(self, action, devices, profile, back):
        request = self.request
        if action == "delete":
            count = services.device_delete_here(actor=request.user, devices=devices)
            messages.success(
                request,
                f"{count} device{'s' if count != 1 else ''} deleted from the portal. Apple still assigns "
                "them to this MDM server until you unassign them there; the next full sync brings them back.",
            )
            return redirect(back)
        count = services.device_restore(actor=request.user, devices=devices)
        messages.success(request, f"{count} device{'s' if count != 1 else ''} restored.")
        return redirect(back)


class DeviceColumnsView(ConsoleMixin, View):
    """Remember the columns the user picked for the device list."""

    post_action = VIEW  # the user's own preference, not the tenant's data

    def post(self, request, *args, **kwargs):
        form = ColumnsForm(request.POST)
        if form.is_valid():
            services.device_columns_save(user=request.user, columns=form.cleaned_data["columns"])
        return redirect(_back(request, reverse("devices:device_list")))


class _DevicePage(ConsoleMixin, TemplateView):
    def load(self, request, *args, **kwargs):
        self.device = selectors.device_get(
            user=request.user, pk=kwargs["pk"], action=self.required_action_for(request)
        )

    def get_breadcrumbs(self):
        token = self.device.token
        return [
            *token_crumbs(token),
            ("Devices", reverse("devices:token_device_list", args=[token.pk])),
            (self.device.serial_number, None),
        ]


class DeviceDetailView(_DevicePage):
    """Everything Apple reported about one device, its profiles, assignment history and audit events."""

    template_name = "devices/device_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        device = self.device
        context.update(
            device=device,
            token=device.token,
            apple_fields=[(label, _apple_value(device, name)) for label, name in _DETAIL_FIELDS],
            profile_fields=[(label, _value(device, name)) for label, name in _PROFILE_FIELDS],
            extra=_extra_fields(device.extra),
            events=selectors.device_audit_events(device),
            jobs=selectors.device_assignment_jobs(device),
            ops=selectors.device_ops(device),
            scope_tags=list(device.token.scope_tags.all()),
            # Intune's "Assign profile" on one device: its token's profiles at Apple, of its platform only.
            assign_profiles=[
                profile
                for profile in profile_selectors.profile_assignable(user=self.request.user, token=device.token)
                if profile.platform == platform_for_family(device.device_family)
            ],
        )
        return context


def _apple_value(device, name):
    value = getattr(device, name)
    return FAMILY_LABELS.get(value, value) if name == "device_family" else value


def _value(device, name):
    value = getattr(device, name)
    return value() if callable(value) else value


class DeviceDeleteView(_DevicePage):
    """Delete one device from the portal, after the warning about Apple's assignment."""

    template_name = "devices/device_confirm_delete.html"
    required_action = CHANGE
    post_action = CHANGE

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["device"] = self.device
        return context

    def post(self, request, pk):
        services.device_delete_here(actor=request.user, devices=Device.objects.filter(pk=self.device.pk))
        messages.success(
            request,
            f"{self.device.serial_number} was deleted from the portal. Unless you unassign it from this MDM "
            "server in Apple Business Manager, the next full sync brings it back.",
        )
        return redirect("devices:token_device_list", token_pk=self.device.token_id)


class DeviceRestoreView(_DevicePage):
    """Remove the portal's tombstone from one device."""

    required_action = CHANGE
    post_action = CHANGE

    def post(self, request, pk):
        services.device_restore(actor=request.user, devices=Device.objects.filter(pk=self.device.pk))
        messages.success(request, f"{self.device.serial_number} was restored.")
        return redirect("devices:device_detail", pk=self.device.pk)


class DeviceImportView(ConsoleMixin, TemplateView):
    """Paste or upload serial numbers; the preview comes next and nothing changes before it is confirmed."""

    template_name = "devices/import_form.html"
    post_action = CHANGE  # the preview is stored, and confirming it assigns profiles

    def load(self, request, *args, **kwargs):
        self.token = None
        if kwargs.get("token_pk"):
            self.token = token_selectors.token_get(user=request.user, pk=kwargs["token_pk"])

    def get_breadcrumbs(self):
        if self.token is not None:
            return [
                *token_crumbs(self.token),
                ("Devices", reverse("devices:token_device_list", args=[self.token.pk])),
                ("Import", None),
            ]
        return [("Devices", reverse("devices:device_list")), ("Import", None)]

    def _form(self, data=None, files=None):
        tokens = scoped(EnrollmentProgramToken.objects.exclude(state=TokenState.PENDING), self.request.user)
        profiles = profile_selectors.profile_assignable(user=self.request.user, token=self.token)
        initial = {"token": self.token.pk} if self.token else {}
        if self.request.GET.get("profile"):
            initial["profile"] = self.request.GET["profile"]
        return ImportForm(data, files, tokens=tokens.order_by("name"), profiles=profiles, initial=initial)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", self._form())
        context["token"] = self.token
        return context

    def post(self, request, *args, **kwargs):
        form = self._form(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        token = form.cleaned_data["token"]
        if form.cleaned_data["profile"] is not None:
            token = token_selectors.token_get(user=request.user, pk=token.pk, action=CHANGE)
        upload = form.cleaned_data.get("csv_file")
        try:
            device_import = services.device_import_preview(
                actor=request.user,
                token=token,
                profile=form.cleaned_data["profile"],
                text=form.cleaned_data.get("serial_numbers") or "",
                file=upload.read(MAX_BYTES + 1) if upload is not None else None,
                filename=upload.name if upload is not None else "",
            )
        except ApplicationError as error:
            for name, errors in error.fields.items():
                for message in errors:
                    form.add_error(name if name in form.fields else None, message)
            if not error.fields:
                form.add_error(None, error.message)
            return self.render_to_response(self.get_context_data(form=form))
        return redirect("devices:device_import_detail", pk=device_import.pk)


class DeviceImportDetailView(ConsoleMixin, TemplateView):
    """The import's preview: what will be applied, what will not and why (profiles.views confirms it)."""

    template_name = "devices/import_preview.html"

    def load(self, request, *args, **kwargs):
        self.device_import = selectors.device_import_get(user=request.user, pk=kwargs["pk"])

    def get_breadcrumbs(self):
        token = self.device_import.token
        return [
            *token_crumbs(token),
            ("Devices", reverse("devices:token_device_list", args=[token.pk])),
            ("Import preview", None),
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        device_import = self.device_import
        rows = device_import.rows
        context.update(
            device_import=device_import,
            token=device_import.token,
            counts=[(key, OUTCOME_LABELS[key], device_import.counts.get(key, 0)) for key in OUTCOME_LABELS],
            matched=device_import.counts.get(MATCHED, 0),
            matched_sample=[row[2] for row in rows if row[3] == MATCHED][:50],
            not_applied=[
                (line, text, serial, OUTCOME_LABELS.get(outcome, outcome), reason)
                for line, text, serial, outcome, reason in rows[:20_000]
                if outcome != MATCHED
            ][:500],
            not_applied_total=len(rows) - device_import.counts.get(MATCHED, 0),
        )
        return context


class DeviceImportReportView(ConsoleMixin, View):
    """Every line of an import with its outcome and reason, as CSV."""

    def get(self, request, pk):
        device_import = selectors.device_import_get(user=request.user, pk=pk)
        response = StreamingHttpResponse(
            services.device_import_report_lines(device_import), content_type=CSV_CONTENT_TYPE
        )
        response["Content-Disposition"] = f'attachment; filename="device-import-{device_import.pk}.csv"'
        return response


def device_list_url(**filters) -> str:
    """The cross-token device list with these filters (the dashboard links into it)."""
    query = urlencode({key: value for key, value in filters.items() if value not in (None, "")})
    return reverse("devices:device_list") + (f"?{query}" if query else "")
