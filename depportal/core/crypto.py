"""Secrets at rest: Fernet with the key from DEPPORTAL_ENCRYPTION_KEY, never a key in the database.

Each stored value names the key that sealed it ("v1:<key id>:<token>"), so old keys can stay readable
(DEPPORTAL_ENCRYPTION_OLD_KEYS) while values are re-sealed with the current one.
"""

import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_VERSION = "v1"


class DecryptionError(Exception):
    """A stored secret could not be opened: its key is not configured, or the value is damaged."""


def key_id(key: str) -> str:
    """A short, stable, non-secret name for a key."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


@lru_cache(maxsize=8)
def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        raise ImproperlyConfigured(
            "DEPPORTAL_ENCRYPTION_KEY must be 32 url-safe base64-encoded bytes (a Fernet key)."
        ) from None


def _current_key() -> str:
    if not settings.DEPPORTAL_ENCRYPTION_KEY:
        raise ImproperlyConfigured("DEPPORTAL_ENCRYPTION_KEY is not set: secrets cannot be stored.")
    return settings.DEPPORTAL_ENCRYPTION_KEY


def _keys_by_id() -> dict[str, str]:
    keys = [_current_key(), *settings.DEPPORTAL_ENCRYPTION_OLD_KEYS]
    return {key_id(key): key for key in keys}


def encrypt(plaintext: str | bytes) -> str:
    """Seal a secret with the current key."""
    data = plaintext.encode() if isinstance(plaintext, str) else plaintext
    key = _current_key()
    return f"{_VERSION}:{key_id(key)}:{_fernet(key).encrypt(data).decode()}"


def decrypt(value: str) -> bytes:
    """Open a sealed secret with whichever configured key sealed it."""
    try:
        version, kid, token = value.split(":", 2)
    except ValueError:
        raise DecryptionError("The stored secret is not in a known format.") from None
    key = _keys_by_id().get(kid)
    if version != _VERSION or key is None:
        raise DecryptionError(f"The key {kid} that sealed this secret is not configured.")
    try:
        return _fernet(key).decrypt(token.encode())
    except InvalidToken:
        raise DecryptionError("The stored secret is damaged or was sealed with another key.") from None


def decrypt_text(value: str) -> str:
    return decrypt(value).decode()


def needs_rotation(value: str) -> bool:
    """True when the value was sealed with a key other than the current one."""
    return value.split(":", 2)[1:2] != [key_id(_current_key())]


class _Sealer:
    """encrypt/decrypt_text in the shape the Apple clients take for what they cache (depportal/apple/hooks.py)."""

    @staticmethod
    def seal(text: str) -> str:
        return encrypt(text)

    @staticmethod
    def unseal(text: str) -> str | None:
        try:
            return decrypt_text(text)
        except DecryptionError:
            return None


SEALER = _Sealer()
