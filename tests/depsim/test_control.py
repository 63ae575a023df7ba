"""The control API itself, the token file it hands out, the state file and the command line."""

import base64
import datetime as dt
import os
import re
import subprocess
import sys

import pytest

from depportal.apple.tokenfile import decrypt_server_token, generate_server_keypair
from depsim.control import DepSimControl, DepSimControlError
from depsim.server import start_in_thread
from tests.depsim.apple import AppleSession, error_code


def test_create_server_shape(depsim):
    creds = depsim.create_server("Shape", org_name="Acme")
    assert set(creds) == {
        "server_uuid",
        "server_name",
        "consumer_key",
        "consumer_secret",
        "access_token",
        "access_secret",
        "access_token_expiry",
        "p7m",
    }
    assert creds["p7m"] is None
    assert creds["consumer_key"].startswith("CK_") and creds["consumer_secret"].startswith("CS_")
    assert re.fullmatch(r"AT_O\d+O[0-9a-f]+O\d{13}", creds["access_token"])
    assert creds["access_secret"].startswith("AS_")
    now = dt.datetime.strptime(depsim.now(), "%Y-%m-%dT%H:%M:%SZ")
    expiry = dt.datetime.strptime(creds["access_token_expiry"], "%Y-%m-%dT%H:%M:%SZ")
    assert 364 <= (expiry - now).days <= 366
    assert AppleSession(depsim.base_url, creds).ok("GET", "/account")["org_name"] == "Acme"


def test_token_file_decrypts_with_the_matching_key(depsim):
    private_key, certificate = generate_server_keypair("depsim test")
    creds = depsim.create_server("Encrypted", certificate_pem=certificate)
    token = decrypt_server_token(base64.b64decode(creds["p7m"]), private_key)
    assert token.consumer_key == creds["consumer_key"] and token.access_secret == creds["access_secret"]
    assert token.to_json()["access_token_expiry"] == creds["access_token_expiry"]
    depsim.advance_clock(3600)
    renewed = depsim.renew_server(creds["server_uuid"])
    again = decrypt_server_token(base64.b64decode(renewed["p7m"]), private_key)
    assert again.consumer_key == token.consumer_key and again.access_token != token.access_token
    assert again.access_token_expiry > token.access_token_expiry


def test_bad_certificate_is_refused(depsim):
    with pytest.raises(DepSimControlError) as refused:
        depsim.create_server("Bad", certificate_pem=b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    assert refused.value.status == 400 and "PEM certificate" in refused.value.message


def test_devices_and_fields(depsim):
    server = depsim.create_server("Devices")["server_uuid"]
    made = depsim.add_devices(server, count=2, serials=["C02ABC123DEF"], device_family="Mac", asset_tag="A-7")
    assert [d["serial_number"] for d in made][0] == "C02ABC123DEF"
    assert {d["device_family"] for d in made} == {"Mac"} and {d["os"] for d in made} == {"OSX"}
    assert {d["asset_tag"] for d in made} == {"A-7"}
    assert depsim.update_device("C02ABC123DEF", color="SILVER")["color"] == "SILVER"
    assert len(depsim.devices(server)) == 3
    with pytest.raises(DepSimControlError):
        depsim.add_devices(server, serials=["C02ABC123DEF"])
    with pytest.raises(DepSimControlError):
        depsim.update_device("C02ABC123DEF", serial_number="OTHER")
    with pytest.raises(DepSimControlError) as missing:
        depsim.devices("NO-SUCH-SERVER")
    assert missing.value.status == 404


def test_generated_devices_look_real(depsim):
    server = depsim.create_server("Fleet")["server_uuid"]
    devices = depsim.add_devices(server, count=300)
    families = {d["device_family"] for d in devices}
    assert families == {"iPhone", "iPad", "Mac", "AppleTV"}
    assert len({d["serial_number"] for d in devices}) == 300
    assert all(re.fullmatch(r"[0-9A-Z]{10}|[0-9A-Z]{12}", d["serial_number"]) for d in devices)
    assert all(d["description"].endswith("-USA") and d["color"] and d["model"] for d in devices)
    phones = [d for d in devices if d["device_family"] == "iPhone"]
    assert all(len(d["imei"][0]) == 15 for d in phones)


def test_activate_requires_an_assigned_profile(depsim):
    server = depsim.create_server("Activate")["server_uuid"]
    serial = depsim.add_devices(server, count=1)[0]["serial_number"]
    with pytest.raises(DepSimControlError) as refused:
        depsim.activate_device(serial)
    assert refused.value.status == 409


def test_clock(depsim):
    before = dt.datetime.strptime(depsim.now(), "%Y-%m-%dT%H:%M:%SZ")
    after = dt.datetime.strptime(depsim.advance_clock(86400 * 3), "%Y-%m-%dT%H:%M:%SZ")
    assert 3 * 86400 <= (after - before).total_seconds() <= 3 * 86400 + 5


def test_reset_forgets_everything(depsim):
    creds = depsim.create_server("Gone")
    depsim.add_fault("*", 500, count=None)
    depsim.advance_clock(10 * 86400)
    depsim.reset()
    assert depsim.servers() == [] and depsim.requests() == []
    assert AppleSession(depsim.base_url, creds).session().status_code == 401
    assert (
        abs(
            dt.datetime.strptime(depsim.now(), "%Y-%m-%dT%H:%M:%SZ") - dt.datetime.now(dt.UTC).replace(tzinfo=None)
        ).total_seconds()
        < 60
    )


def test_unknown_operation_and_bad_arguments(depsim):
    with pytest.raises(DepSimControlError) as unknown:
        depsim._call("drop_database")
    assert unknown.value.status == 404
    with pytest.raises(DepSimControlError) as bad:
        depsim._call("repeat_ops", nonsense=1)
    assert bad.value.status == 400


def test_state_file_round_trip(tmp_path):
    path = str(tmp_path / "depsim.json")
    first = start_in_thread(seed=7, state_file=path)
    control = DepSimControl(first.base_url)
    private_key, certificate = generate_server_keypair()
    creds = control.create_server("Durable", certificate_pem=certificate)
    serials = [d["serial_number"] for d in control.add_devices(creds["server_uuid"], count=5)]
    apple = AppleSession(first.base_url, creds)
    uuid = apple.ok("POST", "/profile", {"profile_name": "P", "url": "https://mdm.example.org/e"})["profile_uuid"]
    apple.ok("POST", "/profile/devices", {"profile_uuid": uuid, "devices": serials[:2]})
    _, cursor, _ = apple.fetch_all()
    control.advance_clock(3600)
    now = control.now()
    first.shutdown()
    assert os.path.exists(path)

    second = start_in_thread(seed=7, state_file=path)
    try:
        control = DepSimControl(second.base_url)
        assert [s["server_name"] for s in control.servers()] == ["Durable"]
        assert sorted(d["serial_number"] for d in control.devices(creds["server_uuid"])) == sorted(serials)
        assert control.profiles(creds["server_uuid"])[0]["profile_uuid"] == uuid
        assert control.now() >= now
        restarted = AppleSession(second.base_url, creds)
        # Sessions do not survive a restart (like Apple's depsim): the old token is unknown.
        restarted.token = apple.token
        assert error_code(restarted.call("GET", "/account")) == "FORBIDDEN"
        restarted.session()
        assert restarted.call("POST", "/server/devices", {"cursor": cursor}).text == '"EXHAUSTED_CURSOR"'
        control.update_device(serials[0], asset_tag="AFTER")
        records, _ = restarted.sync_all(cursor)
        assert [(r["serial_number"], r["op_type"]) for r in records] == [(serials[0], "modified")]
        p7m = base64.b64decode(control.server_token(creds["server_uuid"])["p7m"])
        assert decrypt_server_token(p7m, private_key).access_token == creds["access_token"]
    finally:
        second.shutdown()


def test_command_line(tmp_path):
    state = tmp_path / "cli.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "depsim", "--port", "0", "--seed", "3", "--demo-devices", "12", "--state", str(state)],
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    try:
        line = process.stderr.readline()
        base_url = re.search(r"serving (http://[\d.]+:\d+)", line).group(1)
        control = DepSimControl(base_url)
        server = control.create_server("CLI")["server_uuid"]
        unassigned = control.assign_to_server(server, ["NOPE"])
        assert unassigned["not_found"] == ["NOPE"]
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0
    assert state.exists() and '"CLI"' in state.read_text()
    help_text = subprocess.run(
        [sys.executable, "-m", "depsim", "--help"],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    ).stdout
    for option in ("--port", "--host", "--state", "--seed", "--demo-devices"):
        assert option in help_text
