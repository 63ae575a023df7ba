"""One serial-number reader behind the profile Assign page, the device Import page and the assign API.

The same file is accepted or refused alike on both pages, with the same words; a refused input changes
nothing (no job, no import preview, no device assigned).
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from depportal.core.exceptions import ApplicationError
from depportal.core.serials import MAX_BYTES, MAX_ROWS, SerialReader, checked_list, read_serials
from devices.models import Device, DeviceImport
from profiles.models import AssignmentJob, EnrollmentProfile

pytestmark = pytest.mark.django_db

SERIALS = ["C02ABC1234", "F9FXK1ABCD", "DMPXQ9ZYKL8R"]

NOT_A_SERIAL = "Line 1: Not a serial number (8 to 14 letters and digits)."
# Each line-level sample ends with a good line: the Import page then previews, listing the bad line.
HOSTILE_FILES = [
    ("nul", b"C02ABC1234\x00\nF9FXK1ABCD\n", "This file holds NUL characters"),
    ("utf-16", "C02ABC1234\nF9FXK1ABCD\n".encode("utf-16"), "This file holds NUL characters"),
    ("latin-1", "Série\nC02ABC1234\n".encode("latin-1"), "Save the CSV as UTF-8 text."),
    ("huge", b"C02ABC1234\n" * (MAX_BYTES // 11 + 1), "This file is larger than 10 MB"),
    ("rows", "".join(f"K{i:09d}\n" for i in range(MAX_ROWS + 1)).encode(), "At most 50,000 serial numbers"),
    ("field", b"C02ABC1234\n" + b"A" * 200_000 + b"\n", "Line 2 cannot be read as CSV"),
    ("formula", b"=cmd|' /C calc'!A0\nC02ABC1234\n", NOT_A_SERIAL),
    ("hyperlink", b'=HYPERLINK("http://evil.example"),x\nC02ABC1234\n', NOT_A_SERIAL),
    ("too-long", b"C02ABC1234567890\nC02ABC1234\n", NOT_A_SERIAL),
    ("spaces", b"C02 ABC 1234\nC02ABC1234\n", "Line 1: A serial number has no spaces inside."),
    ("column", b"iPad,F9FXK1ABCD\nC02ABC1234\n", "Line 1: The serial number must be in the first column."),
]
# Excel's way of saving (BOM, CRLF), a header, blank lines, lower case and a repeat: all read as two serials.
FRIENDLY = f"\ufeffSerial Number\r\n{SERIALS[0]},iPad Air\r\n\r\n{SERIALS[1].lower()}\r\n{SERIALS[0]}\r\n\r\n"


@pytest.fixture
def setup(local_token, admin_user, client):
    token = local_token("Input")
    Device.objects.bulk_create([Device(token=token, serial_number=s, device_family="iPad") for s in SERIALS])
    profile = EnrollmentProfile.objects.create(token=token, name="Kiosk", profile_uuid="uuid-1")
    client.force_login(admin_user)
    return token, profile


def _upload(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("serials.csv", content, content_type="text/csv")


def _nothing_changed() -> bool:
    return (
        not AssignmentJob.objects.exists()
        and not DeviceImport.objects.exists()
        and not Device.objects.filter(assigned_profile__isnull=False).exists()
    )


@pytest.mark.parametrize(("name", "content", "message"), HOSTILE_FILES, ids=[h[0] for h in HOSTILE_FILES])
def test_a_hostile_file_is_refused_alike_on_both_pages(setup, client, name, content, message):
    token, profile = setup
    assign = client.post(reverse("profiles:profile_assign", args=[profile.pk]), {"csv_file": _upload(content)})
    assert assign.status_code == 200 and message in assign.content.decode()
    assert "preview" not in assign.context or not assign.context["preview"]
    form = {"token": token.pk, "profile": profile.pk, "csv_file": _upload(content)}
    imported = client.post("/devices/import/", form)
    page = imported.content.decode() if imported.status_code == 200 else ""
    if imported.status_code == 302:
        # The Import page previews line by line: the refused line is listed with the same reason.
        preview = DeviceImport.objects.get()
        reasons = [row[4] for row in preview.rows]
        assert message.removeprefix("Line 1: ") in reasons and preview.counts["matched"] == 1
        assert preview.confirmed_at is None and not AssignmentJob.objects.exists()
        DeviceImport.objects.all().delete()
    else:
        assert message in page
    assert _nothing_changed()


@pytest.mark.parametrize(("name", "content", "message"), HOSTILE_FILES, ids=[h[0] for h in HOSTILE_FILES])
def test_the_reader_refuses_the_same_files_for_every_caller(name, content, message):
    with pytest.raises(ApplicationError) as refused:
        read_serials(file=content)
    assert message in refused.value.message and list(refused.value.fields) == ["csv_file"]


def test_the_same_friendly_file_reads_the_same_on_both_pages(setup, client):
    token, profile = setup
    url = reverse("profiles:profile_assign", args=[profile.pk])
    assign = client.post(url, {"csv_file": _upload(FRIENDLY.encode())})
    assert sorted(assign.context["known"]) == sorted(SERIALS[:2]) and assign.context["unknown"] == []
    typed = client.post(url, {"serial_numbers": FRIENDLY})
    assert sorted(typed.context["known"]) == sorted(SERIALS[:2])
    client.post("/devices/import/", {"token": token.pk, "profile": profile.pk, "csv_file": _upload(FRIENDLY.encode())})
    preview = DeviceImport.objects.get()
    assert preview.counts == {"header": 1, "matched": 2, "duplicate": 1, "malformed": 2}  # the two blank lines
    assert sorted(row[2] for row in preview.rows if row[3] == "matched") == sorted(SERIALS[:2])
    assert not AssignmentJob.objects.exists()


def test_typed_lists_on_one_line_are_each_read_and_details_are_not():
    rows = SerialReader().read_text(f"{SERIALS[0]}, {SERIALS[1]}; {SERIALS[2]}\n{SERIALS[0]} {SERIALS[1]}\n")
    assert [row.serial for row in rows if not row.outcome] == SERIALS
    assert [row.reason for row in rows if row.outcome] == ["Duplicate of line 1.", "Duplicate of line 1."]
    assert [row.serial for row in SerialReader().read_text(f"{SERIALS[0]},MacBookPro\n")] == [SERIALS[0]]


def test_typed_hostile_text_is_refused_on_the_assign_page(setup, client):
    _, profile = setup
    url = reverse("profiles:profile_assign", args=[profile.pk])
    page = client.post(url, {"serial_numbers": "=cmd|' /C calc'!A0\nC02ABC1234"}).content.decode()
    assert "Correct these and try again; nothing was changed. " + NOT_A_SERIAL in page
    page = client.post(url, {"serial_numbers": "C02ABC1234\x00"}).content.decode()
    assert "Null characters are not allowed." in page
    assert _nothing_changed()


@pytest.mark.parametrize(
    ("serials", "message"),
    [
        (["=cmd|' /C calc'!A0"], "Item 1: Not a serial number (8 to 14 letters and digits)."),
        ([SERIALS[0], "C02ABC1234567890"], "Item 2: Not a serial number (8 to 14 letters and digits)."),
        ([SERIALS[0], "C02 ABC"], "Item 2: A serial number has no spaces inside."),
        ([f"{SERIALS[0]}\x00"], "Null characters are not allowed."),
        (["", "  "], "Correct these"),
    ],
)
def test_the_assign_api_refuses_the_same_serials(setup, admin_api, serials, message):
    _, profile = setup
    for action in ("assign", "unassign"):
        url = f"/api/v1/profiles/{profile.pk}/{action}/"
        response = admin_api.post(url, {"serial_numbers": serials}, format="json")
        if serials == ["", "  "]:
            # Only blanks: nothing to read, so the service's own refusal answers.
            assert response.status_code == 400 and "Enter at least one serial number." in response.json()["detail"]
            continue
        assert response.status_code == 400 and message in response.json()["detail"], response.json()
        assert "serial_numbers" in response.json()["fields"]
    assert _nothing_changed()


def test_the_api_list_is_read_by_the_same_rule():
    assert checked_list([" c02abc1234 ", "C02ABC1234", "", SERIALS[2]]) == ["C02ABC1234", SERIALS[2]]
