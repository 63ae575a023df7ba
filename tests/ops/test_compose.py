"""docker-compose.yml, .env.example and the Dockerfile, checked against the settings (no Docker engine here).

PyYAML parses the compose file (it is what compose files are written in; a hand parser would check less).
"""

import ast
import re
import subprocess
import sys

from tests.ops.processes import ROOT, compose, env_example, interpolate

LONG_RUNNING = {"postgres", "redis", "web", "worker", "beat"}
APP_SERVICES = {"migrate", "web", "worker", "beat"}
_ENV_READERS = {"env", "env_bool", "env_int", "env_list"}


def settings_variables() -> set[str]:
    """Every environment variable depportal/settings.py reads through depportal.env."""
    tree = ast.parse((ROOT / "depportal" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _ENV_READERS:
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names


def compose_variables(text: str) -> set[str]:
    return set(re.findall(r"\$\{(\w+)", text))


def test_services_and_their_wiring():
    services = compose()["services"]
    assert set(services) >= LONG_RUNNING | APP_SERVICES | {"depsim"}
    for name in LONG_RUNNING:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name in APP_SERVICES - {"migrate"}:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy", name
    assert services["migrate"]["command"][-3:] == ["manage.py", "migrate", "--no-input"]
    assert services["migrate"]["restart"] == "no"
    assert services["web"]["command"][0] == "gunicorn"
    # Scalable with --scale worker=N: no fixed container name, no host port.
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "depportal", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "depportal", "beat"]
    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["depsim"]["profiles"] == ["demo"]
    assert all("profiles" not in services[name] for name in LONG_RUNNING | APP_SERVICES)
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in services["postgres"]["volumes"])
    assert "pgdata" in compose()["volumes"]


def test_every_setting_is_in_env_example_or_compose():
    example = env_example()
    text = (ROOT / ".env.example").read_text()
    commented = set(re.findall(r"^# ([A-Z][A-Z0-9_]+)=", text, flags=re.M))
    web = compose()["services"]["web"]
    from_compose = set(web["environment"])
    missing = settings_variables() - set(example) - commented - from_compose
    assert not missing, f"settings read variables that .env.example does not list: {sorted(missing)}"
    # What compose itself interpolates comes from .env too (or has a default).
    compose_text = (ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", compose_text))
    assert required <= set(example), required - set(example)
    assert {"DJANGO_SECRET_KEY", "DEPPORTAL_ENCRYPTION_KEY"} <= set(example)
    assert {"DATABASE_URL", "REDIS_URL"} <= from_compose
    # The production example is production: debug off, HTTPS, JSON logs.
    assert example["DJANGO_DEBUG"] == "false" and example["DEPPORTAL_LOG_FORMAT"] == "json"
    assert example["DJANGO_SECURE_COOKIES"] == "true" and example["DJANGO_SECURE_SSL_REDIRECT"] == "true"


def test_compose_commands_resolve_to_real_programs_and_modules():
    services = compose()["services"]
    env = {**env_example(), "POSTGRES_PASSWORD": "x"}
    assert interpolate(services["web"]["command"][5], env) == env["WEB_CONCURRENCY"]
    modules = {"depportal.wsgi", "depportal.celery", "depportal.ops.probe", "depsim"}
    for module in modules:
        found = subprocess.run([sys.executable, "-c", f"import importlib.util as u; print(u.find_spec('{module}'))"],
                               cwd=ROOT, capture_output=True, text=True)  # fmt: skip
        assert found.stdout.strip() != "None", module
    for name in ("web", "worker", "beat"):
        probe = services[name]["healthcheck"]["test"]
        assert probe[1:4] == ["python", "-m", "depportal.ops.probe"] and probe[4] == name


def test_dockerfile_is_slim_non_root_and_collects_static():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, flags=re.M)
    user = re.findall(r"^USER (\S+)", dockerfile, flags=re.M)
    assert user and user[-1] not in ("root", "0")
    assert "collectstatic --no-input" in dockerfile
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in (ROOT / "depportal" / "settings.py").read_text()
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env", ".local"} <= set(ignored)
