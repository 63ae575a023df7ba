"""Reading a CSV (or pasted text) of serial numbers: one column, or the serial in the first; header optional."""

import csv
import io
import re
from dataclasses import dataclass

from depportal.core.exceptions import ApplicationError

MAX_ROWS = 50_000
# 50,000 rows with a few extra columns each fit well inside this.
MAX_BYTES = 10 * 1024 * 1024
SERIAL = re.compile(r"^[A-Z0-9]{8,20}$")
HEADERS = {"serial", "serial number", "serial_number", "serialnumber", "serial no", "serial no.", "serial #", "sn"}

MATCHED, ALREADY, OTHER_PLATFORM, UNKNOWN, DUPLICATE, MALFORMED, HEADER = (
    "matched",
    "already",
    "other_platform",
    "unknown",
    "duplicate",
    "malformed",
    "header",
)
OUTCOME_LABELS = {
    MATCHED: "Matched",
    ALREADY: "Already on that profile",
    OTHER_PLATFORM: "Another platform",
    UNKNOWN: "Unknown to this token",
    DUPLICATE: "Duplicate",
    MALFORMED: "Malformed",
    HEADER: "Header row",
}


@dataclass
class InputRow:
    """One line of the input: its number, the text as given, the serial read from it, and a problem if any."""

    line: int
    text: str
    serial: str = ""
    outcome: str = ""
    reason: str = ""


def decode_upload(data: bytes) -> str:
    """Text of an uploaded file: UTF-8 with or without a byte-order mark (Excel writes one)."""
    if len(data) > MAX_BYTES:
        raise ApplicationError(
            "This file is larger than 10 MB; split it.", fields={"csv_file": ["This file is larger than 10 MB."]}
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApplicationError(
            "Save the CSV as UTF-8 text.", fields={"csv_file": ["Save the CSV as UTF-8 text."]}
        ) from None


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    for candidate in (",", ";", "\t"):
        if candidate in first:
            return candidate
    return ","


def parse_serials(text: str) -> list[InputRow]:
    """Every input line with its serial or the reason it cannot be used; duplicates point at the first line."""
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise ApplicationError(
            "This file holds NUL characters, so it is not CSV text: save it as CSV (UTF-8).",
            fields={"csv_file": ["This file holds NUL characters."]},
        )
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    rows: list[InputRow] = []
    seen: dict[str, int] = {}
    data_rows = 0
    for cells in _rows(reader):
        line = reader.line_num
        cells = [cell.strip() for cell in cells]
        row = InputRow(line=line, text=",".join(cells)[:200])
        rows.append(row)
        if not any(cells):
            row.outcome, row.reason = MALFORMED, "Empty line."
            continue
        first = cells[0]
        if not data_rows and not seen and first.lower() in HEADERS:
            row.outcome, row.reason = HEADER, "Header row, skipped."
            continue
        data_rows += 1
        if data_rows > MAX_ROWS:
            raise ApplicationError(
                f"At most {MAX_ROWS:,} serial numbers per import; split the file.",
                fields={"csv_file": [f"More than {MAX_ROWS:,} rows."]},
            )
        row.serial = first.upper()
        row.outcome, row.reason = _check(row.serial, cells, seen)
        if not row.outcome:
            seen[row.serial] = line
    return rows


def _rows(reader):
    """The reader's rows; a field past the csv module's limit (131,072 characters) is the uploader's error."""
    try:
        yield from reader
    except csv.Error as error:
        message = f"Line {reader.line_num} cannot be read as CSV: a field is too long or malformed ({error})."
        raise ApplicationError(message, fields={"csv_file": [message]}) from None


def _check(serial: str, cells: list[str], seen: dict[str, int]) -> tuple[str, str]:
    if SERIAL.match(serial):
        if serial in seen:
            return DUPLICATE, f"Duplicate of line {seen[serial]}."
        return "", ""
    if any(SERIAL.match(cell.upper()) and any(ch.isdigit() for ch in cell) for cell in cells[1:]):
        return MALFORMED, "The serial number must be in the first column."
    if not serial:
        return MALFORMED, "The first column is empty."
    if any(ch.isspace() for ch in serial):
        return MALFORMED, "A serial number has no spaces inside."
    return MALFORMED, "Not a serial number (8 to 20 letters and digits)."
