from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm

from depportal.accounts.models import Role, ScopeTag
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
    password = forms.CharField(widget=forms.PasswordInput, help_text="At least 8 characters, not a common password.")


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=128, help_text="What the token is for, e.g. the script that uses it.")


def apply_error(form: forms.Form, error) -> None:
    """Put an ApplicationError's field messages on the form, and the rest on the form itself."""
    placed = False
    for field, messages in error.fields.items():
        if field in form.fields:
            for message in messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)
