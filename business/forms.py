from django import forms

from business.models import ActivityKind


class ConnectionForm(forms.Form):
    client_id = forms.CharField(
        label="Client ID",
        max_length=128,
        help_text="Shown for the API account in Apple Business Manager or Apple School Manager (BUSINESSAPI.… "
        "or SCHOOLAPI.…).",
    )
    key_id = forms.CharField(label="Key ID", max_length=128, help_text="Shown beside the account's private key.")
    private_key = forms.FileField(
        label="Private key",
        help_text="The .pem file downloaded when the key was generated. It is stored encrypted and never shown again.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pem"}),
    )


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="Receiver URL",
        assume_scheme="https",
        help_text="Where Apple sends device events; it must reach this portal's /tenant/business/webhook/ over HTTPS.",
    )


class ActivityForm(forms.Form):
    """Which devices and what to do with them: serial numbers, an order number or a CSV file (seed step 7)."""

    kind = forms.ChoiceField(label="Action", choices=ActivityKind.choices, initial=ActivityKind.ASSIGN)
    server = forms.ChoiceField(label="MDM server", required=False, help_text="Where assigned devices go.")
    serials = forms.CharField(
        label="Serial numbers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "One per line, or separated by commas"}),
    )
    order_number = forms.CharField(label="Order number", required=False, max_length=64)
    migration_deadline = forms.DateTimeField(
        label="MDM migration deadline",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Optional when assigning: devices another MDM server manages move to this one by then (at most "
        "90 days ahead; users may postpone until it). Required to change a deadline; an earlier one is enforced "
        "at once.",
    )
    csv_file = forms.FileField(label="CSV file", required=False, help_text="Serial numbers in the first column.")

    def __init__(self, *args, servers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["server"].choices = [("", "—"), *((str(s.pk), s.name) for s in servers)]
