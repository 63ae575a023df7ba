import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from devices.models import Device


@pytest.fixture
def token(onboard, admin_user):
    return onboard(admin_user, server_name="Acme MDM")


@pytest.fixture
def make_devices(apple):
    """make_devices(token, serials=[...]) or (token, count=n): devices at Apple and in the portal's list."""

    def make(token, *, serials=None, count=0, family="iPhone"):
        records = apple.add_devices(token.server_uuid, serials=serials, count=count, device_family=family)
        Device.objects.bulk_create(
            [
                Device(token=token, serial_number=r["serial_number"], model=r.get("model", ""), device_family=family)
                for r in records
            ]
        )
        return [r["serial_number"] for r in records]

    return make


def vpp_token_file(*, s_token="stoken-123", days=365, org="Acme Inc") -> bytes:
    expiry = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    return base64.b64encode(json.dumps({"sToken": s_token, "expDate": expiry, "orgName": org}).encode())


def certificate_bytes(common_name="Configurator Mac", *, pem=False) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.PEM if pem else Encoding.DER)
