from django import forms

from depportal.accounts.forms import ScopeTagsField, WithScopeTags
from profiles import selectors
from profiles.models import AuthMethod, EnrollmentProfile, Platform, SyncWithComputers, UserAffinity
from profiles.rules import BOOLEAN_SETTINGS, anchor_certs_from_text, settings_for
from profiles.setup_screens import screens_for

SHOW, HIDE = "show", "hide"
# Which wizard page holds each field, so a rule error opens the page where it can be fixed.
STEP_OF_FIELD = {
    "name": 1,
    "description": 1,
    "department": 3,
    "department_phone": 3,
    "support_email": 3,
    "language": 3,
    "region": 3,
    "auto_advance_setup": 3,
    "skip_setup_items": 3,
}


def anchor_pem(cert: str) -> str:
    """A base64 DER certificate as a PEM block."""
    lines = [cert[i : i + 64] for i in range(0, len(cert), 64)]
    return "\n".join(["-----BEGIN CERTIFICATE-----", *lines, "-----END CERTIFICATE-----"])


def step_of(field: str) -> int:
    """The wizard page (1-3) of a form field."""
    if field.startswith("screen_"):
        return 3
    return STEP_OF_FIELD.get(field, 2)


class YesNoField(forms.TypedChoiceField):
    """A Yes/No radio pair; absent (a hidden, disabled option) means No."""

    def __init__(self, **kwargs):
        super().__init__(
            choices=[("yes", "Yes"), ("no", "No")],
            coerce=lambda value: value == "yes",
            empty_value=False,
            required=False,
            widget=forms.RadioSelect,
            **kwargs,
        )


class ProfileForm(forms.Form):
    """Every setting of the create/edit wizard; the rules are checked by the service, not here."""

    name = forms.CharField(
        max_length=200,
        required=False,
        strip=False,
        help_text="Shown only to admins. Dynamic groups can match it as enrollmentProfileName, exactly as written.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    user_affinity = forms.ChoiceField(choices=UserAffinity.choices, widget=forms.RadioSelect, label="User affinity")
    auth_method = forms.ChoiceField(
        choices=AuthMethod.choices,
        widget=forms.RadioSelect,
        required=False,
        label="Select where users must authenticate",
        help_text="Company Portal supports multifactor authentication and password changes during enrollment.",
    )
    install_company_portal = YesNoField(label="Install Company Portal")
    vpp_token = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="None (users need an Apple ID)",
        label="Install Company Portal with VPP",
        help_text="The token needs Company Portal licenses; devices are blocked when it expires or has none left.",
    )
    single_app_mode = YesNoField(
        label="Run Company Portal in Single App Mode until authentication",
        help_text="Locks the device to Company Portal until the user signs in (iOS/iPadOS 11.3.1 and later).",
    )
    supervised = YesNoField(label="Supervised", help_text="More management options; Activation Lock off by default.")
    locked_enrollment = YesNoField(
        label="Locked enrollment", help_text="Users cannot remove the management profile. Requires Supervised."
    )
    sync_with_computers = forms.ChoiceField(choices=SyncWithComputers.choices, label="Sync with computers")
    configurator_certificates = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label="Apple Configurator certificates"
    )
    await_final_configuration = YesNoField(
        label="Await final configuration",
        help_text="Holds users at the end of Setup Assistant until critical configuration is installed.",
    )
    apply_device_name_template = YesNoField(label="Apply device name template")
    device_name_template = forms.CharField(
        required=False,
        label="Device name template",
        help_text="Use {{SERIAL}} and {{DEVICETYPE}}; at most 63 characters once expanded.",
    )
    department = forms.CharField(
        required=False,
        label="Department name",
        help_text="Shown when users tap About Configuration during activation.",
    )
    department_phone = forms.CharField(
        required=False, label="Department phone", help_text="Shown when users tap Need Help during activation."
    )
    support_email = forms.CharField(
        required=False, label="Support e-mail address", help_text="Shown with the department phone as the contact."
    )
    language = forms.CharField(
        required=False,
        label="Language",
        help_text="Preselects Setup Assistant's language: ISO 639 code such as en, fr or haw (macOS 11+, tvOS).",
    )
    region = forms.CharField(
        required=False, label="Region", help_text="Preselects the region: ISO 3166-1 code such as US or GB."
    )
    auto_advance_setup = YesNoField(
        label="Auto advance Setup Assistant", help_text="Setup Assistant moves through its screens by itself."
    )
    shared_ipad = YesNoField(
        label="Shared iPad",
        help_text="Several users share the iPad, each with their own data. Requires supervision and no user affinity.",
    )
    mandatory_enrollment = YesNoField(
        label="Mandatory enrollment",
        help_text="Users cannot skip enrollment (always so on iOS/iPadOS 13 and later).",
    )
    org_magic = forms.CharField(
        required=False,
        label="Organization magic",
        help_text="A string that identifies your organization's services to the device (Apple's org_magic).",
    )
    anchor_certs = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "-----BEGIN CERTIFICATE-----"}),
        label="Anchor certificates",
        help_text="PEM certificates the device trusts for the MDM server instead of the built-in roots.",
    )
    web_sign_in_url = forms.CharField(
        required=False,
        label="Web sign-in URL",
        help_text=(
            "Only if you run a web sign-in page: Setup Assistant opens it to sign the user in, and that page must "
            "serve the MDM enrollment profile (MIME application/x-apple-aspen-config) from the same host. "
            "Leave empty to enroll without it."
        ),
    )
    do_not_use_profile_from_backup = YesNoField(
        label="Do not restore the enrollment profile from a backup",
        help_text="A restored device reads its current profile from Apple instead (iOS/iPadOS, visionOS 26+).",
    )
    return_to_service = YesNoField(
        label="Return to Service",
        help_text="Configures the device for Rapid Return to Service (iOS/iPadOS, visionOS 26+).",
    )

    def __init__(self, *args, user, platform: str = "ios", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vpp_token"].queryset = selectors.vpp_token_list(user=user)
        self.fields["vpp_token"].label_from_instance = lambda vpp_token: vpp_token.offer_label
        self.fields["configurator_certificates"].queryset = selectors.certificate_list(user=user)
        self.platform = platform
        offered = set(settings_for(platform))
        for name in [name for name in self.fields if name not in offered]:
            del self.fields[name]
        self.screens = [screen for screen in screens_for(platform) if screen.hideable]
        for screen in self.screens:
            self.fields[f"screen_{screen.key}"] = forms.ChoiceField(
                choices=[(SHOW, "Show"), (HIDE, "Hide")],
                initial=SHOW,
                required=False,
                widget=forms.RadioSelect,
                label=screen.label,
                help_text=screen.shows,
            )

    @classmethod
    def initial_from(cls, values: dict) -> dict:
        """Form initial data from a values dict (see profiles.services.profile_values)."""
        initial = {key: value for key, value in values.items() if key != "skip_setup_items"}
        initial["anchor_certs"] = "\n".join(anchor_pem(cert) for cert in values.get("anchor_certs") or [])
        for key in BOOLEAN_SETTINGS:
            initial[key] = "yes" if values[key] else "no"
        for key in values.get("skip_setup_items") or []:
            initial[f"screen_{key}"] = HIDE
        return initial

    def screen_fields(self):
        return [self[f"screen_{screen.key}"] for screen in self.screens]

    def screen_groups(self) -> list[tuple[str, list[dict]]]:
        """The platform's panes by group (the seed's first): each with its field (None without an Apple key)."""
        groups: dict[str, list[dict]] = {}
        for screen in screens_for(self.platform):
            groups.setdefault(screen.group, []).append(
                {
                    "screen": screen,
                    "field": self[f"screen_{screen.key}"] if screen.hideable else None,
                    "hints": screen.hints(self.platform),
                }
            )
        return list(groups.items())

    def to_values(self) -> dict:
        """The settings as the services take them (call after is_valid)."""
        data = self.cleaned_data
        # Settings the platform does not offer are left out: the service gives them the platform's default.
        values = {name: data.get(name) for name in self.fields if not name.startswith("screen_")}
        if "auth_method" in values:
            # Without user affinity the authentication question is not asked; Setup Assistant is what happens.
            values["auth_method"] = values["auth_method"] or AuthMethod.SETUP_ASSISTANT
        if "anchor_certs" in values:
            values["anchor_certs"] = anchor_certs_from_text(values["anchor_certs"] or "")
        if "configurator_certificates" in values:
            values["configurator_certificates"] = list(data.get("configurator_certificates") or [])
        values["skip_setup_items"] = [s.key for s in self.screens if data.get(f"screen_{s.key}") == HIDE]
        return values


class DefaultProfileForm(forms.Form):
    """One default per platform; each list offers only that platform's profiles of the token."""

    def __init__(self, *args, token, **kwargs):
        super().__init__(*args, **kwargs)
        for platform, label in Platform.choices:
            self.fields[f"profile_{platform}"] = forms.ModelChoiceField(
                queryset=EnrollmentProfile.objects.filter(token=token, platform=platform).order_by("name"),
                required=False,
                empty_label="No default profile",
                label=f"{label} default profile",
            )


class AssignForm(forms.Form):
    serial_numbers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "One per line, or CSV text with the serial first"}),
        label="Serial numbers",
    )
    csv_file = forms.FileField(
        required=False,
        label="Or upload a CSV",
        help_text="Serial numbers in the first column, header optional, up to 50,000 rows.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class VppTokenUploadForm(WithScopeTags):
    token_file = forms.FileField(
        label="VPP token file",
        help_text="The .vpptoken downloaded from Apple Business Manager (Settings > Apps and Books).",
        widget=forms.ClearableFileInput(attrs={"accept": ".vpptoken"}),
    )
    name = forms.CharField(max_length=128, required=False, help_text="Defaults to the organisation in the token.")
    apple_id = forms.CharField(label="Apple ID", max_length=254, required=False)
    licenses_total = forms.IntegerField(
        label="Company Portal licenses (total)",
        min_value=0,
        initial=0,
        required=False,
        help_text="Read from Apple's Apps and Books service on upload and every few hours; what you type here "
        "only counts while Apple cannot be reached.",
    )
    licenses_used = forms.IntegerField(label="Company Portal licenses (used)", min_value=0, initial=0, required=False)
    scope_tags = ScopeTagsField()


class VppTokenEditForm(VppTokenUploadForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["token_file"].required = False
        self.fields["token_file"].help_text = "Optional: a renewed .vpptoken for this token."
        self.fields["name"].required = True


class CertificateUploadForm(WithScopeTags):
    certificate_file = forms.FileField(
        label="Certificate file",
        help_text="Export it from Apple Configurator (Preferences > Organizations) as .cer, .pem or .der.",
        widget=forms.ClearableFileInput(attrs={"accept": ".cer,.pem,.der,.crt"}),
    )
    name = forms.CharField(max_length=128, required=False, help_text="Defaults to the certificate's common name.")
    scope_tags = ScopeTagsField()
