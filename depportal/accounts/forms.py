from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm

from depportal.accounts.models import Role, ScopeTag
from depportal.accounts.roles import ROLE_DESCRIPTIONS
from depportal.accounts.throttle import client_address, lockout_message, signin_locked_for


class SignInForm(AuthenticationForm):
    """The console's sign-in: says so when too many failures locked the account or the address."""

    def clean(self):
        wait = signin_locked_for(account=self.cleaned_data.get("username"), address=client_address(self.request))
        if wait:
            raise forms.ValidationError(lockout_message(wait), code="locked")
        return super().clean()


class AdminSignInForm(AdminAuthenticationForm, SignInForm):
    """Django admin's sign-in, under the same lockout."""


class ScopeTagForm(forms.Form):
    name = forms.CharField(max_length=128)
    description = forms.CharField(max_length=512, required=False)


class RoleAssignmentForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.order_by("username"))
    role = forms.ChoiceField(choices=Role.choices)
    scope_tags = forms.ModelMultipleChoiceField(
        queryset=ScopeTag.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The role applies to tokens, profiles and devices carrying one of these tags. "
        "Administrators act on every tag.",
    )


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(
        widget=forms.PasswordInput,
        required=False,
        help_text="Leave empty to get a one-time link instead, with which the user chooses their own password.",
    )


class UserEditForm(forms.Form):
    email = forms.EmailField(required=False)
    is_active = forms.BooleanField(
        label="Account enabled",
        required=False,
        help_text="A disabled user cannot sign in, and their API tokens stop working.",
    )


class UserRolesForm(forms.Form):
    """Every role of one user on one form: a tick per role and the scope tags it is limited to."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        tags = ScopeTag.objects.all()
        for value, label in Role.choices:
            self.fields[f"role_{value}"] = forms.BooleanField(label=label, required=False)
            if value != Role.ADMINISTRATOR:
                self.fields[f"tags_{value}"] = forms.ModelMultipleChoiceField(
                    queryset=tags, required=False, widget=forms.CheckboxSelectMultiple, label=f"{label}: scope tags"
                )

    @classmethod
    def for_user(cls, user) -> "UserRolesForm":
        initial = {}
        for assignment in user.role_assignments.all():
            initial[f"role_{assignment.role}"] = True
            initial[f"tags_{assignment.role}"] = list(assignment.scope_tags.all())
        return cls(initial=initial)

    def rows(self):
        """(role label, description, tick field, tags field or None) for the template's table."""
        return [
            (
                label,
                ROLE_DESCRIPTIONS[value],
                self[f"role_{value}"],
                self[f"tags_{value}"] if value != Role.ADMINISTRATOR else None,
            )
            for value, label in Role.choices
        ]

    def roles(self) -> dict[str, list[ScopeTag]]:
        return {
            value: list(self.cleaned_data.get(f"tags_{value}") or [])
            for value in Role.values
            if self.cleaned_data.get(f"role_{value}")
        }


API_TOKEN_LIFETIMES = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (180, "180 days"), (365, "1 year")]


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=128, help_text="What the token is for, e.g. the script that uses it.")
    expires_in_days = forms.TypedChoiceField(
        label="Expires after",
        choices=API_TOKEN_LIFETIMES,
        coerce=int,
        initial=90,
        required=False,
        empty_value=90,
        help_text="Scripts using the token stop working then; create a new one before.",
    )
