"""Serial numbers a person types, uploads or sends: one reader and one rule for every page and the API.

Apple's device assignment service takes serial numbers as plain strings and documents no grammar for them
(https://developer.apple.com/documentation/devicemanagement/profileservicerequest). Apple described its
formats to service providers in 2021 (reported at
https://www.macrumors.com/2021/03/09/apple-randomized-serial-numbers-early-2021/): serials made until then
are 12 letters and digits (11 on older products), the randomised ones that followed 8 to 14 (10 at first).
So a serial number here is 8 to 14 letters A-Z and digits, read in any case and kept upper-case; anything
else could only come back from Apple as NOT_ACCESSIBLE.

The input is CSV, typed or uploaded alike (Apple Business Manager's own device files are "serial,details"):
one serial number a line, in the first column, a header line optional, further columns ignored. A line of
nothing but serial numbers (separated by commas, semicolons, tabs or spaces) is read as that many.
"""

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from depportal.core.exceptions import ApplicationError

SERIAL = re.compile(r"[A-Z0-9]{8,14}")
RULE = "8 to 14 letters and digits"
MAX_ROWS = 50_000
# 50,000 rows with a few extra columns each fit well inside this.
MAX_BYTES = 10 * 1024 * 1024
HEADERS = {"serial", "serial number", "serial_number", "serialnumber", "serial no", "serial no.", "serial #", "sn"}

_SEPARATORS = re.compile(r"[\s,;]+")

MALFORMED, DUPLICATE, HEADER = "malformed", "duplicate", "header"
EMPTY_LINE = "Empty line."


@dataclass
class InputRow:
    """One serial number of the input (or a line without one): its line, the text as given, the serial read
    from it, and what is wrong with it ("" while nothing is)."""

    line: int
    text: str
    serial: str = ""
    outcome: str = ""
    reason: str = ""


def is_serial(value: str) -> bool:
    return SERIAL.fullmatch(value) is not None


def _refuse(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, fields={field: [message]})


def decode_file(data: bytes, *, field: str = "csv_file") -> str:
    """Text of an uploaded file: UTF-8 with or without a byte-order mark (Excel writes one)."""
    if len(data) > MAX_BYTES:
        raise _refuse(field, "This file is larger than 10 MB; split it.")
    if b"\x00" in data:
        # UTF-16 (Excel's "Unicode text") and binary files both hold NUL bytes.
        raise _refuse(field, "This file holds NUL characters, so it is not CSV text: save it as CSV (UTF-8).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse(field, "Save the CSV as UTF-8 text.") from None


class SerialReader:
    """Reads the inputs of one request: duplicates are found across them, lines numbered on from one to the
    next, and the row limit counts them all."""

    def __init__(self) -> None:
        self.rows: list[InputRow] = []
        self._seen: dict[str, int] = {}
        self._serials = 0
        self._lines = 0

    def read_text(self, text: str, *, field: str = "serial_numbers") -> list[InputRow]:
        """Typed (or decoded) CSV text; returns the rows this input added."""
        text = text.lstrip("\ufeff")
        if "\x00" in text:
            raise _refuse(field, "The input holds NUL characters, so it is not text.")
        first = len(self.rows)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
        offset, header_allowed = self._lines, True
        for cells in _read(reader, field):
            line = offset + reader.line_num
            self._lines = line
            cells = [cell.strip() for cell in cells]
            if not any(cells):
                self.rows.append(InputRow(line=line, text="", outcome=MALFORMED, reason=EMPTY_LINE))
                continue
            if header_allowed and cells[0].lower() in HEADERS:
                self.rows.append(
                    InputRow(line=line, text=_shown(cells), outcome=HEADER, reason="Header row, skipped.")
                )
                continue
            header_allowed = False
            parts = [part for part in _SEPARATORS.split(" ".join(cells)) if part]
            if len(parts) > 1 and all(_looks_like_serial(part) for part in parts):
                for part in parts:
                    self._add(InputRow(line=line, text=part), part, [part], field)
            else:
                self._add(InputRow(line=line, text=_shown(cells)), cells[0], cells, field)
        return self.rows[first:]

    def read_file(self, data: bytes, *, field: str = "csv_file") -> list[InputRow]:
        """An uploaded CSV file, read as its text is."""
        return self.read_text(decode_file(data, field=field), field=field)

    def read_list(self, values: Iterable[str], *, field: str = "serial_numbers") -> list[InputRow]:
        """A list of an API body: one serial number an item, blanks skipped; `line` is the item's number.

        Its length is the serializer's to bound (each endpoint allows what its job can take)."""
        first = len(self.rows)
        for number, value in enumerate(values, start=1):
            if value.strip():
                self._add(InputRow(line=number, text=value[:200]), value.strip(), [value.strip()], field, limit=False)
        return self.rows[first:]

    def _add(self, row: InputRow, first: str, cells: list[str], field: str, *, limit: bool = True) -> None:
        self.rows.append(row)
        self._serials += 1
        if limit and self._serials > MAX_ROWS:
            raise _refuse(field, f"At most {MAX_ROWS:,} serial numbers at a time; split the input.")
        row.serial = first.upper()
        row.outcome, row.reason = _check(row.serial, cells, self._seen)
        if not row.outcome:
            self._seen[row.serial] = row.line


def serials_or_refuse(rows: list[InputRow], *, field: str, unit: str = "Line") -> list[str]:
    """The serial numbers of the rows, once each in their order; refused whole when a row is not one."""
    bad = [row for row in rows if row.outcome == MALFORMED and row.reason != EMPTY_LINE]
    if bad:
        listed = " ".join(f"{unit} {row.line}: {row.reason}" for row in bad[:3])
        more = f" And {len(bad) - 3} more." if len(bad) > 3 else ""
        message = f"Correct these and try again; nothing was changed. {listed}{more}"
        raise _refuse(field, message)
    return list(dict.fromkeys(row.serial for row in rows if row.outcome in ("", DUPLICATE)))


def read_serials(
    *, text: str = "", file: bytes | None = None, text_field: str = "serial_numbers", file_field: str = "csv_file"
) -> list[str]:
    """Every serial number of a form's typed text and uploaded file, once each, or refused whole."""
    serials = serials_or_refuse(SerialReader().read_text(text, field=text_field), field=text_field)
    if file is not None:
        serials += serials_or_refuse(SerialReader().read_file(file, field=file_field), field=file_field)
    return list(dict.fromkeys(serials))


def checked_list(values: Iterable[str], *, field: str = "serial_numbers") -> list[str]:
    """The serial numbers of an API body's list, once each, or refused whole."""
    return serials_or_refuse(SerialReader().read_list(values, field=field), field=field, unit="Item")


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    for candidate in (",", ";", "\t"):
        if candidate in first:
            return candidate
    return ","


def _read(reader, field: str):
    """The reader's rows; a field past the csv module's limit (131,072 characters) is the uploader's error."""
    try:
        yield from reader
    except csv.Error as error:
        message = f"Line {reader.line_num} cannot be read as CSV: a field is too long or malformed ({error})."
        raise _refuse(field, message) from None


def _shown(cells: list[str]) -> str:
    return ",".join(cells)[:200]


def _looks_like_serial(value: str) -> bool:
    # A detail column ("iPad", "MacBookPro") has no digit; a serial number of Apple's practically always has.
    return is_serial(value.upper()) and any(ch.isdigit() for ch in value)


def _check(serial: str, cells: list[str], seen: dict[str, int]) -> tuple[str, str]:
    if is_serial(serial):
        if serial in seen:
            return DUPLICATE, f"Duplicate of line {seen[serial]}."
        return "", ""
    if any(_looks_like_serial(cell) for cell in cells[1:]):
        return MALFORMED, "The serial number must be in the first column."
    if not serial:
        return MALFORMED, "The first column is empty."
    if any(ch.isspace() for ch in serial) and all(ch.isalnum() or ch.isspace() for ch in serial):
        return MALFORMED, "A serial number has no spaces inside."
    return MALFORMED, f"Not a serial number ({RULE})."
