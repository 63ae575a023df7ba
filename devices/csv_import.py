"""What became of each row of a device import: the serial reader's verdicts and the look-up's against the token."""

from depportal.core.serials import DUPLICATE, HEADER, MALFORMED

MATCHED, ALREADY, OTHER_PLATFORM, UNKNOWN = "matched", "already", "other_platform", "unknown"
OUTCOME_LABELS = {
    MATCHED: "Matched",
    ALREADY: "Already on that profile",
    OTHER_PLATFORM: "Another platform",
    UNKNOWN: "Unknown to this token",
    DUPLICATE: "Duplicate",
    MALFORMED: "Malformed",
    HEADER: "Header row",
}
