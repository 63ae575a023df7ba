"""The one place where a profile's settings become Apple's profile JSON (POST /profile).

| Setting                          | Apple key                 | Value                                              |
|----------------------------------|---------------------------|----------------------------------------------------|
| name                             | profile_name              | as stored                                          |
| (setting DEP_MDM_ENROLLMENT_URL) | url                       | where devices fetch the MDM enrollment profile     |
| web sign-in URL                  | configuration_web_url     | only when set: Setup Assistant opens that page to  |
|                                  |                           | sign the user in before it downloads the profile   |
| supervised                       | is_supervised             | bool                                               |
| locked enrollment                | is_mdm_removable          | not locked (Apple: false only with is_supervised)  |
| mandatory enrollment             | is_mandatory              | bool (all ADE enrollments are mandatory, iOS 13+)  |
| support e-mail address           | support_email_address     | omitted when blank                                 |
| organization magic               | org_magic                 | omitted when blank                                 |
| anchor certificates              | anchor_certs              | base64 DER, trusted for `url`                      |
| language / region (macOS, tvOS)  | language / region         | omitted when blank                                 |
| auto advance (macOS, tvOS)       | auto_advance_setup        | bool                                               |
| Shared iPad (iOS/iPadOS)         | is_multi_user             | bool                                               |
| no profile from backup (iOS, visionOS) | do_not_use_profile_from_backup | bool (iOS/visionOS 26+)                   |
| Return to Service (iOS, visionOS)| is_return_to_service      | bool (iOS/visionOS 26+)                            |
| sync with computers              | allow_pairing             | false for Deny All, true otherwise                 |
| Configurator certificates        | supervising_host_certs    | base64 DER, only with "by certificate"             |
| await final configuration        | await_device_configured   | bool                                               |
| department name                  | department                | omitted when blank                                 |
| department phone                 | support_phone_number      | omitted when blank                                 |
| Setup Assistant screens (Hide)   | skip_setup_items          | sorted Apple skip keys                             |

Company Portal, its VPP token, single app mode and the device name template are applied by the MDM
server after enrollment, so they have no Apple key. Keys of another platform are never sent (profiles.rules).
Apple's Profile object: https://developer.apple.com/documentation/devicemanagement/profile
"""

from django.conf import settings

from profiles.models import ConfiguratorCertificate, EnrollmentProfile, SyncWithComputers
from profiles.rules import settings_for


def apple_profile_json(profile: EnrollmentProfile, certificates: list[ConfiguratorCertificate] | None = None) -> dict:
    """Apple's profile JSON for the profile's settings (see the table above).

    `certificates` stands in for the profile's saved Configurator certificates (for settings not saved yet).
    """
    url = settings.DEP_MDM_ENROLLMENT_URL
    by_certificate = profile.sync_with_computers == SyncWithComputers.CERTIFICATE
    if certificates is None:
        certificates = list(profile.configurator_certificates.all()) if profile.pk else []
    body: dict = {
        "profile_name": profile.name,
        "url": url,
        "is_supervised": profile.supervised,
        # Always sent explicitly: Apple's default for an absent key is true (removable).
        "is_mdm_removable": not profile.locked_enrollment,
        "is_mandatory": profile.mandatory_enrollment,
        "allow_pairing": profile.sync_with_computers != SyncWithComputers.DENY_ALL,
        "await_device_configured": profile.await_final_configuration,
        "skip_setup_items": sorted(profile.skip_setup_items or []),
        "supervising_host_certs": (
            [cert.certificate_der_b64 for cert in sorted(certificates, key=lambda cert: cert.pk)]
            if by_certificate
            else []
        ),
    }
    offered = set(settings_for(profile.platform))
    if profile.anchor_certs:
        body["anchor_certs"] = list(profile.anchor_certs)
    for setting, key in (
        ("web_sign_in_url", "configuration_web_url"),
        ("department", "department"),
        ("department_phone", "support_phone_number"),
        ("support_email", "support_email_address"),
        ("org_magic", "org_magic"),
        ("language", "language"),
        ("region", "region"),
    ):
        if setting in offered and getattr(profile, setting):
            body[key] = getattr(profile, setting)
    for setting, key in (
        ("auto_advance_setup", "auto_advance_setup"),
        ("shared_ipad", "is_multi_user"),
        ("do_not_use_profile_from_backup", "do_not_use_profile_from_backup"),
        ("return_to_service", "is_return_to_service"),
    ):
        if setting in offered:
            body[key] = getattr(profile, setting)
    return body
