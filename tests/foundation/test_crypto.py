import base64
import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from depportal.core import crypto


def _new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_round_trip_names_the_key_and_hides_the_secret():
    sealed = crypto.encrypt("AS_secret-value")
    assert "AS_secret" not in sealed
    assert sealed.startswith(f"v1:{crypto.key_id(crypto._current_key())}:")
    assert crypto.decrypt_text(sealed) == "AS_secret-value"
    assert not crypto.needs_rotation(sealed)


def test_old_keys_stay_readable_during_rotation(settings):
    old = _new_key()
    settings.DEPPORTAL_ENCRYPTION_KEY = old
    sealed = crypto.encrypt(b"private key bytes")
    settings.DEPPORTAL_ENCRYPTION_KEY = _new_key()
    with pytest.raises(crypto.DecryptionError, match="not configured"):
        crypto.decrypt(sealed)
    settings.DEPPORTAL_ENCRYPTION_OLD_KEYS = [old]
    assert crypto.decrypt(sealed) == b"private key bytes"
    assert crypto.needs_rotation(sealed)


def test_damaged_values_and_bad_keys_are_clear_errors(settings):
    sealed = crypto.encrypt("x")
    with pytest.raises(crypto.DecryptionError, match="damaged"):
        crypto.decrypt(sealed[:-4] + "AAAA")
    with pytest.raises(crypto.DecryptionError, match="format"):
        crypto.decrypt("garbage")
    settings.DEPPORTAL_ENCRYPTION_KEY = "not-a-fernet-key"
    with pytest.raises(ImproperlyConfigured, match="32 url-safe"):
        crypto.encrypt("x")
