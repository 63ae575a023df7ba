"""The left navigation: drawn once per section, page and powers, it still marks each page and shows each user
only what their roles open."""

import re

import pytest

from depportal.accounts.models import Role

pytestmark = pytest.mark.django_db

PAGES = {
    "/": "Home",
    "/devices/": "All devices",
    "/devices/ios/": "Apple serial numbers",
    "/tokens/": "Enrollment program tokens",
    "/vpp-tokens/": "Apple VPP tokens",
    # Three pages of one section, told apart by their URL name alone.
    "/tenant/roles/": "Roles",
    "/tenant/scope-tags/": "Scope tags",
    "/tenant/api-tokens/": "API tokens",
    "/tenant/users/": "Users",
}


def _nav(page: str) -> str:
    return re.search(r'<nav class="sidenav".*?</nav>', page, re.S).group(0)


def _current(nav: str) -> list[str]:
    return re.findall(r'aria-current="page">([^<]+)<', nav)


def test_each_page_marks_its_own_entry(client, admin_user):
    client.force_login(admin_user)
    for url, entry in PAGES.items():
        nav = _nav(client.get(url).content.decode())
        assert _current(nav) == [entry], url
    # Visiting again, from the memo, draws the same.
    assert _current(_nav(client.get("/devices/").content.decode())) == ["All devices"]


def test_each_user_sees_only_what_their_roles_open(client, admin_user, make_user, tag_a):
    reader = make_user("reader", Role.READ_ONLY, [tag_a])
    client.force_login(admin_user)
    admin_nav = _nav(client.get("/devices/").content.decode())
    client.force_login(reader)
    reader_nav = _nav(client.get("/devices/").content.decode())
    assert ">Users<" in admin_nav and ">Apple Business" in admin_nav
    assert ">Users<" not in reader_nav and ">Apple Business" not in reader_nav
    assert ">All devices<" in reader_nav and _current(reader_nav) == ["All devices"]
    client.force_login(make_user("nobody"))
    nobody_nav = _nav(client.get("/").content.decode())
    assert ">All devices<" not in nobody_nav and _current(nobody_nav) == ["Home"]
