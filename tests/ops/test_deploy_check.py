"""`manage.py check --deploy` is clean with the production environment of .env.example (secrets filled in)."""

import secrets
import subprocess
import sys

from cryptography.fernet import Fernet

from tests.ops.processes import ROOT, env_example


def deploy_check(**overrides: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", **env_example()}
    env.update(
        DJANGO_SETTINGS_MODULE="depportal.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DEPPORTAL_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        DATABASE_URL="postgres://depportal:x@127.0.0.1:5432/depportal",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_production_settings_pass_the_deploy_check():
    result = deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_check_catches_a_weakened_setting():
    result = deploy_check(DJANGO_HSTS_SECONDS="0", DJANGO_SECURE_COOKIES="false")
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W012" in result.stderr
