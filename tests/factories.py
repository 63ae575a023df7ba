"""Rows and files the tests build without the portal's services: token rows for tests that need many tokens or
never call Apple, profile rows for the per-token limit, and the files an admin uploads (VPP tokens, Configurator
certificates).

A test about what the wizard does uses the `onboard` fixture (the token services, an RSA key and a .p7m round trip
per token); token rows skip it, since that costs seconds per hundred tokens.
"""

import base64
import json
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from depportal.core import crypto
from depsim.control import DepSimControl
from profiles.models import EnrollmentProfile
from tokens.models import EnrollmentProgramToken, TokenState


def token_row(name: str, *, server: dict | None = None) -> EnrollmentProgramToken:
    """An active token, not saved yet: on a depsim `server` with its real OAuth values sealed as the wizard seals
    them, or, without one, a token that must never call Apple."""
    if server is None:
        return EnrollmentProgramToken(name=name, state=TokenState.ACTIVE, server_name=f"{name} MDM")
    values = {key: server[key] for key in ("consumer_key", "consumer_secret", "access_token", "access_secret")}
    return EnrollmentProgramToken(
        name=name,
        state=TokenState.ACTIVE,
        apple_id="it@example.com",
        certificate_pem="",
        private_key_encrypted=crypto.encrypt("not used: the OAuth values are stored already"),
        oauth_encrypted=crypto.encrypt(json.dumps(values)),
        access_token_expiry=datetime.fromisoformat(server["access_token_expiry"].replace("Z", "+00:00")),
        server_uuid=server["server_uuid"],
        server_name=server["server_name"],
    )


def active_tokens(control: DepSimControl, count: int, *, devices: int = 0, prefix: str = "Fleet") -> list:
    """`count` active tokens, each on its own depsim server holding `devices` devices."""
    created = []
    for number in range(count):
        server = control.create_server(f"{prefix} MDM {number}")
        if devices:
            control.add_devices(server["server_uuid"], count=devices)
        created.append(token_row(f"{prefix} {number}", server=server))
    return EnrollmentProgramToken.objects.bulk_create(created)


def profile_rows(token, count: int) -> list[EnrollmentProfile]:
    """`count` more stored profiles on the token, never sent to Apple (for the per-token limit)."""
    start = EnrollmentProfile.objects.filter(token=token).count()
    return EnrollmentProfile.objects.bulk_create(
        [EnrollmentProfile(token=token, name=f"Profile {i}") for i in range(start, start + count)]
    )


def vpp_token_file(*, s_token="stoken-123", days=365, org="Acme Inc", expiry: str | None = None) -> bytes:
    """A .vpptoken as Apple Business Manager hands it out, expiring in `days` (or at Apple's `expiry` text)."""
    expiry = expiry or (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S+0000")
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
