from django import forms

from depportal.accounts.forms import ScopeTagsField, WithScopeTags

INHERITED = "Profiles and devices of this token inherit its scope tags. Leave empty for the default."


class ConsentForm(forms.Form):
    data_sharing_consent = forms.BooleanField(
        label="I agree",
        required=False,
        help_text="I grant permission to send user and device information to Apple.",
    )


class TokenUploadForm(WithScopeTags):
    apple_id = forms.CharField(
        label="Apple ID",
        max_length=254,
        help_text="The Apple ID you used to create this token at Apple, for future reference (and renewal).",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        error_messages={
            "required": "Enter the Apple ID you used to create this token at Apple, for future reference."
        },
    )
    token_file = forms.FileField(
        label="Apple token",
        help_text="The server token file (.p7m) you downloaded from Apple Business Manager.",
        error_messages={"required": "Choose the server token file (.p7m) you downloaded from Apple."},
        widget=forms.ClearableFileInput(attrs={"accept": ".p7m,application/pkcs7-mime"}),
    )
    name = forms.CharField(
        max_length=128, required=False, help_text="Optional. Defaults to the MDM server name you chose at Apple."
    )
    scope_tags = ScopeTagsField(help_text=INHERITED)


class TokenRenewForm(forms.Form):
    apple_id = forms.CharField(
        label="Apple ID",
        max_length=254,
        help_text="The Apple ID used to create the original token.",
        widget=forms.EmailInput(),
    )
    token_file = forms.FileField(
        label="Apple token",
        help_text="The new server token (.p7m): at Apple, choose this MDM server and Generate New Token.",
        widget=forms.ClearableFileInput(attrs={"accept": ".p7m,application/pkcs7-mime"}),
    )


class TokenEditForm(WithScopeTags):
    name = forms.CharField(max_length=128)
    apple_id = forms.CharField(label="Apple ID", max_length=254, widget=forms.EmailInput())
    scope_tags = ScopeTagsField(help_text=INHERITED)
