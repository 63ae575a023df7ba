"""Console forms of the devices app."""

from django import forms

from devices.columns import COLUMNS


class ColumnsForm(forms.Form):
    """The columns to show in the device list."""

    columns = forms.MultipleChoiceField(choices=[(c.key, c.label) for c in COLUMNS], required=False)


class _ProfileChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.token.name}: {obj.name}"


class ImportForm(forms.Form):
    """Serial numbers pasted or uploaded as CSV, checked against a token (and a profile to assign)."""

    token = forms.ModelChoiceField(queryset=None, empty_label="Choose a token")
    profile = _ProfileChoiceField(
        queryset=None,
        required=False,
        empty_label="None: only look the devices up",
        label="Assign profile",
        help_text="Nothing changes until you confirm the preview.",
    )
    serial_numbers = forms.CharField(
        required=False,
        label="Serial numbers",
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "One per line, or CSV text with the serial first"}),
    )
    csv_file = forms.FileField(
        required=False,
        label="Or upload a CSV",
        help_text="Serial numbers in the first column, header optional, up to 50,000 rows.",
    )

    def __init__(self, *args, tokens, profiles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["token"].queryset = tokens
        self.fields["profile"].queryset = profiles

    def clean(self):
        cleaned = super().clean()
        token, profile = cleaned.get("token"), cleaned.get("profile")
        if token is not None and profile is not None and profile.token_id != token.pk:
            self.add_error("profile", f"{profile.name} belongs to {profile.token.name}, not {token.name}.")
        if profile is not None and not profile.profile_uuid:
            self.add_error("profile", "This profile is not at Apple yet; push it from its page first.")
        if not cleaned.get("serial_numbers", "").strip() and not cleaned.get("csv_file"):
            self.add_error("serial_numbers", "Paste serial numbers or upload a CSV.")
        return cleaned
