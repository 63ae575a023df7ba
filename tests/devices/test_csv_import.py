"""CSV import: every malformed shape is reported with its reason, nothing changes before confirmation."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from depportal.core.exceptions import ApplicationError
from devices import services
from devices.csv_import import MAX_ROWS, parse_serials
from devices.models import Device, DeviceImport
from profiles.models import AssignmentJob

pytestmark = pytest.mark.django_db


def _outcomes(text: str) -> list[tuple[int, str, str, str]]:
    return [(row.line, row.serial, row.outcome, row.reason) for row in parse_serials(text)]


def test_parsing_reports_each_malformed_line_with_a_reason():
    text = "\ufeffSerial Number\n c02abc1234 \n\nC02ABC1234\nC02 ABC 99\n,F9FXK1ABCD\niPhone,F9FXK1ABCE\nab!\n;\n"
    rows = _outcomes(text)
    assert rows[0] == (1, "", "header", "Header row, skipped.")
    assert rows[1] == (2, "C02ABC1234", "", "")  # trimmed, upper-cased, the BOM gone
    assert rows[2][2:] == ("malformed", "Empty line.")
    assert rows[3][2:] == ("duplicate", "Duplicate of line 2.")
    assert rows[4][2:] == ("malformed", "A serial number has no spaces inside.")
    assert rows[5][2:] == ("malformed", "The serial number must be in the first column.")
    assert rows[6][2:] == ("malformed", "The serial number must be in the first column.")
    assert rows[7][2:] == ("malformed", "Not a serial number (8 to 20 letters and digits).")
    assert rows[8][2] == "malformed"


def test_semicolon_and_tab_files_and_extra_columns_keep_the_first_column():
    assert [r.serial for r in parse_serials("C02ABC1234;iPad;blue\nC02ABC1235;iPad;red\n")] == [
        "C02ABC1234",
        "C02ABC1235",
    ]
    assert [r.serial for r in parse_serials("serial\tmodel\nC02ABC1234\tiPad\n") if not r.outcome] == ["C02ABC1234"]


def test_more_than_50000_rows_is_refused_whole():
    text = "\n".join(f"C{i:09d}" for i in range(MAX_ROWS + 1))
    with pytest.raises(ApplicationError, match="50,000"):
        parse_serials(text)


def test_a_50000_row_file_previews_against_the_token(local_token, seed_devices, admin_user, client):
    token = local_token("Big")
    Device.objects.bulk_create([Device(token=token, serial_number=f"K{i:09d}") for i in range(0, MAX_ROWS, 2)])
    body = "serial_number,note\r\n" + "".join(f"K{i:09d},x\r\n" for i in range(MAX_ROWS))
    client.force_login(admin_user)
    upload = SimpleUploadedFile("big.csv", ("\ufeff" + body).encode(), content_type="text/csv")
    response = client.post(f"/tokens/{token.pk}/devices/import/", {"token": token.pk, "csv_file": upload})
    assert response.status_code == 302, response.content[:2000]
    device_import = DeviceImport.objects.get()
    assert device_import.counts == {"header": 1, "matched": MAX_ROWS // 2, "unknown": MAX_ROWS // 2}
    page = client.get(response["Location"]).content.decode()
    assert 'id="matched-count">25000<' in page and "look-up only" in page
    report = b"".join(client.get(f"/devices/imports/{device_import.pk}/report.csv").streaming_content).decode()
    assert len(report.splitlines()) == MAX_ROWS + 2
    assert (
        '\r\n3,"K000000001,x",K000000001,Unknown to this token,This token has no device with this serial number.\r\n'
        in report
    )


def test_wrong_encoding_and_empty_input_are_form_errors(local_token, admin_user, client):
    token = local_token("Enc")
    client.force_login(admin_user)
    upload = SimpleUploadedFile("latin.csv", "Sérial\nC02ABC1234\n".encode("latin-1"))
    response = client.post("/devices/import/", {"token": token.pk, "csv_file": upload})
    assert "Save the CSV as UTF-8 text." in response.content.decode()
    response = client.post("/devices/import/", {"token": token.pk, "serial_numbers": "\n\n  \n"})
    assert "Paste serial numbers or upload a CSV." in response.content.decode()
    response = client.post("/devices/import/", {"token": token.pk, "serial_numbers": "bad value\n!!"})
    assert "No serial number found in the input." in response.content.decode()
    assert not DeviceImport.objects.exists()


def test_import_assigns_only_after_confirmation_and_reports_the_rest(apple, onboard, admin_user, client):
    from profiles.services import profile_assign_devices, profile_create

    token = onboard(admin_user, server_name="Import MDM")
    records = apple.add_devices(token.server_uuid, count=4)
    serials = [r["serial_number"] for r in records]
    Device.objects.bulk_create([Device(token=token, serial_number=s) for s in serials])
    profile = profile_create(actor=admin_user, token=token, values={"name": "Kiosk"})
    profile_assign_devices(actor=admin_user, profile=profile, serials=[serials[0]])
    Device.objects.filter(serial_number=serials[3]).update(deleted_here_at="2026-01-01T00:00:00Z")

    client.force_login(admin_user)
    text = "\n".join([serials[0], serials[1], serials[1].lower(), serials[2], serials[3], "NOTMINE1234", "x y"])
    response = client.post(
        f"/tokens/{token.pk}/devices/import/", {"token": token.pk, "profile": profile.pk, "serial_numbers": text}
    )
    device_import = DeviceImport.objects.get()
    assert device_import.counts == {"already": 1, "matched": 2, "duplicate": 1, "unknown": 2, "malformed": 1}
    jobs_before = AssignmentJob.objects.count()
    page = client.get(response["Location"]).content.decode()
    assert "Already on Kiosk." in page and "Deleted from the portal; restore it first." in page
    assert "Duplicate of line 2." in page and 'id="matched-count">2<' in page
    assert AssignmentJob.objects.count() == jobs_before  # the preview changed nothing

    confirmed = client.post(f"/devices/imports/{device_import.pk}/confirm/")
    job = AssignmentJob.objects.latest("pk")
    assert confirmed["Location"] == f"/assignment-jobs/{job.pk}/"
    assert sorted(job.serials) == sorted([serials[1], serials[2]]) and job.state == "succeeded"
    assert {d["serial_number"]: d.get("profile_uuid") for d in apple.devices(token.server_uuid)}[serials[2]] == (
        profile.profile_uuid
    )
    again = client.post(f"/devices/imports/{device_import.pk}/confirm/", follow=True)
    assert "already confirmed" in again.content.decode()
    assert AssignmentJob.objects.count() == jobs_before + 1


def test_preview_refuses_a_profile_of_another_token(local_token, admin_user):
    from profiles.models import EnrollmentProfile

    one, two = local_token("One"), local_token("Two")
    profile = EnrollmentProfile.objects.create(token=two, name="Other", profile_uuid="u")
    with pytest.raises(ApplicationError, match="another token"):
        services.device_import_preview(actor=admin_user, token=one, profile=profile, text="C02ABC1234")
