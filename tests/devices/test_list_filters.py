"""The console list and the API answer every filter, search and sort the same way, and both match an oracle."""

import re
from datetime import date

import pytest
from django.utils import timezone

from devices.models import Device
from profiles.models import EnrollmentProfile

pytestmark = pytest.mark.django_db

_ROW_ID = re.compile(rb'class="row-check" name="id" value="(\d+)"')
_NEXT = re.compile(rb'href="([^"]+)" id="next-page"')


@pytest.fixture
def world(local_token, seed_devices):
    acme = local_token("Acme")
    beta = local_token("Beta")
    devices = seed_devices(acme, 40, prefix="C0") + seed_devices(beta, 25, prefix="F9")
    profile = EnrollmentProfile.objects.create(token=acme, name="Field", profile_uuid="uuid-field")
    Device.objects.filter(pk__in=[d.pk for d in devices[:12]]).update(assigned_profile=profile)
    Device.objects.filter(pk=devices[3].pk).update(deleted_here_at=timezone.now())
    Device.objects.filter(pk=devices[5].pk).update(removed_at=timezone.now())
    return {"acme": acme, "beta": beta, "profile": profile, "devices": list(Device.objects.all())}


def console_ids(client, url: str) -> list[int]:
    ids, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        ids += [int(pk) for pk in _ROW_ID.findall(response.content)]
        found = _NEXT.search(response.content)
        url = ("/devices/" + found.group(1).decode().replace("&amp;", "&")) if found else ""
        pages += 1
        assert pages < 50
    return ids


def api_ids(api, params: dict) -> list[int]:
    ids, url, pages = [], "/api/v1/devices/", 0
    response = api.get(url, {**params, "limit": 7})
    while True:
        assert response.status_code == 200, response.content
        ids += [row["id"] for row in response.json()["results"]]
        if not response.json()["next"]:
            return ids
        response = api.get(response.json()["next"])
        pages += 1
        assert pages < 50


def _cases(world):
    profile, acme = world["profile"], world["acme"]
    kept = [d for d in world["devices"] if d.deleted_here_at is None]
    # The default list: what Apple assigns now and was not deleted here (the token's count counts the same).
    live = [d for d in kept if d.removed_at is None]
    return [
        ({}, live),
        ({"search": "C00000"}, [d for d in live if d.serial_number.startswith("C00000")]),
        ({"search": "c000012"}, [d for d in live if d.serial_number.startswith("C000012")]),
        ({"search": "AT-F9-7"}, [d for d in live if d.asset_tag.startswith("AT-F9-7")]),
        ({"search": "ipad"}, [d for d in live if d.description.startswith("IPAD")]),
        ({"serial_number": "c0000007xy"}, [d for d in live if d.serial_number == "C0000007XY"]),
        ({"serial_number__startswith": "F9"}, [d for d in live if d.serial_number.startswith("F9")]),
        ({"profile_status": "pushed"}, [d for d in live if d.profile_status == "pushed"]),
        ({"profile": profile.pk}, [d for d in live if d.assigned_profile_id == profile.pk]),
        ({"profile": "none"}, [d for d in live if d.assigned_profile_id is None]),
        ({"device_family": "Mac"}, [d for d in live if d.device_family == "Mac"]),
        ({"platform": "ios"}, [d for d in live if d.device_family in ("iPhone", "iPad", "iPod")]),
        ({"os": "iPadOS"}, [d for d in live if d.os == "iPadOS"]),
        ({"token": acme.pk}, [d for d in live if d.token_id == acme.pk]),
        ({"assigned_by": "admin@example.com"}, [d for d in live if d.device_assigned_by == "admin@example.com"]),
        (
            {"assigned_after": "2026-03-03", "assigned_before": "2026-03-05"},
            [d for d in live if date(2026, 3, 3) <= d.device_assigned_date.date() <= date(2026, 3, 5)],
        ),
        ({"changed_after": "2026-03-02"}, [d for d in live if d.op_date and d.op_date.date() >= date(2026, 3, 2)]),
        ({"state": "deleted"}, [d for d in world["devices"] if d.deleted_here_at is not None]),
        ({"state": "removed"}, [d for d in kept if d.removed_at is not None]),
        ({"state": "active"}, live),
        ({"state": "all"}, world["devices"]),
        (
            {"token": acme.pk, "profile_status": "assigned", "search": "C0"},
            [d for d in live if d.token_id == acme.pk and d.profile_status == "assigned"],
        ),
    ]


def test_console_and_api_filters_agree_with_each_other_and_the_data(world, client, admin_user, admin_api):
    client.force_login(admin_user)
    for params, expected in _cases(world):
        wanted = sorted(d.pk for d in expected)
        query = "&".join(f"{k}={v}" for k, v in params.items())
        assert sorted(console_ids(client, f"/devices/?{query}&size=25")) == wanted, params
        assert sorted(api_ids(admin_api, params)) == wanted, params


def _oracle(devices, key, descending):
    def value(d):
        if key == "token":
            return d.token.name
        if key == "assigned_profile":
            return d.assigned_profile.name if d.assigned_profile_id else None
        return getattr(d, key)

    present = [d for d in devices if value(d) is not None]
    missing = [d for d in devices if value(d) is None]
    present.sort(key=lambda d: (value(d), d.pk), reverse=descending)
    missing.sort(key=lambda d: d.pk, reverse=descending)
    ordered = missing + present if descending else present + missing
    return [d.pk for d in ordered]


@pytest.mark.parametrize(
    "key", ["serial_number", "model", "profile_status", "assigned_profile", "profile_assign_time", "op_date", "token"]
)
def test_every_sort_walks_in_keyset_order_both_ways(world, admin_api, client, admin_user, key):
    live = [
        d
        for d in Device.objects.select_related("token", "assigned_profile")
        if d.deleted_here_at is None and d.removed_at is None
    ]
    for descending in (False, True):
        ordering = ("-" if descending else "") + key
        expected = _oracle(live, key, descending)
        assert api_ids(admin_api, {"ordering": ordering}) == expected, ordering
        client.force_login(admin_user)
        assert console_ids(client, f"/devices/?ordering={ordering}&size=25") == expected, ordering


def test_previous_cursor_returns_the_page_before(world, admin_api):
    first = admin_api.get("/api/v1/devices/", {"limit": 10, "ordering": "-op_date"}).json()
    second = admin_api.get(first["next"]).json()
    third = admin_api.get(second["next"]).json()
    back = admin_api.get(third["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in second["results"]]
    back_again = admin_api.get(back["previous"]).json()
    assert [r["id"] for r in back_again["results"]] == [r["id"] for r in first["results"]]
    assert first["previous"] is None and back_again["previous"] is None


def test_count_is_exact_for_small_results_and_a_bad_filter_is_a_400(world, admin_api):
    body = admin_api.get("/api/v1/devices/", {"profile_status": "assigned"}).json()
    live = [
        d
        for d in world["devices"]
        if d.deleted_here_at is None and d.removed_at is None and d.profile_status == "assigned"
    ]
    assert body["count"] == len(live) and body["count_is_estimate"] is False
    response = admin_api.get("/api/v1/devices/", {"profile_status": "nonsense"})
    assert response.status_code == 400 and "profile_status" in response.json()["fields"]


def test_large_results_show_the_planner_estimate_labelled(world, client, admin_user, settings):
    from django.db import connection

    from devices import selectors

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE devices_device")
    settings.DEVICES_EXACT_COUNT_LIMIT = 5
    client.force_login(admin_user)
    page = client.get("/devices/").content.decode()
    assert "estimated" in page and "About" in page
    count = selectors.device_count(Device.objects.filter(deleted_here_at__isnull=True))
    assert count.estimated and 40 <= count.value <= 90
    settings.DEVICES_EXACT_COUNT_LIMIT = 1000
    assert selectors.device_count(Device.objects.filter(deleted_here_at__isnull=True)).value == 64


def test_column_choice_is_remembered_and_used_by_the_export(world, client, admin_user):
    client.force_login(admin_user)
    client.post("/devices/columns/", {"columns": ["asset_tag", "color"], "next": "/devices/"})
    page = client.get("/devices/").content.decode()
    assert ">Asset tag" in page and ">Color" in page and ">Model" not in page
    export = b"".join(client.get(f"/devices/export.csv?token={world['acme'].pk}").streaming_content).decode()
    assert export.splitlines()[0] == "Serial number,Color,Asset tag"


def test_api_list_rows_have_the_documented_shape_and_match_the_detail(world, admin_api):
    from devices.api.serializers import DeviceSerializer

    row = admin_api.get("/api/v1/devices/", {"profile": world["profile"].pk, "limit": 1}).json()["results"][0]
    assert list(row) == list(DeviceSerializer().fields)
    detail = admin_api.get(f"/api/v1/devices/{row['id']}/").json()
    assert {key: detail[key] for key in row} == row
    assert row["token_name"] == "Acme" and row["assigned_profile_name"] == "Field"


def test_odd_parameters_answer_empty_or_400_never_500(world, admin_api, client, admin_user):
    body = admin_api.get("/api/v1/devices/", {"profile": "abc"}).json()
    assert body == {"count": 0, "count_is_estimate": False, "next": None, "previous": None, "results": []}
    assert admin_api.get("/api/v1/devices/", {"serial_number": "A\x00B"}).status_code == 400
    garbage = admin_api.get("/api/v1/devices/", {"cursor": "B\xe8\xc3", "ordering": "\x01D"}).json()
    assert garbage["count"] == 63 and len(garbage["results"]) == 63  # 65 less one deleted here, one removed
    import base64

    nul_cursor = base64.urlsafe_b64encode(b'["serial_number", "A\\u0000", 1, false]').decode()
    assert admin_api.get("/api/v1/devices/", {"cursor": nul_cursor}).status_code == 200
    client.force_login(admin_user)
    assert client.get("/devices/?profile=abc&cursor=zz").status_code == 200


def test_column_choice_read_from_the_cache_follows_each_save(
    world, client, admin_user, manager_a, django_capture_on_commit_callbacks
):
    def chosen(user) -> set[str]:
        client.force_login(user)
        page = client.get("/devices/").content.decode()
        return set(re.findall(r'name="columns" value="(\w+)" checked', page))

    default = chosen(manager_a)  # now in the cache, as is the admin's below
    assert "model" in default and chosen(admin_user) == default
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/devices/columns/", {"columns": ["color"], "next": "/devices/"})
    assert chosen(admin_user) == {"serial_number", "color"}
    client.post("/devices/columns/", {"columns": ["asset_tag"], "next": "/devices/"})  # its commit is still to come
    assert chosen(admin_user) == {"serial_number", "asset_tag"}
    assert chosen(manager_a) == default


def test_the_filter_bar_keeps_what_was_chosen_and_escapes_names(world, client, admin_user):
    """The bar's selects are drawn in Python: the chosen options stay selected, names are escaped."""
    world["beta"].__class__.objects.filter(pk=world["beta"].pk).update(name='Beta <b>"&')
    client.force_login(admin_user)
    page = client.get(f"/devices/?token={world['beta'].pk}&profile_status=assigned&profile=none").content.decode()
    bar = page.split('id="bulk-profile"')[0]  # the bulk bar's select is also named "profile"
    selects = dict(re.findall(r'<select name="(\w+)"[^>]*>(.*?)</select>', bar, re.S))
    chosen = {name: re.findall(r'<option value="([^"]*)" selected>', options) for name, options in selects.items()}
    assert chosen["token"] == [str(world["beta"].pk)]
    assert chosen["profile_status"] == ["assigned"]
    assert chosen["profile"] == ["none"]
    assert chosen["os"] == [""] and chosen["state"] == [""]
    assert f'<option value="{world["beta"].pk}" selected>Beta &lt;b&gt;&quot;&amp;</option>' in selects["token"]
    assert 'id="f-status"' in page and 'id="f-token"' in page


def test_filter_forms_share_only_the_fields_no_request_changes(world, admin_user, manager_a, tag_a):
    """Forms share the filter fields they only read; each has its own token and profile choices."""
    from django.test import RequestFactory

    from devices.selectors import device_filter

    world["acme"].scope_tags.set([tag_a])

    def form_for(user):
        request = RequestFactory().get("/devices/")
        request.user = user
        return device_filter(request.GET.copy(), user=user, request=request).form

    admin_form, manager_form = form_for(admin_user), form_for(manager_a)
    admin_form.offer_profiles([(world["profile"].pk, "Field")])
    manager_form.offer_profiles([])
    for name in admin_form.fields:
        shared = admin_form.fields[name] is manager_form.fields[name]
        assert shared == (name not in ("token", "profile")), name
    assert [value for value, _ in admin_form.fields["token"].widget.choices] == [
        "",
        world["acme"].pk,
        world["beta"].pk,
    ]
    assert [value for value, _ in manager_form.fields["token"].widget.choices] == ["", world["acme"].pk]
    assert (
        len(admin_form.fields["profile"].widget.choices) == 3
        and len(manager_form.fields["profile"].widget.choices) == 2
    )
    assert "Field" in str(admin_form["profile"]) and "Field" not in str(manager_form["profile"])


def test_counts_are_written_with_thousands_separators(client, admin_user):
    from tests.factories import token_row

    token = token_row("Big")
    token.device_count = 1234
    token.save()
    Device.objects.bulk_create(Device(token=token, serial_number=f"C{n:09d}") for n in range(1234))
    client.force_login(admin_user)
    page = client.get("/devices/").content.decode()
    assert "<strong>1,234</strong> devices" in page and "Select all 1,234 matching devices" in page
    assert '<td class="num">1,234</td>' in client.get("/tokens/").content.decode()
    assert 'id="dash-total">1,234<' in client.get("/").content.decode()
