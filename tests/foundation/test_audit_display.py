"""The audit log reads as changes, with pickers for actor, action, object and dates."""

import pytest

from depportal.accounts.services import scope_tag_create, scope_tag_update
from depportal.audit.display import change_rows

pytestmark = pytest.mark.django_db


def test_changes_read_as_before_and_after():
    assert change_rows("update", {"scope_tags": [["Default"], ["Tag A", "Tag B"]]}) == [
        ("Scope tags", "Tag A, Tag B", "Default")
    ]
    assert change_rows("create", {"scope_tags": ["Tag A", "Tag B"], "apple_id": "it@example.com"}) == [
        ("Scope tags", "Tag A, Tag B", None),
        ("Apple id", "it@example.com", None),
    ]
    assert change_rows("update", {"is_active": [True, False], "email": ["", None]}) == [
        ("Is active", "No", "Yes"),
        ("Email", "—", "—"),
    ]
    assert change_rows("renew", {"access_token_expiry": ["2026-01-01T10:00:00+00:00", None]})[0][2].startswith(
        "2026-01-01"
    )


def test_audit_page_shows_readable_changes_and_pickers(client, admin_user, make_user):
    tag = scope_tag_create(actor=admin_user, name="Schools", description="")
    scope_tag_update(actor=admin_user, tag=tag, name="Schools", description="Every <b>school</b>")
    client.force_login(admin_user)
    html = client.get("/tenant/audit/").content.decode()
    assert "['" not in html and "[&#x27;" not in html
    assert '<span class="before">—</span> → Every &lt;b&gt;school&lt;/b&gt;' in html
    assert '<select name="actor"' in html and '<option value="admin">admin</option>' in html
    assert '<select name="action"' in html and '<option value="update">Update</option>' in html
    assert '<select name="object_type"' in html and ">Scope tag</option>" in html
    assert 'type="date"' in html and 'name="object_id"' in html and 'type="hidden" name="object_id"' in html
    filtered = client.get("/tenant/audit/?action=update&object=school").content.decode()
    assert filtered.count('<dl class="changes">') == 1
    # Picker values that match nothing are a normal empty result, not an error.
    assert "No events match" in client.get("/tenant/audit/?actor=%3Cscript%3E").content.decode()
