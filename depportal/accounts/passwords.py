"""Password rules beyond Django's validators (length, common passwords, all digits, like the username)."""

import unicodedata

from django.core.exceptions import ValidationError

# Control, format (zero-width), surrogate, private-use and unassigned code points, and separators other than
# the plain space: nobody can see or retype them, so they only make a password that looks like another.
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
MIN_DISTINCT = 5


class VisibleVariedPasswordValidator:
    """Refuse invisible characters and passwords of a few repeated characters (aaaaaaaaaaaa)."""

    def validate(self, password, user=None):
        if any(unicodedata.category(ch) in _INVISIBLE or (ch.isspace() and ch != " ") for ch in password):
            raise ValidationError(
                "This password contains invisible characters; use letters, digits, punctuation and spaces.",
                code="password_invisible",
            )
        if len(set(password)) < MIN_DISTINCT:
            raise ValidationError(
                f"This password repeats too few characters; use at least {MIN_DISTINCT} different ones.",
                code="password_repetitive",
            )

    def get_help_text(self):
        return f"Your password uses at least {MIN_DISTINCT} different, visible characters."
