"""Server-token (.p7m) crypto: openssl-made vectors, round trips, and every error class."""

import datetime as dt
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from depportal.apple.tokenfile import (
    CorruptTokenFile,
    NotATokenFile,
    ServerTokenCredentials,
    TokenFileBadExpiry,
    TokenFileError,
    TokenFileForDifferentKey,
    TokenFileMissingValues,
    certificate_fingerprint,
    decrypt_server_token,
    encrypt_server_token,
    encrypt_token_payload,
    generate_server_keypair,
)

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_KEY = (FIXTURES / "server_key.pem").read_bytes()
FIXTURE_CERT = (FIXTURES / "server_cert.pem").read_bytes()

# Same values as make_token_vectors.sh.
EXPECTED = ServerTokenCredentials(
    consumer_key="CK_3a1f0c9d2b7e4f6a8c5d1e0b9a7f3c2d",
    consumer_secret="CS_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d",
    access_token="AT_O2236714911O6c9b1e4d7a0f3c2b5e8d1a4f7c0b3e6d9a2f5c8b1e4dO1782945533000",
    access_secret="AS_0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
    access_token_expiry=dt.datetime(2027, 7, 1, 22, 18, 53, tzinfo=dt.UTC),
)
SECRETS = (EXPECTED.consumer_secret, EXPECTED.access_token, EXPECTED.access_secret)
VALID_JSON = (
    '{"consumer_key":"CK_1","consumer_secret":"CS_2","access_token":"AT_3","access_secret":"AS_4",'
    '"access_token_expiry":"2027-01-02T03:04:05Z"}'
)
CIPHER_NAMES = {"aes128": "aes128_cbc", "aes256": "aes256_cbc", "des3": "tripledes_3key"}
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")


@pytest.fixture(scope="module")
def keypair():
    return generate_server_keypair("DEP Portal test", valid_days=2)


@pytest.fixture(scope="module")
def other_key():
    return generate_server_keypair("someone else")[0]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def cms_der(p7m: bytes) -> bytes:
    """Body of an S/MIME file as DER (test-side decoding, independent of the module's parser)."""
    import base64

    text = p7m.decode("ascii").replace("\r\n", "\n")
    return base64.b64decode(text.split("\n\n", 1)[1])


def to_smime(der: bytes) -> bytes:
    import base64

    return b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\n\n" + base64.encodebytes(der)


def content_algorithm(der: bytes) -> str:
    info = cms.ContentInfo.load(der)
    return info["content"]["encrypted_content_info"]["content_encryption_algorithm"]["algorithm"].native


def with_ciphertext(der: bytes, change) -> bytes:
    """Rebuild a CMS object with its encrypted content passed through `change`."""
    info = cms.ContentInfo.load(der)
    content_info = info["content"]["encrypted_content_info"]
    content_info["encrypted_content"] = change(content_info["encrypted_content"].native)
    return info.dump(force=True)


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x5A]) + data[index + 1 :]


def assert_admin_message(error: TokenFileError) -> None:
    assert isinstance(error, TokenFileError)
    assert len(error.message) > 30 and str(error) == error.message
    assert not any(secret in error.message for secret in SECRETS)


# --- openssl-made vectors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "algorithm"),
    [
        ("token_aes128.p7m", "aes128_cbc"),
        ("token_aes256_lf.p7m", "aes256_cbc"),
        ("token_des3.p7m", "tripledes_3key"),
        ("token_docstyle.p7m", "aes128_cbc"),
    ],
)
def test_openssl_smime_vectors_decrypt(name, algorithm):
    data = fixture(name)
    assert content_algorithm(cms_der(data)) == algorithm
    assert b"\r\n" not in data  # openssl writes LF outer headers
    assert decrypt_server_token(data, FIXTURE_KEY) == EXPECTED


@needs_openssl
def test_docstyle_vector_is_hard_wrapped_without_markers():
    # Guards the vector itself: otherwise the doc-style case could pass for the wrong reason.
    inner = subprocess.run(
        [
            "openssl",
            "smime",
            "-decrypt",
            "-in",
            str(FIXTURES / "token_docstyle.p7m"),
            "-inkey",
            str(FIXTURES / "server_key.pem"),
        ],
        capture_output=True,
        check=True,
    ).stdout
    assert b"BEGIN MESSAGE" not in inner
    assert len(inner.split(b"\r\n\r\n", 1)[1].strip().splitlines()) > 2


@pytest.mark.parametrize(
    ("name", "algorithm", "indefinite"),
    [("token_aes128.der", "aes128_cbc", False), ("token_des3_ber.der", "tripledes_3key", True)],
)
def test_openssl_der_and_ber_vectors_decrypt(name, algorithm, indefinite):
    data = fixture(name)
    assert content_algorithm(data) == algorithm
    assert (data[1] == 0x80) is indefinite
    assert decrypt_server_token(data, FIXTURE_KEY) == EXPECTED


def test_openssl_pem_vector_decrypts():
    data = fixture("token_aes256.pem")
    assert data.startswith(b"-----BEGIN CMS-----")
    assert decrypt_server_token(data, FIXTURE_KEY) == EXPECTED


def test_crlf_outer_headers():
    data = fixture("token_aes128.p7m").replace(b"\n", b"\r\n")
    assert decrypt_server_token(data, FIXTURE_KEY) == EXPECTED


def test_without_outer_headers_bare_base64():
    bare = fixture("token_des3.p7m").split(b"\n\n", 1)[1]
    assert not re.search(rb"^[A-Za-z-]+:", bare, re.M)
    assert decrypt_server_token(bare, FIXTURE_KEY) == EXPECTED
    assert decrypt_server_token(bare.replace(b"\n", b""), FIXTURE_KEY) == EXPECTED


# --- our encryptor ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cipher", ["aes128", "aes256", "des3"])
def test_round_trip_each_cipher(keypair, cipher):
    key_pem, cert_pem = keypair
    token = encrypt_server_token(EXPECTED, cert_pem, cipher=cipher)
    der = cms_der(token)
    assert content_algorithm(der) == CIPHER_NAMES[cipher]
    assert decrypt_server_token(token, key_pem) == EXPECTED


def test_encrypted_layout_matches_apple(keypair):
    key_pem, cert_pem = keypair
    token = encrypt_server_token(EXPECTED, cert_pem)
    head, _ = token.split(b"\r\n\r\n", 1)
    assert head.split(b"\r\n") == [
        b'Content-Type: application/pkcs7-mime; name="smime.p7m"; smime-type=enveloped-data',
        b"Content-Transfer-Encoding: base64",
        b'Content-Disposition: attachment; filename="smime.p7m"',
        b"Content-Description: S/MIME Encrypted Message",
    ]
    enveloped = cms.ContentInfo.load(cms_der(token))["content"]
    assert content_algorithm(cms_der(token)) == "aes128_cbc"
    (recipient,) = enveloped["recipient_infos"]
    assert recipient.chosen["key_encryption_algorithm"]["algorithm"].native == "rsaes_pkcs1v15"
    rid = recipient.chosen["rid"]
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert rid.name == "issuer_and_serial_number"
    assert rid.chosen["serial_number"].native == cert.serial_number
    assert rid.chosen["issuer"].dump() == cert.issuer.public_bytes()


@needs_openssl
@pytest.mark.parametrize("cipher", ["aes128", "aes256", "des3"])
def test_openssl_decrypts_our_tokens(tmp_path, cipher):
    token = tmp_path / "token.p7m"
    token.write_bytes(encrypt_server_token(EXPECTED, FIXTURE_CERT, cipher=cipher))
    result = subprocess.run(
        ["openssl", "smime", "-decrypt", "-in", str(token), "-inkey", str(FIXTURES / "server_key.pem")],
        capture_output=True,
        check=True,
    )
    inner = result.stdout.decode()
    assert inner.startswith("Content-Type: text/plain;charset=UTF-8\r\n")
    body = inner.split("-----BEGIN MESSAGE-----\r\n", 1)[1].split("\r\n-----END MESSAGE-----", 1)[0]
    assert body == (
        '{"consumer_key":"CK_3a1f0c9d2b7e4f6a8c5d1e0b9a7f3c2d",'
        '"consumer_secret":"CS_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d",'
        '"access_token":"AT_O2236714911O6c9b1e4d7a0f3c2b5e8d1a4f7c0b3e6d9a2f5c8b1e4dO1782945533000",'
        '"access_secret":"AS_0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",'
        '"access_token_expiry":"2027-07-01T22:18:53Z"}'
    )


def test_lf_outer_and_der_forms_of_our_token():
    token = encrypt_server_token(EXPECTED, FIXTURE_CERT, cipher="des3")
    assert decrypt_server_token(token.replace(b"\r\n", b"\n"), FIXTURE_KEY) == EXPECTED
    assert decrypt_server_token(cms_der(token), FIXTURE_KEY) == EXPECTED


def test_expiry_absent_round_trips_as_none(keypair):
    key_pem, cert_pem = keypair
    creds = ServerTokenCredentials("CK_a", "CS_b", "AT_c", "AS_d", None)
    assert "access_token_expiry" not in creds.to_json()
    assert decrypt_server_token(encrypt_server_token(creds, cert_pem), key_pem) == creds


@pytest.mark.parametrize(
    ("payload", "expiry"),
    [
        # Apple doc style, LF, no inner headers, no markers, hard-wrapped.
        (VALID_JSON[:40] + "\n" + VALID_JSON[40:90] + "\n" + VALID_JSON[90:] + "\n", "2027-01-02T03:04:05+00:00"),
        # Markers, CRLF, expiry null.
        (
            "-----BEGIN MESSAGE-----\r\n"
            + VALID_JSON.replace('"2027-01-02T03:04:05Z"', "null")
            + "\r\n-----END MESSAGE-----",
            None,
        ),
        # Inner headers, expiry with an offset and fractions: normalised to UTC.
        (
            "Content-Type: text/plain\n\n" + VALID_JSON.replace("03:04:05Z", "05:04:05.250+02:00"),
            "2027-01-02T03:04:05.250000+00:00",
        ),
        # Expiry key missing altogether.
        ('{"consumer_key":"CK_1","consumer_secret":"CS_2","access_token":"AT_3","access_secret":"AS_4"}', None),
    ],
)
def test_payload_variants(payload, expiry):
    token = encrypt_token_payload(payload.encode(), FIXTURE_CERT)
    creds = decrypt_server_token(token, FIXTURE_KEY)
    assert (creds.consumer_key, creds.consumer_secret, creds.access_token, creds.access_secret) == (
        "CK_1",
        "CS_2",
        "AT_3",
        "AS_4",
    )
    assert (creds.access_token_expiry.isoformat() if creds.access_token_expiry else None) == expiry


def test_credentials_json_and_repr():
    assert EXPECTED.to_json() == {
        "consumer_key": EXPECTED.consumer_key,
        "consumer_secret": EXPECTED.consumer_secret,
        "access_token": EXPECTED.access_token,
        "access_secret": EXPECTED.access_secret,
        "access_token_expiry": "2027-07-01T22:18:53Z",
    }
    assert not any(secret in repr(EXPECTED) for secret in SECRETS)
    paris = dt.timezone(dt.timedelta(hours=2))
    moved = ServerTokenCredentials("a", "b", "c", "d", dt.datetime(2027, 7, 2, 0, 18, 53, tzinfo=paris))
    assert (
        moved.access_token_expiry.tzinfo is dt.UTC and moved.to_json()["access_token_expiry"] == "2027-07-01T22:18:53Z"
    )
    with pytest.raises(ValueError):
        ServerTokenCredentials("a", "b", "c", "d", dt.datetime(2027, 1, 1))


def test_unknown_cipher_rejected():
    with pytest.raises(ValueError):
        encrypt_server_token(EXPECTED, FIXTURE_CERT, cipher="rc2")


# --- key pair ------------------------------------------------------------------------------------------------------


def test_generated_keypair(keypair):
    key_pem, cert_pem = keypair
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert cert.subject == cert.issuer
    assert cert.subject.rfc4514_string() == "CN=DEP Portal test"
    assert (
        dt.timedelta(days=2) <= cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(days=2, hours=1)
    )
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_encipherment and usage.digital_signature
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


@needs_openssl
def test_fingerprint_matches_openssl():
    result = subprocess.run(
        ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(FIXTURES / "server_cert.pem")],
        capture_output=True,
        check=True,
        text=True,
    )
    expected = result.stdout.strip().split("=", 1)[1].replace(":", "").lower()
    assert certificate_fingerprint(FIXTURE_CERT) == expected
    assert certificate_fingerprint(generate_server_keypair()[1]) != expected


# --- errors --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"  \n",
        random.Random(7).randbytes(700),
        b"hello, this is a plain text file\nwith two lines\n",
        b"PK\x03\x04 a zip file",
        cms.ContentInfo({"content_type": "data", "content": b"just data"}).dump(),
        b"Content-Type: text/plain\n\nhello\n",
    ],
    ids=["empty", "blank", "random-bytes", "text", "zip", "cms-data", "other-mime"],
)
def test_not_a_token_file(data):
    with pytest.raises(NotATokenFile) as caught:
        decrypt_server_token(data, FIXTURE_KEY)
    assert_admin_message(caught.value)


def test_certificate_instead_of_token():
    with pytest.raises(NotATokenFile, match="certificate") as caught:
        decrypt_server_token(FIXTURE_CERT, FIXTURE_KEY)
    assert_admin_message(caught.value)


def test_private_key_instead_of_token():
    with pytest.raises(NotATokenFile, match="private key"):
        decrypt_server_token(FIXTURE_KEY, FIXTURE_KEY)


@pytest.mark.parametrize("name", ["token_aes128.p7m", "token_aes256_lf.p7m", "token_des3.p7m", "token_des3_ber.der"])
def test_wrong_key(other_key, name):
    with pytest.raises(TokenFileForDifferentKey) as caught:
        decrypt_server_token(fixture(name), other_key)
    assert_admin_message(caught.value)


@pytest.mark.parametrize("cipher", ["aes128", "aes256", "des3"])
def test_wrong_key_on_our_tokens(keypair, other_key, cipher):
    with pytest.raises(TokenFileForDifferentKey):
        decrypt_server_token(encrypt_server_token(EXPECTED, keypair[1], cipher=cipher), other_key)


def test_unreadable_private_key():
    with pytest.raises(TokenFileError, match="private key"):
        decrypt_server_token(
            fixture("token_aes128.p7m"), b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        )


@pytest.mark.parametrize(
    "data",
    [
        fixture("token_aes128.p7m")[:700],
        fixture("token_aes128.p7m")[:701],  # leaves a partial base64 quantum
        fixture("token_des3.p7m").split(b"\n\n", 1)[1][:500],
        fixture("token_aes128.der")[:400],
        fixture("token_des3_ber.der")[:-2],
        fixture("token_aes256.pem").replace(b"-----END CMS-----", b""),
        fixture("token_aes256.pem").replace(b"M", b"*", 1),
    ],
    ids=[
        "smime-cut",
        "smime-cut-mid-quantum",
        "bare-base64-cut",
        "der-cut",
        "ber-cut-eoc",
        "pem-no-end",
        "pem-bad-char",
    ],
)
def test_truncated_or_damaged_file(data):
    with pytest.raises(CorruptTokenFile) as caught:
        decrypt_server_token(data, FIXTURE_KEY)
    assert_admin_message(caught.value)


@pytest.mark.parametrize(
    "change",
    [
        lambda ct: flip(ct, len(ct) // 2),  # garbles the JSON in the middle
        lambda ct: flip(ct, len(ct) - 17),  # breaks the CBC padding of the last block
        lambda ct: ct[:-5],  # not a whole number of blocks
        lambda ct: ct[:-16],  # whole blocks, but the padding block is gone
    ],
    ids=["middle", "padding", "partial-block", "lost-block"],
)
def test_corrupt_ciphertext(change):
    data = with_ciphertext(fixture("token_aes128.der"), change)
    with pytest.raises(CorruptTokenFile) as caught:
        decrypt_server_token(to_smime(data), FIXTURE_KEY)
    assert_admin_message(caught.value)


@pytest.mark.parametrize(
    ("payload", "missing"),
    [
        (VALID_JSON.replace('"access_secret":"AS_4",', ""), "access_secret"),
        (VALID_JSON.replace('"CS_2"', '""'), "consumer_secret"),
        (VALID_JSON.replace('"AT_3"', "12"), "access_token"),
        (
            '{"access_token_expiry":"2027-01-02T03:04:05Z"}',
            "consumer_key, consumer_secret, access_token, access_secret",
        ),
    ],
)
def test_missing_values(payload, missing):
    token = encrypt_token_payload(
        b"-----BEGIN MESSAGE-----\n" + payload.encode() + b"\n-----END MESSAGE-----\n", FIXTURE_CERT
    )
    with pytest.raises(TokenFileMissingValues, match=missing) as caught:
        decrypt_server_token(token, FIXTURE_KEY)
    assert_admin_message(caught.value)


@pytest.mark.parametrize("expiry", ['"next year"', '"2027-13-45T99:00:00Z"', '""', "1782945533", "[]"])
def test_bad_expiry(expiry):
    payload = VALID_JSON.replace('"2027-01-02T03:04:05Z"', expiry)
    with pytest.raises(TokenFileBadExpiry) as caught:
        decrypt_server_token(encrypt_token_payload(payload.encode(), FIXTURE_CERT), FIXTURE_KEY)
    assert_admin_message(caught.value)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (VALID_JSON[:-10], CorruptTokenFile),
        ("-----BEGIN MESSAGE-----\nhello\n-----END MESSAGE-----\n", NotATokenFile),
        ('["CK_1", "CS_2"]', NotATokenFile),
        ("Content-Type: text/plain\n\n", NotATokenFile),
    ],
    ids=["broken-json", "no-json", "json-list", "empty-body"],
)
def test_decrypted_content_not_a_token(payload, error):
    with pytest.raises(error) as caught:
        decrypt_server_token(encrypt_token_payload(payload.encode(), FIXTURE_CERT), FIXTURE_KEY)
    assert_admin_message(caught.value)


def test_binary_payload_is_corrupt():
    token = encrypt_token_payload(b"Content-Type: text/plain\n\n\xff\xfe\x00garbage", FIXTURE_CERT)
    with pytest.raises(CorruptTokenFile):
        decrypt_server_token(token, FIXTURE_KEY)


def test_headers_without_content_type_are_not_taken_as_a_token():
    with pytest.raises(NotATokenFile):
        decrypt_server_token(b"Subject: hello\n\nQUJDRA==\n", FIXTURE_KEY)


@pytest.mark.parametrize("name", ["token_aes128.p7m", "token_des3_ber.der"])
def test_damaged_files_give_an_admin_error_or_the_right_values(name):
    base = fixture(name)
    rng = random.Random(name)
    for _ in range(60):  # each decrypt loads (and validates) the RSA key: ~30 ms
        data = bytearray(base)
        start = rng.randrange(len(data))
        if rng.random() < 0.5:
            data[start] = rng.randrange(256)
        else:
            del data[start : start + rng.randrange(1, 40)]
        try:
            assert decrypt_server_token(bytes(data), FIXTURE_KEY) == EXPECTED
        except TokenFileError as error:
            assert_admin_message(error)
