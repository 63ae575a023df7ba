"""CSV that people open in a spreadsheet: no cell written from Apple's or an uploader's text runs as a formula.

As OWASP recommends (https://owasp.org/www-community/attacks/CSV_Injection, and ASVS 5.0 requirement
1.2.10), a text cell that starts with =, +, -, @, tab, carriage return or NUL gets a leading single
quote, which spreadsheets read as "this is text"; the csv module quotes fields as RFC 4180 asks.
"""

import csv

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")


def safe_cell(value):
    """The cell as written: text that a spreadsheet would evaluate is prefixed with a single quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return f"'{value}"
    return value


class _Line:
    """A file-like object whose write returns the text, so a writer can feed a streamed response."""

    def write(self, value: str) -> str:
        return value


class SafeWriter:
    """csv.writer with formula-like cells neutralised; writerow returns the line."""

    def __init__(self):
        self._writer = csv.writer(_Line())

    def writerow(self, row) -> str:
        return self._writer.writerow([safe_cell(value) for value in row])
