"""No template carries an inline event handler or an inline style: the Content-Security-Policy would block both."""

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _lines_matching(pattern: re.Pattern) -> list[str]:
    return [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in TEMPLATES.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]


def test_templates_have_no_inline_event_handlers():
    assert not _lines_matching(re.compile(r"\son[a-z]+\s*=|javascript:", re.IGNORECASE))


def test_templates_have_no_inline_styles():
    assert not _lines_matching(re.compile(r"\sstyle\s*=|<style[\s>]", re.IGNORECASE))


@pytest.mark.django_db
def test_the_policy_allows_no_inline_style_or_script(client, admin_user):
    client.force_login(admin_user)
    for url in ("/", "/devices/", "/api/docs/"):
        policy = client.get(url)["Content-Security-Policy"]
        assert "'unsafe-inline'" not in policy and "style-src 'self';" in policy, (url, policy)
