"""What counts as text a person can read: names made only of spaces or invisible characters are no names."""

import unicodedata

# Separators, controls and format characters (zero-width space, joiners, direction marks) show nothing;
# private-use and unassigned code points still draw a glyph or a box.
_UNSEEN = {"Zs", "Zl", "Zp", "Cc", "Cf", "Cs"}


def visible(text: str) -> bool:
    """True when the text has at least one character that shows."""
    return any(unicodedata.category(ch) not in _UNSEEN for ch in text)


INVISIBLE_REFUSED = "Use visible characters: this holds only spaces or invisible characters."
