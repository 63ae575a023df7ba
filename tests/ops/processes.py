"""Run the compose file's services natively: the same commands, with this machine's PostgreSQL, Redis and depsim.

The commands come from docker-compose.yml itself (so the test breaks when the file and the code drift apart);
only the executables are mapped to the virtualenv and the ports and paths to free local ones.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_VARIABLE = re.compile(r"\$\{(\w+)(?::?[-?]([^}]*))?\}")
# The key the test settings use: what the web process seals, the test process must be able to open.
TEST_ENCRYPTION_KEY = "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM="


def compose() -> dict:
    """docker-compose.yml, parsed."""
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_example() -> dict[str, str]:
    """The KEY=value lines of .env.example (commented-out ones excluded)."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} against `env`."""

    def value(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in env and env[name] != "":
            return env[name]
        if match.group(0).startswith(f"${{{name}:?") or match.group(0).startswith(f"${{{name}?"):
            raise KeyError(f"{name} must be set: {default}")
        return default or ""

    return _VARIABLE.sub(value, text)


def service_command(service: str, env: dict[str, str], replace: dict[str, str] | None = None) -> list[str]:
    """The service's command as this machine runs it: executables from the virtualenv, values replaced."""
    words = [interpolate(str(word), env) for word in compose()["services"][service]["command"]]
    words = [(replace or {}).get(word, word) for word in words]
    program = BIN / words[0]
    return [str(program if program.exists() else words[0]), *words[1:]]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_database_url() -> str:
    """DATABASE_URL of the test database pytest-django created (the live one, not the configured name)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def production_env(apple_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production process: .env.example with local services and test secrets."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    env.update(env_example())
    env.update(
        DJANGO_SETTINGS_MODULE="depportal.settings",
        DJANGO_SECRET_KEY="native-stack-test-secret-key-" + "x" * 40,
        DEPPORTAL_ENCRYPTION_KEY=settings.DEPPORTAL_ENCRYPTION_KEY or TEST_ENCRYPTION_KEY,
        DATABASE_URL=live_database_url(),
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        APPLE_DEP_BASE_URL=apple_url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # Plain HTTP on localhost: no TLS proxy in front, so no redirect and no secure-only cookies.
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_PROXY_SSL_HEADER="false",
        DJANGO_SECURE_COOKIES="false",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        WEB_CONCURRENCY="2",
        WORKER_CONCURRENCY="1",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


class Processes:
    """Child processes with their output in files; stopped with SIGTERM (then SIGKILL) in reverse order."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        """Start `command` as `name`; stdout and stderr go to <log_dir>/<name>.log."""
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.children[name] = child
        return child

    def log(self, name: str) -> str:
        """Everything `name` wrote so far."""
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, name: str, timeout: float = 20) -> None:
        """Stop one process gracefully (SIGTERM: Celery's warm shutdown), or kill it after `timeout`."""
        child = self.children.pop(name)
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def stop_all(self) -> None:
        """Stop every process, last started first."""
        for name in reversed(list(self.children)):
            self.stop(name)

    def assert_running(self) -> None:
        """Fail with the log of any process that exited."""
        for name, child in self.children.items():
            if child.poll() is not None:
                raise AssertionError(f"{name} exited with {child.returncode}:\n{self.log(name)[-4000:]}")


def wait_until(predicate, timeout: float, what: str, processes: Processes | None = None, interval: float = 0.2):
    """Poll until predicate() is truthy (returning it); fail naming `what`, with the processes' state."""
    deadline = time.monotonic() + timeout
    while True:
        if processes is not None:
            processes.assert_running()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)


def http_ok(url: str) -> bool:
    """True when GET url answers 200."""
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
