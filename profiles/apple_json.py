"""The one place where a profile's settings become Apple's profile JSON (POST /profile).

| Setting                          | Apple key                 | Value                                              |
|----------------------------------|---------------------------|----------------------------------------------------|
| name                             | profile_name              | as stored                                          |
| (setting DEP_MDM_ENROLLMENT_URL) | url                       | where devices fetch the MDM enrollment profile     |
| user affinity                    | configuration_web_url     | with user affinity: the enrollment URL, so Setup   |
|                                  |                           | Assistant opens the MDM's web sign-in first; omitted|
|                                  |                           | without user affinity                              |
| supervised                       | is_supervised             | bool                                               |
| locked enrollment                | is_mdm_removable          | not locked (Apple: false only with is_supervised)  |
| (always)                         | is_mandatory              | true: ADE enrollment cannot be skipped (iOS 13+)   |
| sync with computers              | allow_pairing             | false for Deny All, true otherwise                 |
| Configurator certificates        | supervising_host_certs    | base64 DER, only with "by certificate"             |
| await final configuration        | await_device_configured   | bool                                               |
| department name                  | department                | omitted when blank                                 |
| department phone                 | support_phone_number      | omitted when blank                                 |
| Setup Assistant screens (Hide)   | skip_setup_items          | sorted Apple skip keys                             |

Company Portal, its VPP token, single app mode and the device name template are applied by the MDM
server after enrollment, so they have no Apple key.
"""

from django.conf import settings

from profiles.models import ConfiguratorCertificate, EnrollmentProfile, SyncWithComputers, UserAffinity


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
        "is_mandatory": True,
        "allow_pairing": profile.sync_with_computers != SyncWithComputers.DENY_ALL,
        "await_device_configured": profile.await_final_configuration,
        "skip_setup_items": sorted(profile.skip_setup_items or []),
        "supervising_host_certs": (
            [cert.certificate_der_b64 for cert in sorted(certificates, key=lambda cert: cert.pk)]
            if by_certificate
            else []
        ),
    }
    if profile.user_affinity == UserAffinity.WITH_USER:
        body["configuration_web_url"] = url
    if profile.department:
        body["department"] = profile.department
    if profile.department_phone:
        body["support_phone_number"] = profile.department_phone
    return body
