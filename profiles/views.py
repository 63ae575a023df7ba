"""Console pages: a token's profiles, the create/edit wizard, assignment, default profile, VPP tokens, certificates."""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from depportal.accounts.roles import CHANGE
from depportal.core.console import ConsoleMixin, ServiceFormView, apply_error
from depportal.core.exceptions import ApplicationError
from depportal.core.serials import MAX_BYTES, read_serials
from devices import selectors as device_selectors
from devices.filters import PLATFORMS
from devices.views import DeviceBulkView
from profiles import assignment, selectors, services
from profiles.alerts import vpp_token_alerts
from profiles.assignment import normalise_serials
from profiles.forms import (
    AssignForm,
    CertificateUploadForm,
    DefaultProfileForm,
    ProfileForm,
    VppTokenEditForm,
    VppTokenUploadForm,
    step_of,
)
from profiles.models import EnrollmentProfile, JobAction, Platform, max_profiles_per_token
from profiles.setup_screens import screen_label
from profiles.vpp import MAX_UPLOAD_BYTES
from tokens import selectors as token_selectors


def _token_crumbs(token, platform: str = Platform.IOS) -> list:
    label = Platform(platform).label
    return [
        ("Devices", None),
        (label, None),
        (f"{label} enrollment", reverse("profiles:platform_enrollment", args=[platform])),
        ("Enrollment program tokens", reverse("tokens:token_list")),
        (str(token), reverse("tokens:token_detail", args=[token.pk])),
        ("Profiles", reverse("profiles:profile_list", args=[token.pk])),
    ]


def _vpp_crumbs() -> list:
    return [("Apps", None), ("Apple VPP tokens", reverse("profiles:vpp_token_list"))]


class _TokenPage(ConsoleMixin, TemplateView):
    """A page under a token; the token is looked up in the user's scope for the view's action."""

    def load(self, request, *args, **kwargs):
        self.token = token_selectors.token_get(
            user=request.user, pk=kwargs["token_pk"], action=self.required_action_for(request)
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["token"] = self.token
        return context


class _ProfilePage(ConsoleMixin, TemplateView):
    """A page of one profile, looked up in the user's scope for the view's action."""

    crumb = ""

    def load(self, request, *args, **kwargs):
        self.profile = selectors.profile_get(
            user=request.user, pk=kwargs["pk"], action=self.required_action_for(request)
        )
        self.token = self.profile.token

    def get_breadcrumbs(self):
        crumbs = [
            *_token_crumbs(self.token, self.profile.platform),
            (str(self.profile), reverse("profiles:profile_detail", args=[self.profile.pk])),
        ]
        return [*crumbs, (self.crumb, None)] if self.crumb else crumbs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(profile=self.profile, token=self.token)
        return context


def _platform_param(request) -> str:
    wanted = request.GET.get("platform", "")
    return wanted if wanted in Platform.values else ""


class PlatformEnrollmentView(ConsoleMixin, TemplateView):
    """ "iOS/iPadOS enrollment", "macOS enrollment", ...: the platform's profiles across tokens, its devices."""

    template_name = "profiles/platform_enrollment.html"

    def load(self, request, *args, **kwargs):
        if kwargs["platform"] not in Platform.values:
            raise Http404("No such platform.")
        self.platform = kwargs["platform"]

    def get_breadcrumbs(self):
        label = Platform(self.platform).label
        return [("Devices", None), (label, None), (f"{label} enrollment", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            platform=self.platform,
            platform_label=Platform(self.platform).label,
            profiles=list(selectors.profile_list(user=self.request.user, platform=self.platform)),
            tokens=list(token_selectors.token_list(user=self.request.user)),
            devices_url=reverse(f"devices:{self.platform}_device_list"),
        )
        return context


class ProfileListView(_TokenPage):
    """The token's Profiles tab: every profile (or one platform's) with its Apple state, and the defaults."""

    template_name = "profiles/profile_list.html"

    def get_breadcrumbs(self):
        return [*_token_crumbs(self.token)[:-1], ("Profiles", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        platform = _platform_param(self.request)
        context["profiles"] = list(
            selectors.profile_list(
                user=self.request.user, token=self.token, search=self.request.GET.get("q", ""), platform=platform
            )
        )
        context["q"] = self.request.GET.get("q", "")
        context["profile_count"] = EnrollmentProfile.objects.filter(token=self.token).count()
        context["profile_limit"] = max_profiles_per_token()
        context["platform"] = platform
        context["platforms"] = Platform.choices
        return context


class _WizardView(TemplateView):
    """The four pages of the seed's wizard in one form; Review is rendered by the server after the rules pass."""

    template_name = "profiles/profile_wizard.html"
    required_action = CHANGE
    post_action = CHANGE
    editing = False

    def form(self, data=None, initial=None) -> ProfileForm:
        return ProfileForm(data, initial=initial, user=self.request.user, platform=self.platform)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("step", 1)
        context["editing"] = self.editing
        context["platform"] = self.platform
        context["platform_label"] = Platform(self.platform).label
        context["org_name"] = self.token.org_name or "your organisation"
        return context

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST)
        if request.POST.get("action") == "check":
            return self.check_step(form, request.POST.get("step", ""))
        if not form.is_valid():
            return self._show_errors(form)
        values = {**form.to_values(), "platform": self.platform}
        try:
            if request.POST.get("action") != "save":
                return self.render_to_response(self.get_context_data(form=form, step=4, **self.review(values)))
            return self.save(values)
        except ApplicationError as error:
            apply_error(form, _form_keyed(error, form))
            return self._show_errors(form)

    def check_step(self, form, step: str) -> JsonResponse:
        """The wizard's Next: the rules of the API (and Review) for the pages up to `step`; later pages wait.

        Answers {"errors": {field: [messages]}}, "__all__" for problems of no one field (such as the profile limit).
        """
        last = int(step) if step.isdigit() else 1
        if form.is_valid():
            try:
                self.review({**form.to_values(), "platform": self.platform})
                errors = {}
            except ApplicationError as error:
                keyed = _form_keyed(error, form)
                errors = {field: list(texts) for field, texts in keyed.fields.items()} or {"__all__": [keyed.message]}
        else:
            errors = {field: list(texts) for field, texts in form.errors.items()}
        shown: dict[str, list[str]] = {}
        for field, texts in errors.items():
            if field not in form.fields:
                shown.setdefault("__all__", []).extend(texts)
            elif step_of(field) <= last:
                shown[field] = texts
        steps = {field: (step_of(field) if field != "__all__" else 1) for field in shown}
        return JsonResponse({"errors": shown, "steps": steps})

    def _show_errors(self, form):
        steps = [step_of(field) for field in form.errors if field != "__all__"]
        return self.render_to_response(self.get_context_data(form=form, step=min(steps) if steps else 1))

    def review_rows(self, values: dict) -> list[tuple[str, str]]:
        return [
            (services.FIELD_LABELS["name"], values.get("name") or "—"),
            *services.summary_rows(values, self.platform),
        ]

    def review_context(self, values: dict) -> dict:
        return {
            "review_rows": self.review_rows(values),
            "device_word": services.device_word(self.platform, shared_ipad=bool(values.get("shared_ipad"))),
            "hidden_screens": sorted(screen_label(key) for key in values.get("skip_setup_items") or []),
        }


def _form_keyed(error: ApplicationError, form) -> ApplicationError:
    """Skip-key errors belong to the screens block; other fields map one to one."""
    fields = dict(error.fields)
    if "skip_setup_items" in fields and "skip_setup_items" not in form.fields:
        first = next(iter(form.screen_fields()), None)
        if first is not None:
            fields[first.name] = fields.pop("skip_setup_items")
    return ApplicationError(error.message, fields=fields)


class ProfileCreateView(_WizardView, _TokenPage):
    """Create profile > a platform: Basics, Device management settings, Setup Assistant, Review + create."""

    @property
    def platform(self) -> str:
        wanted = self.request.GET.get("platform", Platform.IOS)
        return wanted if wanted in Platform.values else Platform.IOS

    def get_breadcrumbs(self):
        return [*_token_crumbs(self.token, self.platform), (f"Create profile: {Platform(self.platform).label}", None)]

    def get_context_data(self, **kwargs):
        if "form" not in kwargs:
            kwargs["form"] = self.form(initial=ProfileForm.initial_from(services.default_values(self.platform)))
        return super().get_context_data(**kwargs)

    def review(self, values: dict) -> dict:
        warnings = services.profile_create_preview(actor=self.request.user, token=self.token, values=values)
        merged = {**services.default_values(self.platform), **values}
        return {**self.review_context(merged), "warnings": warnings}

    def save(self, values: dict):
        profile = services.profile_create(actor=self.request.user, token=self.token, values=values)
        for warning in profile.warnings:
            messages.warning(self.request, warning)
        _push_message(self.request, profile, created=True)
        return redirect("profiles:profile_detail", pk=profile.pk)


class ProfileEditView(_WizardView, _ProfilePage):
    """Edit: the same wizard; Review shows every change and how many devices will be re-assigned."""

    editing = True
    crumb = "Edit"

    @property
    def platform(self) -> str:
        return self.profile.platform

    def get_context_data(self, **kwargs):
        if "form" not in kwargs:
            kwargs["form"] = self.form(initial=ProfileForm.initial_from(services.profile_values(self.profile)))
        return super().get_context_data(**kwargs)

    def review(self, values: dict) -> dict:
        preview = services.profile_edit_preview(actor=self.request.user, profile=self.profile, values=values)
        merged = {**services.profile_values(self.profile), **values}
        return {**self.review_context(merged), "warnings": preview.warnings, "preview": preview}

    def save(self, values: dict):
        profile = services.profile_update(actor=self.request.user, profile=self.profile, values=values)
        for warning in profile.warnings:
            messages.warning(self.request, warning)
        _push_message(self.request, profile, created=False)
        if profile.reassign_job is not None:
            return redirect("profiles:job_detail", pk=profile.reassign_job.pk)
        return redirect("profiles:profile_detail", pk=profile.pk)


def _push_message(request, profile: EnrollmentProfile, *, created: bool) -> None:
    verb = "created" if created else "saved"
    if profile.push_status == "pushed":
        messages.success(request, f"The profile {profile} was {verb} and sent to Apple.")
    elif profile.push_status == "failed":
        messages.error(
            request,
            f"The profile {profile} was {verb}, but Apple did not take it: {profile.push_error} Use Push again.",
        )
    else:
        messages.success(request, f"The profile {profile} was {verb}.")


class ProfileDetailView(_ProfilePage):
    """One profile: its settings, Apple state, devices and recent assignment jobs."""

    template_name = "profiles/profile_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        values = services.profile_values(self.profile)
        context["rows"] = services.summary_rows(values, self.profile.platform)
        context["jobs"] = list(selectors.job_list(user=self.request.user, profile=self.profile)[:10])
        context["devices"] = list(self.profile.devices.order_by("serial_number")[:50])
        return context


class ProfilePushView(_ProfilePage):
    """Push again after Apple refused or could not be reached."""

    required_action = CHANGE
    post_action = CHANGE

    def post(self, request, pk):
        profile = services.profile_push(actor=request.user, profile=self.profile)
        _push_message(request, profile, created=False)
        return redirect("profiles:profile_detail", pk=pk)


class ProfileDeleteView(_ProfilePage):
    """Confirm, then remove the profile from its devices at Apple and delete it."""

    template_name = "profiles/profile_confirm_delete.html"
    required_action = CHANGE
    post_action = CHANGE
    crumb = "Delete"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["devices_using"] = services.profile_devices_using(self.profile).count()
        return context

    def post(self, request, pk):
        name = str(self.profile)
        try:
            removed = services.profile_delete(actor=request.user, profile=self.profile, confirmed=True)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("profiles:profile_delete", pk=pk)
        suffix = f" It was removed from {removed} device{'s' if removed != 1 else ''} at Apple." if removed else ""
        messages.success(request, f"The profile {name} was deleted.{suffix}")
        return redirect("profiles:profile_list", token_pk=self.token.pk)


class DefaultProfileView(_TokenPage, ServiceFormView):
    """Set Default Profile, one per platform: new devices of the token without a profile get their platform's."""

    template_name = "profiles/default_profile.html"
    required_action = CHANGE
    post_action = CHANGE

    def get_breadcrumbs(self):
        return [*_token_crumbs(self.token), ("Set default profile", None)]

    form_class = DefaultProfileForm

    def get_initial(self):
        current = {p.platform: p for p in EnrollmentProfile.objects.filter(token=self.token, is_default=True)}
        return {f"profile_{platform}": current.get(platform) for platform in Platform.values}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "token": self.token}

    def perform(self, form):
        changed = []
        for platform in Platform.values:
            profile = form.cleaned_data[f"profile_{platform}"]
            before = EnrollmentProfile.objects.filter(token=self.token, platform=platform, is_default=True)
            if before.first() == profile:
                continue
            services.token_default_profile_set(
                actor=self.request.user, token=self.token, profile=profile, platform=platform
            )
            label = Platform(platform).label
            changed.append(f"{profile} is now the {label} default" if profile else f"No {label} default")
        messages.success(self.request, f"{'; '.join(changed)}." if changed else "Nothing changed.")
        return redirect("profiles:profile_list", token_pk=self.token.pk)


class ProfileAssignView(_ProfilePage):
    """Assign (or unassign) by pasted serials, a CSV, or devices picked in the token's list; preview first."""

    template_name = "profiles/profile_assign.html"
    required_action = CHANGE
    post_action = CHANGE
    action = JobAction.ASSIGN

    @property
    def crumb(self):
        return "Assign devices" if self.action == JobAction.ASSIGN else "Unassign devices"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", AssignForm())
        context["action"] = self.action
        context["q"] = self.request.GET.get("q", "")
        devices = selectors.token_devices(token=self.token, search=context["q"])
        if self.action == JobAction.UNASSIGN:
            devices = devices.filter(pk__in=services.profile_devices_using(self.profile).values("pk"))
        else:
            devices = devices.filter(device_family__in=[*PLATFORMS[self.profile.platform][1], ""])
        context["devices"] = list(devices[:500])
        return context

    def post(self, request, pk):
        form = AssignForm(request.POST, request.FILES)
        serials = []
        if form.is_valid():
            upload = form.cleaned_data["csv_file"]
            try:
                serials = read_serials(
                    text=form.cleaned_data["serial_numbers"],
                    file=upload.read(MAX_BYTES + 1) if upload is not None else None,
                )
            except ApplicationError as error:
                apply_error(form, error)
        # Picked devices are the token's own, listed on this page: their serials need no reading.
        serials = normalise_serials([*request.POST.getlist("device"), *serials])
        if request.POST.get("confirm") == "yes":
            serials = normalise_serials(request.POST.getlist("serial"))
            try:
                if self.action == JobAction.ASSIGN:
                    job = services.profile_assign_devices(actor=request.user, profile=self.profile, serials=serials)
                else:
                    job = services.profile_unassign_devices(actor=request.user, profile=self.profile, serials=serials)
            except ApplicationError as error:
                messages.error(request, error.message)
                return redirect(request.path)
            return redirect("profiles:job_detail", pk=job.pk)
        if not serials and not form.errors:
            form.add_error("serial_numbers", "Enter serial numbers, upload a CSV or pick devices.")
        if form.errors:
            return self.render_to_response(self.get_context_data(form=form))
        known, refused, unknown = services.assignment_preview(
            token=self.token, profile=self.profile, action=self.action, serials=serials
        )
        return self.render_to_response(
            self.get_context_data(form=form, preview=True, known=known, refused=refused, unknown=unknown)
        )


class ProfileUnassignView(ProfileAssignView):
    action = JobAction.UNASSIGN


class JobDetailView(ConsoleMixin, TemplateView):
    """An assignment job: progress (refreshed while it runs) and the result of every device."""

    template_name = "profiles/job_detail.html"

    def load(self, request, *args, **kwargs):
        self.job = selectors.job_get(user=request.user, pk=kwargs["pk"])

    def get_template_names(self):
        if self.request.htmx:
            return ["profiles/_job_progress.html"]
        return [self.template_name]

    def get_breadcrumbs(self):
        crumbs = _token_crumbs(self.job.token, self.job.profile.platform if self.job.profile else Platform.IOS)
        if self.job.profile is not None:
            crumbs.append((self.job.profile_name, reverse("profiles:profile_detail", args=[self.job.profile_id])))
        return [*crumbs, (f"Assignment #{self.job.pk}", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["job"] = self.job
        context["counts"] = self.job.counts()
        context["rows"] = [
            (serial, status, self.job.removed.get(serial, ""))
            for serial, status in sorted(self.job.results.items())[:2000]
        ]
        context["refused_rows"] = sorted(self.job.refused.items())[:2000]
        return context


# VPP tokens and Configurator certificates


class VppTokenListView(ConsoleMixin, TemplateView):
    """Apple VPP tokens within the user's scope tags, with their alerts; Configurator certificates below."""

    template_name = "profiles/vpp_token_list.html"

    def get_breadcrumbs(self):
        return [("Apps", None), ("Apple VPP tokens", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        tokens = list(selectors.vpp_token_list(user=self.request.user))
        for vpp_token in tokens:
            vpp_token.alerts = vpp_token_alerts(vpp_token)
        context["vpp_tokens"] = tokens
        context["certificates"] = list(selectors.certificate_list(user=self.request.user))
        return context


class _UserFormView(ServiceFormView):
    """A form whose scope-tag field offers the tags of the signed-in user's roles."""

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}


class VppTokenUploadView(_UserFormView):
    """Upload a .vpptoken."""

    template_name = "profiles/vpp_token_form.html"
    required_action = CHANGE
    post_action = CHANGE
    form_class = VppTokenUploadForm
    extra_context = {"title": "Upload a VPP token"}

    def get_breadcrumbs(self):
        return [*_vpp_crumbs(), ("Upload", None)]

    def perform(self, form):
        data = form.cleaned_data
        vpp_token = services.vpp_token_create(
            actor=self.request.user,
            token_file=data["token_file"].read(MAX_UPLOAD_BYTES + 1),
            name=data["name"],
            apple_id=data["apple_id"],
            licenses_total=data["licenses_total"] or 0,
            licenses_used=data["licenses_used"] or 0,
            scope_tags=list(data["scope_tags"]),
        )
        _report_vpp_state(self.request, vpp_token, f"The VPP token {vpp_token} was uploaded.")
        return redirect("profiles:vpp_token_list")


def _report_vpp_state(request, vpp_token, done: str) -> None:
    """What an admin must know after an upload or refresh: licences and expiry, from Apple when it answered."""
    alerts = vpp_token_alerts(vpp_token)
    if vpp_token.licenses_error:
        messages.warning(request, f"{done} Company Portal licences could not be read: {vpp_token.licenses_error}")
    else:
        text = (
            f"{done} Apple reports {vpp_token.licenses_left} of {vpp_token.cp_licenses_total} Company Portal "
            f"licenses free; the token is valid until {vpp_token.expires_at:%Y-%m-%d}."
        )
        # The list it lands on shows the token's alerts themselves.
        (messages.warning if alerts else messages.success)(request, text)


class VppTokenRefreshView(ConsoleMixin, View):
    """Read the licence counts from Apple now (the schedule does it every few hours)."""

    required_action = CHANGE
    post_action = CHANGE

    def post(self, request, pk):
        vpp_token = selectors.vpp_token_get(user=request.user, pk=pk, action=CHANGE)
        vpp_token = services.vpp_token_refresh(actor=request.user, vpp_token=vpp_token)
        _report_vpp_state(request, vpp_token, f"Refreshed {vpp_token} from Apple.")
        return redirect("profiles:vpp_token_list")


class VppTokenEditView(_UserFormView):
    """Edit name, Apple ID and licences; optionally upload the renewed token file."""

    template_name = "profiles/vpp_token_form.html"
    required_action = CHANGE
    post_action = CHANGE
    form_class = VppTokenEditForm

    def load(self, request, *args, **kwargs):
        self.vpp_token = selectors.vpp_token_get(user=request.user, pk=kwargs["pk"], action=CHANGE)

    def get_breadcrumbs(self):
        return [*_vpp_crumbs(), (str(self.vpp_token), None)]

    def get_initial(self):
        vpp_token = self.vpp_token
        return {
            "name": vpp_token.name,
            "apple_id": vpp_token.apple_id,
            "licenses_total": vpp_token.cp_licenses_total,
            "licenses_used": vpp_token.cp_licenses_used,
            "scope_tags": list(vpp_token.scope_tags.all()),
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title=f"VPP token: {self.vpp_token}", vpp_token=self.vpp_token)
        context["alerts"] = vpp_token_alerts(self.vpp_token)
        return context

    def perform_delete(self):
        services.vpp_token_delete(actor=self.request.user, vpp_token=self.vpp_token)
        messages.success(self.request, f"The VPP token {self.vpp_token} was deleted.")
        return redirect("profiles:vpp_token_list")

    def perform(self, form):
        data = form.cleaned_data
        services.vpp_token_update(
            actor=self.request.user,
            vpp_token=self.vpp_token,
            name=data["name"],
            apple_id=data["apple_id"],
            licenses_total=data["licenses_total"],
            licenses_used=data["licenses_used"],
            token_file=data["token_file"].read(MAX_UPLOAD_BYTES + 1) if data["token_file"] else None,
            scope_tags=list(data["scope_tags"]),
        )
        messages.success(self.request, "VPP token saved.")
        return redirect("profiles:vpp_token_list")


class CertificateUploadView(_UserFormView):
    """Upload an Apple Configurator certificate."""

    template_name = "profiles/vpp_token_form.html"
    required_action = CHANGE
    post_action = CHANGE
    form_class = CertificateUploadForm
    extra_context = {"title": "Upload an Apple Configurator certificate"}

    def get_breadcrumbs(self):
        return [*_vpp_crumbs(), ("Apple Configurator certificate", None)]

    def perform(self, form):
        data = form.cleaned_data
        certificate = services.configurator_certificate_create(
            actor=self.request.user,
            certificate_file=data["certificate_file"].read(MAX_UPLOAD_BYTES + 1),
            name=data["name"],
            scope_tags=list(data["scope_tags"]),
        )
        if _wants_json(self.request):
            return JsonResponse({"id": certificate.pk, "name": str(certificate)}, status=201)
        messages.success(self.request, f"The certificate {certificate} was uploaded.")
        return redirect("profiles:vpp_token_list")

    def form_invalid(self, form):
        if _wants_json(self.request):
            return JsonResponse({"errors": {field: list(errors) for field, errors in form.errors.items()}}, status=400)
        return super().form_invalid(form)


def _wants_json(request) -> bool:
    """The profile wizard uploads a certificate in place and reads the answer as JSON."""
    return "application/json" in request.headers.get("Accept", "")


class CertificateDeleteView(ConsoleMixin, TemplateView):
    """Delete a certificate that no profile uses (POST only, from the list's confirm dialog)."""

    http_method_names = ["post"]  # it has no page: a GET is a 405, not a missing template
    required_action = CHANGE
    post_action = CHANGE

    def post(self, request, pk):
        certificate = selectors.certificate_get(user=request.user, pk=pk, action=CHANGE)
        try:
            services.configurator_certificate_delete(actor=request.user, certificate=certificate)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"The certificate {certificate} was deleted.")
        return redirect("profiles:vpp_token_list")


class DeviceAssignView(DeviceBulkView):
    """The device list's Assign and Unassign: its selection and preview, then profiles.assignment."""

    actions = ("assign", "unassign")

    def chosen_profile(self, action: str):
        if action != "assign":
            return None
        pk = self.request.POST.get("profile", "")
        profile = selectors.profile_assignable(user=self.request.user).filter(pk=pk if pk.isdigit() else None).first()
        if profile is None:
            raise ApplicationError("Choose the profile to assign.")
        return profile

    def _apply(self, action, devices, profile, back):
        user = self.request.user
        if action == "assign":
            job = assignment.profile_assign_selected(actor=user, profile=profile, devices=devices)
            return redirect("profiles:job_detail", pk=job.pk)
        jobs = assignment.profile_unassign_selected(actor=user, devices=devices)
        if len(jobs) == 1:
            return redirect("profiles:job_detail", pk=jobs[0].pk)
        messages.success(self.request, f"Unassignment started for {len(jobs)} tokens; see each token's jobs.")
        return redirect(back)


class DeviceImportConfirmView(ConsoleMixin, View):
    """Confirm a device import's preview: its matched devices get the import's profile."""

    required_action = CHANGE
    post_action = CHANGE
    http_method_names = ["post"]

    def post(self, request, pk):
        device_import = device_selectors.device_import_get(user=request.user, pk=pk, action=CHANGE)
        try:
            job = assignment.device_import_confirm(actor=request.user, device_import=device_import)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("devices:device_import_detail", pk=pk)
        return redirect("profiles:job_detail", pk=job.pk)
