"""Every CSV we write (export by API, console and bulk selection; the import report) neutralises formulas.

A cell of Apple's or an uploader's text starting with =, +, -, @, tab or carriage return gets a leading
single quote (OWASP's CSV injection advice), and the type says UTF-8.
"""

import csv
import io

import pytest

from depportal.core.spreadsheet import safe_cell
from devices.models import Device, DeviceImport

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://evil.example")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _rows(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_safe_cell():
    assert [safe_cell(text) for text in HOSTILE] == [f"'{text}" for text in HOSTILE]
    assert [safe_cell(v) for v in ("Plain", "", "a=b", 42, None)] == ["Plain", "", "a=b", 42, None]


@pytest.fixture
def hostile_devices(local_token):
    token = local_token("Formula")
    for index, text in enumerate(HOSTILE):
        Device.objects.create(token=token, serial_number=f"F{index:07d}XYZ", description=text, asset_tag=text)
    return token


def _exported_descriptions(rows):
    column = rows[0].index("Description")
    return sorted(row[column] for row in rows[1:])


def test_api_console_and_bulk_exports(hostile_devices, admin_user, admin_api, client):
    wanted = sorted(f"'{text}" for text in HOSTILE)
    api_rows = _rows(admin_api.get("/api/v1/devices/export.csv", {"columns": "description,asset_tag"}))
    assert _exported_descriptions(api_rows) == wanted
    assert sorted(row[2] for row in api_rows[1:]) == wanted  # asset tags too

    client.force_login(admin_user)
    client.post("/devices/columns/", {"columns": ["serial_number", "description"]})
    assert _exported_descriptions(_rows(client.get("/devices/export.csv"))) == wanted
    ids = [str(pk) for pk in Device.objects.values_list("pk", flat=True)]
    bulk = client.post("/devices/bulk/", {"action": "export", "id": ids})
    assert _exported_descriptions(_rows(bulk)) == wanted


def test_import_report(hostile_devices, admin_user, client):
    client.force_login(admin_user)
    text = "\n".join(["=1+1,x", "@cmd", "-10", "ABCD12345678"])
    client.post("/devices/import/", {"token": hostile_devices.pk, "serial_numbers": text})
    device_import = DeviceImport.objects.get()
    rows = _rows(client.get(f"/devices/imports/{device_import.pk}/report.csv"))
    assert rows[0] == ["Line", "Input", "Serial number", "Outcome", "Reason"]
    assert [row[1] for row in rows[1:]] == ["'=1+1,x", "'@cmd", "'-10", "ABCD12345678"]
    assert [row[2] for row in rows[1:4]] == ["'=1+1", "'@CMD", "'-10"]
