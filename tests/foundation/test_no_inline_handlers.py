"""No template carries an inline event handler: the Content-Security-Policy would block it."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_templates_have_no_inline_event_handlers():
    handler = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
    found = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in TEMPLATES.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if handler.search(line) or "javascript:" in line
    ]
    assert not found
