import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from depportal import env


def test_env_readers(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env.env_bool("X_BOOL", False) is True
    assert env.env_int("X_INT", 0) == 42
    assert env.env_list("X_LIST", []) == ["a", "b", "c"]
    assert env.env_int("X_UNSET", 7) == 7


def test_env_readers_refuse_nonsense(monkeypatch):
    monkeypatch.setenv("X_BOOL", "maybe")
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env.env_bool("X_BOOL", False)
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env.env_int("X_INT", 0)


def _import_settings(extra_env: dict) -> subprocess.CompletedProcess:
    clean = {"PATH": "/usr/bin:/bin", **extra_env}
    return subprocess.run(
        [sys.executable, "-c", "import depportal.settings"], env=clean, capture_output=True, text=True
    )


def test_production_refuses_to_start_without_secrets():
    result = _import_settings({"DJANGO_DEBUG": "false"})
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr
    result = _import_settings({"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "x" * 50})
    assert result.returncode != 0 and "DEPPORTAL_ENCRYPTION_KEY must be set" in result.stderr


def test_embedded_defaults_need_no_server():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings as s; import django; django.setup();"
            "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)",
        ],
        env={"PATH": "/usr/bin:/bin", "DJANGO_DEBUG": "true", "DJANGO_SETTINGS_MODULE": "depportal.settings"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]
