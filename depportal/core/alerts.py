"""The one shape of an alert, whatever raised it (an enrollment program token, a VPP token, ...)."""

from dataclasses import dataclass

from django.urls import reverse

WARNING = "warning"
CRITICAL = "critical"

# Where the console shows each kind of subject.
_SUBJECT_URLS = {
    "token": "tokens:token_detail",
    "vpp_token": "profiles:vpp_token_edit",
    "business_connection": "business:connection",
}


@dataclass(frozen=True)
class Alert:
    code: str
    level: str
    message: str
    subject: str  # "token", "vpp_token" or "business_connection"
    subject_id: int
    subject_name: str
    # Names the situation behind the alert and changes when it is a new one (e.g. it carries the expiry
    # date), so a notification goes out once per situation and level.
    key: str

    @property
    def url(self) -> str:
        if self.subject == "business_connection":  # one per organisation: its page takes no id
            return reverse(_SUBJECT_URLS[self.subject])
        return reverse(_SUBJECT_URLS[self.subject], args=[self.subject_id])

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "level": self.level,
            "message": self.message,
            "subject": self.subject,
            "subject_id": self.subject_id,
            "subject_name": self.subject_name,
            "url": self.url,
        }
