"""The Setup Assistant screens of the seed's table, each with the Apple skip key that hides it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SetupScreen:
    """One Show/Hide choice of the wizard: its label, Apple's skip key and what Show does."""

    key: str
    label: str
    shows: str


# Order and wording follow the seed's table. Express/Preferred Language use Intune's skip keys
# (reference: intune-graph-dep.md 1.9); the others are in Apple's SkipKeys list.
IOS_SETUP_SCREENS: tuple[SetupScreen, ...] = (
    SetupScreen("Passcode", "Passcode", "Prompt the user for a passcode."),
    SetupScreen("Location", "Location Services", "Prompt the user for their location."),
    SetupScreen("Restore", "Restore", "Display the Apps & Data screen (restore or transfer from iCloud Backup)."),
    SetupScreen("AppleID", "iCloud and Apple ID", "Offer to sign in with an Apple ID and use iCloud."),
    SetupScreen("TOS", "Terms and Conditions", "Require the user to accept Apple's terms and conditions."),
    SetupScreen("Biometric", "Touch ID", "Offer to set up fingerprint (or face) identification."),
    SetupScreen("Payment", "Apple Pay", "Offer to set up Apple Pay."),
    SetupScreen("Zoom", "Zoom", "Offer to zoom the display."),
    SetupScreen("Siri", "Siri", "Offer to set up Siri."),
    SetupScreen("Diagnostics", "Diagnostic Data", "Offer to send diagnostic data to Apple."),
    SetupScreen("DisplayTone", "Display Tone", "Offer to turn on Display Tone."),
    SetupScreen("Privacy", "Privacy", "Display the Privacy screen."),
    SetupScreen("Android", "Android Migration", "Offer to migrate data from an Android device."),
    SetupScreen("iMessageAndFaceTime", "iMessage and FaceTime", "Offer to set up iMessage and FaceTime."),
    SetupScreen("OnBoarding", "Onboarding", "Display onboarding screens such as Cover Sheet and Multitasking."),
    SetupScreen("WatchMigration", "Watch Migration", "Offer to migrate data from a watch."),
    SetupScreen("ScreenTime", "Screen Time", "Display the Screen Time screen."),
    SetupScreen("SoftwareUpdate", "Software Update", "Display the mandatory software update screen."),
    SetupScreen("SIMSetup", "SIM Setup", "Offer to add a cellular plan."),
    SetupScreen("Appearance", "Appearance", "Display the Appearance screen."),
    SetupScreen("ExpressLanguage", "Express Language", "Display the Express Language screen."),
    SetupScreen("PreferredLanguage", "Preferred Language", "Offer to choose the preferred language."),
    SetupScreen("DeviceToDeviceMigration", "Device to Device Migration", "Offer to migrate data from an old device."),
)

SCREENS_BY_PLATFORM: dict[str, tuple[SetupScreen, ...]] = {"ios": IOS_SETUP_SCREENS}


def screens_for(platform: str) -> tuple[SetupScreen, ...]:
    """The Setup Assistant screens the wizard offers for a platform."""
    return SCREENS_BY_PLATFORM.get(platform, ())


def screen_label(key: str) -> str:
    """The console label of a skip key (the key itself when unknown)."""
    for screens in SCREENS_BY_PLATFORM.values():
        for screen in screens:
            if screen.key == key:
                return screen.label
    return key
