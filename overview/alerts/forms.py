from django import forms


class NotificationSettingsForm(forms.Form):
    """Where alerts go. Validation lives in the service, so the console and the API agree."""

    email_enabled = forms.BooleanField(required=False, label="Send alerts by email")
    email_recipients = forms.CharField(
        required=False,
        label="Email recipients",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Comma-separated addresses, e.g. mdm-team@example.com, oncall@example.com.",
    )
    webhook_enabled = forms.BooleanField(required=False, label="Send alerts to a webhook")
    webhook_url = forms.CharField(
        required=False,
        max_length=1000,
        label="Webhook URL",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/dep-portal"}),
        help_text="Receives a JSON POST per alert, signed in the X-DEPPortal-Signature header.",
    )
    webhook_secret = forms.CharField(
        required=False,
        strip=False,
        label="Webhook secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    webhook_secret_clear = forms.BooleanField(required=False, label="Remove the stored secret")

    def __init__(self, *args, secret_set: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["webhook_secret"].help_text = (
            "Set. Leave blank to keep it; it is never shown again."
            if secret_set
            else "Not set. At least 16 characters; the receiver checks the HMAC-SHA256 signature with it."
        )
        if not secret_set:
            del self.fields["webhook_secret_clear"]
