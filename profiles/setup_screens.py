"""Apple's Setup Assistant panes per platform, each with the skip key that hides it.

Built from Apple's SkipKeys list (https://developer.apple.com/documentation/devicemanagement/skipkeys and
`other/skipkeys.yaml` of github.com/apple/device-management); the dated copy it must match is
profiles/apple_data/skipkeys-2026-12-01.yaml. Only these keys are ever sent to Apple.

The seed's 23 screens come first, in the seed's order and wording. Two of them (Express Language,
Preferred Language) have no Apple key: they are listed with the reason instead of a Show/Hide choice.
"""

from dataclasses import dataclass

IOS, MACOS, TVOS, VISIONOS = "ios", "macos", "tvos", "visionos"
OS_NAMES = {IOS: "iOS", MACOS: "macOS", TVOS: "tvOS", VISIONOS: "visionOS"}
SEED_GROUP = "Screens of the Intune profile"
MORE_GROUP = "More panes Apple lets you hide"


@dataclass(frozen=True)
class SetupScreen:
    """One pane of a platform's Setup Assistant: Apple's key ("" when Apple has none), name, what Show does."""

    key: str
    label: str
    shows: str
    introduced: str = ""
    deprecated: str = ""
    removed: str = ""
    # Apple: the pane may appear before the device has its profile, so hiding it is not always honoured.
    always_skippable: bool = True
    group: str = SEED_GROUP
    # Why no key hides this pane (only for panes without a key).
    no_key_reason: str = ""

    @property
    def hideable(self) -> bool:
        return bool(self.key)

    def hints(self, platform: str) -> list[str]:
        """The console's hints: since which release, deprecated/removed, not always skippable."""
        os_name = OS_NAMES.get(platform, platform)
        hints = []
        if self.introduced:
            hints.append(f"since {os_name} {self.introduced}")
        if self.deprecated:
            hints.append(f"deprecated in {os_name} {self.deprecated}")
        if self.removed:
            hints.append(f"removed in {os_name} {self.removed}")
        if not self.always_skippable:
            hints.append("not always skippable")
        return hints


# Name and "Show" text of every Apple key. The seed's wording for its screens; ours for the others.
_PANES: dict[str, tuple[str, str]] = {
    "Passcode": ("Passcode", "Prompt the user for a passcode."),
    "Location": ("Location Services", "Prompt the user for their location."),
    "Restore": ("Restore", "Display the Apps & Data screen (restore or transfer from iCloud Backup)."),
    "AppleID": ("iCloud and Apple ID", "Offer to sign in with an Apple ID and use iCloud."),
    "TOS": ("Terms and Conditions", "Require the user to accept Apple's terms and conditions."),
    "Biometric": ("Touch ID", "Offer to set up fingerprint (or face) identification."),
    "Payment": ("Apple Pay", "Offer to set up Apple Pay."),
    "Zoom": ("Zoom", "Offer to zoom the display."),
    "Siri": ("Siri", "Offer to set up Siri."),
    "Diagnostics": ("Diagnostic Data", "Offer to send diagnostic data to Apple."),
    "DisplayTone": ("Display Tone", "Offer to turn on Display Tone."),
    "Privacy": ("Privacy", "Display the Privacy screen."),
    "Android": ("Android Migration", "Offer to migrate data from an Android device."),
    "iMessageAndFaceTime": ("iMessage and FaceTime", "Offer to set up iMessage and FaceTime."),
    "OnBoarding": ("Onboarding", "Display onboarding screens such as Cover Sheet and Multitasking."),
    "WatchMigration": ("Watch Migration", "Offer to migrate data from a watch."),
    "ScreenTime": ("Screen Time", "Display the Screen Time screen."),
    "SoftwareUpdate": ("Software Update", "Display the mandatory software update screen."),
    "SIMSetup": ("SIM Setup", "Offer to add a cellular plan."),
    "Appearance": ("Appearance", "Display the Appearance screen."),
    "DeviceToDeviceMigration": ("Device to Device Migration", "Offer to migrate data from an old device."),
    # Not in the seed's table.
    "Accessibility": ("Accessibility", "Display the Accessibility screen when additional users are created."),
    "ActionButton": ("Action Button", "Offer to choose what the Action button does."),
    "AdditionalPrivacySettings": ("Additional Privacy Settings", "Display the additional privacy settings."),
    "AppStore": ("App Store", "Display the App Store information screen."),
    "CameraButton": ("Camera Control", "Show how to use the Camera Control button."),
    "EnableLockdownMode": ("Lockdown Mode", "Offer to turn on Lockdown Mode once an Apple Account is set up."),
    "FileVault": ("FileVault", "Offer to turn on FileVault disk encryption."),
    "HomeButtonSensitivity": ("Home Button", "Offer to set the feel of the Home button (iPhone 7, 8 and SE)."),
    "iCloudDiagnostics": ("iCloud Analytics", "Offer to share iCloud analytics with Apple."),
    "iCloudStorage": ("iCloud Documents and Desktop", "Offer to keep Documents and Desktop in iCloud."),
    "Intelligence": ("Apple Intelligence", "Offer to set up Apple Intelligence."),
    "Keyboard": ("Keyboard", "Offer to choose keyboards."),
    "MessagingActivationUsingPhoneNumber": (
        "iMessage activation by phone number",
        "Activate iMessage with the phone number (in some regions).",
    ),
    "Multitasking": ("Multitasking", "Display the Multitasking screen."),
    "OSShowcase": ("OS Showcase", "Display the screen that presents the new system."),
    "RestoreCompleted": ("Restore Completed", "Display the screen shown after a restore."),
    "Safety": ("Safety", "Display the Safety (Emergency SOS) screen."),
    "SafetyAndHandling": ("Safety and Handling", "Display the safety and handling information."),
    "ScreenSaver": ("Screen Saver", "Show how the aerial screen savers work."),
    "SpokenLanguage": ("Dictation", "Offer to choose the dictation language."),
    "TapToSetup": ("Tap to Set Up", "Offer to set up the Apple TV with an iPhone or iPad."),
    "TermsOfAddress": ("Terms of Address", "Offer to choose how to be addressed (in some languages)."),
    "Tips": ("Tips", "Display the Tips screen."),
    "TVHomeScreenSync": ("Home Screen Sync", "Offer to sync the Home Screen layout."),
    "TVProviderSignIn": ("TV Provider", "Offer to sign in to a TV provider."),
    "TVRoom": ("Where is this Apple TV?", "Offer to choose the room of the Apple TV."),
    "UnlockWithWatch": ("Unlock with Apple Watch", "Offer to unlock the Mac with an Apple Watch."),
    "UpdateCompleted": ("Software Update Completed", "Display the screen shown after a software update."),
    "Wallpaper": ("Wallpaper", "Offer to choose a wallpaper."),
    "WebContentFiltering": ("Web Content Filtering", "Offer to set up web content filtering."),
    "Welcome": ("Get Started", "Display the Get Started screen."),
}

# The seed's table, in its order; None where Apple has no key (see _NO_KEY).
_SEED_ORDER = (
    "Passcode",
    "Location",
    "Restore",
    "AppleID",
    "TOS",
    "Biometric",
    "Payment",
    "Zoom",
    "Siri",
    "Diagnostics",
    "DisplayTone",
    "Privacy",
    "Android",
    "iMessageAndFaceTime",
    "OnBoarding",
    "WatchMigration",
    "ScreenTime",
    "SoftwareUpdate",
    "SIMSetup",
    "Appearance",
    "ExpressLanguage",
    "PreferredLanguage",
    "DeviceToDeviceMigration",
)
_NO_KEY = {
    "ExpressLanguage": SetupScreen(
        "",
        "Express Language",
        "Display the Express Language screen.",
        no_key_reason=(
            "Apple has no skip key for this screen: it appears before the device downloads its enrollment "
            "profile, so no MDM can hide it. Keyboard and Dictation, shown just after it, can be hidden below "
            "(not always skippable)."
        ),
    ),
    "PreferredLanguage": SetupScreen(
        "",
        "Preferred Language",
        "Offer to choose the preferred language.",
        no_key_reason=(
            "Apple has no skip key for this screen: the language is chosen before the device downloads its "
            "enrollment profile. Profiles for macOS and tvOS can preset the language and region instead."
        ),
    ),
}

# Per platform: Apple's key, the release that introduced it and, where Apple says so, the release that
# deprecated or removed it and whether the pane may still appear ("sometimes").
_RELEASES: dict[str, tuple[tuple, ...]] = {
    IOS: (
        ("Passcode", "7.0"),
        ("Location", "7.0"),
        ("Restore", "7.0"),
        ("AppleID", "7.0"),
        ("TOS", "7.0"),
        ("Biometric", "8.1"),
        ("Payment", "8.1"),
        ("Zoom", "8.3", "deprecated", "17.0"),
        ("Siri", "7.0"),
        ("Diagnostics", "7.0"),
        ("DisplayTone", "9.3.2", "deprecated", "15.0"),
        ("Privacy", "11.3"),
        ("Android", "9.0"),
        ("iMessageAndFaceTime", "12.0"),
        ("OnBoarding", "11.0", "deprecated", "14.0"),
        ("WatchMigration", "11.0"),
        ("ScreenTime", "12.0"),
        ("SoftwareUpdate", "12.0"),
        ("SIMSetup", "12.0"),
        ("Appearance", "13.0"),
        ("DeviceToDeviceMigration", "12.4"),
        ("ActionButton", "17.0"),
        ("AppStore", "14.3"),
        ("CameraButton", "18.0"),
        ("EnableLockdownMode", "17.1"),
        ("HomeButtonSensitivity", "10.0", "deprecated", "15.0"),
        ("Intelligence", "18.0"),
        ("Keyboard", "13.0", "sometimes"),
        ("MessagingActivationUsingPhoneNumber", "10.0"),
        ("Multitasking", "26.0"),
        ("OSShowcase", "26.0"),
        ("RestoreCompleted", "14.0"),
        ("Safety", "16.0"),
        ("SafetyAndHandling", "18.4"),
        ("SpokenLanguage", "13.0", "sometimes"),
        ("TermsOfAddress", "16.0", "sometimes"),
        ("UpdateCompleted", "14.0"),
        ("WebContentFiltering", "18.2"),
        ("Welcome", "13.0"),
    ),
    MACOS: (
        ("Passcode", "10.9"),
        ("Location", "10.11"),
        ("Restore", "10.9"),
        ("AppleID", "10.9"),
        ("TOS", "10.9"),
        ("Biometric", "10.12.4"),
        ("Payment", "10.12.4"),
        ("Siri", "10.12"),
        ("Diagnostics", "10.9"),
        ("DisplayTone", "10.13.6", "deprecated", "12.0"),
        ("Privacy", "10.13.4"),
        ("ScreenTime", "10.15"),
        ("SoftwareUpdate", "15.4"),
        ("Appearance", "10.14"),
        ("Accessibility", "11.0", "sometimes"),
        ("AdditionalPrivacySettings", "26.0"),
        ("AppStore", "11.1"),
        ("EnableLockdownMode", "14.0"),
        ("FileVault", "10.10"),
        ("iCloudDiagnostics", "10.12.4"),
        ("iCloudStorage", "10.13.4"),
        ("Intelligence", "15.0"),
        ("TermsOfAddress", "13.0", "sometimes"),
        ("UnlockWithWatch", "15.0"),
        ("Wallpaper", "14.1", "removed", "26.0"),
        ("Welcome", "15.0"),
    ),
    TVOS: (
        ("Location", "10.2"),
        ("AppleID", "10.2"),
        ("TOS", "10.2"),
        ("Siri", "10.2"),
        ("Diagnostics", "10.2"),
        ("Privacy", "11.3"),
        ("ScreenSaver", "10.2"),
        ("TapToSetup", "10.2", "sometimes"),
        ("TVHomeScreenSync", "11.0"),
        ("TVProviderSignIn", "11.0"),
        ("TVRoom", "11.4"),
    ),
    VISIONOS: (
        ("Passcode", "26.0"),
        ("Location", "26.0"),
        ("AppleID", "26.0"),
        ("TOS", "26.0"),
        ("Biometric", "26.0"),
        ("Payment", "26.0"),
        ("Zoom", "26.0"),
        ("Siri", "26.0"),
        ("Diagnostics", "26.0"),
        ("Privacy", "26.0"),
        ("ScreenTime", "26.0"),
        ("SoftwareUpdate", "26.0"),
        ("Intelligence", "26.0"),
        ("Tips", "26.0"),
        ("Welcome", "26.0"),
    ),
}


def _build(platform: str) -> tuple[SetupScreen, ...]:
    by_key = {}
    for key, introduced, *flags in _RELEASES[platform]:
        label, shows = _PANES[key]
        extra: dict = {"always_skippable": "sometimes" not in flags}
        for flag, release in zip(flags[::2], flags[1::2], strict=False):
            if flag in ("deprecated", "removed"):
                extra[flag] = release
        by_key[key] = SetupScreen(key, label, shows, introduced=introduced, **extra)
    seed = [
        _NO_KEY[key] if key in _NO_KEY else by_key.pop(key)
        for key in _SEED_ORDER
        if key in by_key or (key in _NO_KEY and platform == IOS)
    ]
    more = sorted(by_key.values(), key=lambda screen: screen.label.lower())
    return (*seed, *(SetupScreen(**{**screen.__dict__, "group": MORE_GROUP}) for screen in more))


SCREENS_BY_PLATFORM: dict[str, tuple[SetupScreen, ...]] = {platform: _build(platform) for platform in _RELEASES}
IOS_SETUP_SCREENS = SCREENS_BY_PLATFORM[IOS]


def screens_for(platform: str) -> tuple[SetupScreen, ...]:
    """Every Setup Assistant pane of a platform, grouped, the seed's screens first."""
    return SCREENS_BY_PLATFORM.get(platform, ())


def skip_keys_for(platform: str) -> list[str]:
    """Apple's skip keys valid for a platform, in the console's order."""
    return [screen.key for screen in screens_for(platform) if screen.key]


def screen_label(key: str) -> str:
    """The console label of a skip key (the key itself when unknown)."""
    return _PANES.get(key, (key,))[0]
