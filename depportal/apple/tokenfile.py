"""Server-token file crypto: the MDM key pair, and the S/MIME .p7m token that ABM/ASM encrypts to it.

Decryption uses one asn1crypto + `cryptography` code path for every cipher rather than cryptography's
pkcs7 helpers: those cover AES only (no 3DES), and they fold every failure into one ValueError, so an
admin could not be told "wrong key" apart from "damaged file".
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass, field

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

__all__ = [
    "CorruptTokenFile",
    "NotATokenFile",
    "ServerTokenCredentials",
    "TokenFileBadExpiry",
    "TokenFileError",
    "TokenFileForDifferentKey",
    "TokenFileMissingValues",
    "certificate_fingerprint",
    "decrypt_server_token",
    "encrypt_server_token",
    "encrypt_token_payload",
    "generate_server_keypair",
]

REQUIRED_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_secret")
EXPIRY_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
BEGIN_MARKER = "-----BEGIN MESSAGE-----"
END_MARKER = "-----END MESSAGE-----"

# asn1crypto algorithm name -> (cipher factory, key length); all CBC.
_CIPHERS = {
    "aes128_cbc": (algorithms.AES, 16),
    "aes192_cbc": (algorithms.AES, 24),
    "aes256_cbc": (algorithms.AES, 32),
    "tripledes_3key": (TripleDES, 24),
}
_CIPHER_CHOICES = {"aes128": "aes128_cbc", "aes256": "aes256_cbc", "des3": "tripledes_3key"}

# DER of OID 1.2.840.113549.1.7.3 (envelopedData): lets a damaged token be told apart from any other file.
_ENVELOPED_DATA_OID = bytes.fromhex("06092a864886f70d010703")
_HEADER_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*:")
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_DOWNLOAD_AGAIN = "Download the token again from Apple Business Manager (or School Manager) and upload the new file."


class TokenFileError(Exception):
    """A server-token file could not be used; `.message` tells the admin what to do."""

    default_message = "The server token file could not be read. " + _DOWNLOAD_AGAIN

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class NotATokenFile(TokenFileError):
    """The upload is not an encrypted server token at all."""

    default_message = (
        "This file is not a server token. Upload the .p7m file that Apple Business Manager (or School Manager) "
        "gives you under the MDM server's 'Download Token'."
    )


class TokenFileForDifferentKey(TokenFileError):
    """The token was encrypted for another public key than this server's."""

    default_message = (
        "This server token was made for a different public key. In Apple Business Manager, upload this "
        "token's current public key (.pem) to the MDM server, then download a new token and upload it here."
    )


class CorruptTokenFile(TokenFileError):
    """The file looks like a server token but is damaged or truncated."""

    default_message = "The server token file is damaged or incomplete. " + _DOWNLOAD_AGAIN


class TokenFileMissingValues(TokenFileError):
    """The decrypted token lacks one of the OAuth values."""

    default_message = "The server token does not contain all of its OAuth values. " + _DOWNLOAD_AGAIN


class TokenFileBadExpiry(TokenFileError):
    """The decrypted token's access_token_expiry is not a date."""

    default_message = "The server token's expiry date is not a valid date. " + _DOWNLOAD_AGAIN


@dataclass(frozen=True)
class ServerTokenCredentials:
    """The four OAuth 1.0a values and expiry carried by a server token."""

    consumer_key: str
    # Secrets are kept out of repr() so a logged object never leaks them.
    consumer_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_secret: str = field(repr=False)
    access_token_expiry: dt.datetime | None = None

    def __post_init__(self) -> None:
        expiry = self.access_token_expiry
        if expiry is not None:
            if expiry.tzinfo is None or expiry.utcoffset() is None:
                raise ValueError("access_token_expiry must be timezone-aware")
            object.__setattr__(self, "access_token_expiry", expiry.astimezone(dt.UTC))

    def to_json(self) -> dict:
        """Return Apple's JSON object; expiry as YYYY-MM-DDTHH:MM:SSZ, omitted when unknown."""
        data = {key: getattr(self, key) for key in REQUIRED_KEYS}
        if self.access_token_expiry is not None:
            data["access_token_expiry"] = self.access_token_expiry.strftime(EXPIRY_FORMAT)
        return data


# --- key pair -------------------------------------------------------------------------------------------


def generate_server_keypair(common_name: str = "DEP Portal", valid_days: int = 30) -> tuple[bytes, bytes]:
    """Make an RSA-2048 key and self-signed certificate; return (PKCS#8 key PEM, certificate PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Backdated a little so a client clock slightly behind ours still accepts it.
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def certificate_fingerprint(certificate_pem: bytes) -> str:
    """Return the SHA-256 fingerprint (lower-case hex) of a PEM or DER certificate."""
    return hashlib.sha256(_load_certificate(certificate_pem).public_bytes(serialization.Encoding.DER)).hexdigest()


def _load_certificate(certificate: bytes) -> x509.Certificate:
    if certificate.lstrip().startswith(b"-----"):
        return x509.load_pem_x509_certificate(certificate)
    return x509.load_der_x509_certificate(certificate)


# --- encryption (what ABM/ASM does; used by the simulator) ------------------------------------------------


def encrypt_server_token(
    credentials: ServerTokenCredentials, certificate_pem: bytes, *, cipher: str = "aes128"
) -> bytes:
    """Encrypt credentials to a certificate as ABM/ASM does; return the S/MIME .p7m bytes."""
    body = json.dumps(credentials.to_json(), separators=(",", ":"))
    message = (
        "Content-Type: text/plain;charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        f"{BEGIN_MARKER}\r\n{body}\r\n{END_MARKER}\r\n"
    )
    return encrypt_token_payload(message.encode("utf-8"), certificate_pem, cipher=cipher)


def encrypt_token_payload(payload: bytes, certificate_pem: bytes, *, cipher: str = "aes128") -> bytes:
    """Wrap arbitrary inner bytes in the token's S/MIME envelope (lets the simulator emit broken tokens)."""
    if cipher not in _CIPHER_CHOICES:
        raise ValueError(f"cipher must be one of {sorted(_CIPHER_CHOICES)}, not {cipher!r}")
    cert = _load_certificate(certificate_pem)
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("the certificate's public key is not RSA")
    algorithm_name = _CIPHER_CHOICES[cipher]
    factory, key_length = _CIPHERS[algorithm_name]
    content_key = os.urandom(key_length)
    iv = os.urandom(factory.block_size // 8)
    encryptor = Cipher(factory(content_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(_pad(payload, len(iv))) + encryptor.finalize()

    asn1_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    recipient = cms.KeyTransRecipientInfo(
        {
            "version": "v0",
            "rid": cms.RecipientIdentifier(
                name="issuer_and_serial_number",
                value=cms.IssuerAndSerialNumber(
                    {"issuer": asn1_cert.issuer, "serial_number": asn1_cert.serial_number}
                ),
            ),
            "key_encryption_algorithm": {"algorithm": "rsaes_pkcs1v15", "parameters": core.Null()},
            "encrypted_key": public_key.encrypt(content_key, padding.PKCS1v15()),
        }
    )
    enveloped = cms.EnvelopedData(
        {
            "version": "v0",
            "recipient_infos": [cms.RecipientInfo(name="ktri", value=recipient)],
            "encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": {"algorithm": algorithm_name, "parameters": iv},
                "encrypted_content": ciphertext,
            },
        }
    )
    der = cms.ContentInfo({"content_type": "enveloped_data", "content": enveloped}).dump()
    encoded = base64.encodebytes(der).decode("ascii").replace("\n", "\r\n")
    headers = (
        'Content-Type: application/pkcs7-mime; name="smime.p7m"; smime-type=enveloped-data\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment; filename="smime.p7m"\r\n'
        "Content-Description: S/MIME Encrypted Message\r\n"
        "\r\n"
    )
    return (headers + encoded).encode("ascii")


def _pad(data: bytes, block: int) -> bytes:
    count = block - len(data) % block
    return data + bytes([count]) * count


# --- decryption --------------------------------------------------------------------------------------------


def decrypt_server_token(data: bytes, private_key_pem: bytes) -> ServerTokenCredentials:
    """Decrypt a .p7m server token (S/MIME, PEM, DER/BER or bare base64) with the server's private key."""
    private_key = _load_private_key(private_key_pem)
    try:
        cms_bytes, declared_cms = _extract_cms(data)
        enveloped = _parse_enveloped(cms_bytes, declared_cms)
        plaintext = _decrypt_enveloped(enveloped, private_key)
        return _parse_payload(plaintext)
    except TokenFileError:
        raise
    except Exception as exc:
        # Safety net for inputs no one foresaw: the admin gets a message, never a traceback.
        raise CorruptTokenFile() from exc


def _load_private_key(private_key_pem: bytes) -> rsa.RSAPrivateKey:
    try:
        if private_key_pem.lstrip().startswith(b"-----"):
            key = serialization.load_pem_private_key(private_key_pem, password=None)
        else:
            key = serialization.load_der_private_key(private_key_pem, password=None)
    except Exception as exc:  # cryptography raises ValueError, TypeError or UnsupportedAlgorithm
        raise TokenFileError(
            "This server's stored private key cannot be read, so no token can be decrypted with it. "
            "Generate a new public key, upload it to Apple Business Manager and download a new token."
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TokenFileError("This server's stored private key is not an RSA key. Generate a new public key.")
    return key


def _extract_cms(data: bytes) -> tuple[bytes, bool]:
    """Return (CMS bytes, whether the wrapping declared them to be CMS) from any accepted form."""
    if not data or not data.strip():
        raise NotATokenFile("The uploaded file is empty. " + NotATokenFile.default_message)
    data = data.removeprefix(b"\xef\xbb\xbf")
    # DER/BER always opens with a SEQUENCE tag (0x30) and a non-ASCII length byte; anything else is
    # read as text, so one damaged byte in an S/MIME or PEM file still counts as a damaged token.
    if data[:1] == b"\x30" and not data.isascii():
        return data, False
    text = data.decode("latin-1")
    if "-----BEGIN " in text:
        return _from_pem(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    declared = False
    if lines and _HEADER_LINE.match(lines[0]):
        headers, lines = _split_headers(lines)
        content_type = headers.get("content-type", "").lower()
        declared = "pkcs7-mime" in content_type
        if content_type and not declared:
            kind = content_type.split(";")[0].strip()
            raise NotATokenFile(f"This file is a '{kind}' message, not an encrypted server token. " + _DOWNLOAD_AGAIN)
    return _decode_base64("".join(lines), declared=declared), declared


def _split_headers(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    headers: dict[str, str] = {}
    last = None
    for index, line in enumerate(lines):
        if not line.strip():
            return headers, lines[index + 1 :]
        if line[0] in " \t" and last:  # folded continuation of the previous header
            headers[last] += " " + line.strip()
            continue
        name, _, value = line.partition(":")
        last = name.strip().lower()
        headers[last] = value.strip()
    return headers, []


def _from_pem(text: str) -> tuple[bytes, bool]:
    match = _PEM_BLOCK.search(text)
    if match is None:
        raise CorruptTokenFile("The file starts like a PEM block but has no matching END line. " + _DOWNLOAD_AGAIN)
    label = match.group(1)
    if label in {"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"}:
        raise NotATokenFile(
            "This is a certificate (the public key you upload to Apple), not the server token. Upload the "
            ".p7m file that Apple Business Manager gives you after you upload that public key."
        )
    if "PRIVATE KEY" in label:
        raise NotATokenFile(
            "This is a private key, not a server token. Do not share private keys; upload the .p7m token "
            "file from Apple Business Manager instead."
        )
    if label == "MESSAGE":
        raise NotATokenFile("This is an already-decrypted token. Upload the original .p7m file from Apple instead.")
    body = "".join(line for line in match.group(2).splitlines() if ":" not in line)  # drop RFC 1421 headers
    return _decode_base64(body, declared=True), True


def _decode_base64(text: str, *, declared: bool) -> bytes:
    compact = "".join(text.split())
    if not compact:
        if declared:
            raise CorruptTokenFile("The server token file contains no encrypted data. " + _DOWNLOAD_AGAIN)
        raise NotATokenFile()
    if not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", compact):
        if declared:
            raise CorruptTokenFile("The server token's encoded data contains invalid characters. " + _DOWNLOAD_AGAIN)
        raise NotATokenFile()
    try:
        return base64.b64decode(compact, validate=True)
    except binascii.Error:
        pass
    try:
        # A truncated download leaves a partial base64 quantum; decode the whole quanta so the
        # CMS check below can still recognise a damaged token.
        return base64.b64decode(compact[: len(compact) // 4 * 4], validate=True)
    except binascii.Error as exc:
        raise (CorruptTokenFile() if declared else NotATokenFile()) from exc


def _parse_enveloped(der: bytes, declared: bool) -> cms.EnvelopedData:
    looks_enveloped = declared or _ENVELOPED_DATA_OID in der[:24]
    try:
        info = cms.ContentInfo.load(der)
        content_type = info["content_type"].native
    except Exception as exc:  # asn1crypto raises ValueError, TypeError or IndexError on bad input
        if looks_enveloped:
            raise CorruptTokenFile(
                "The server token file is truncated or damaged (its encrypted structure cannot be read). "
                + _DOWNLOAD_AGAIN
            ) from exc
        raise NotATokenFile() from exc
    if content_type != "enveloped_data":
        raise NotATokenFile(
            f"This file is a CMS '{content_type}' object, not an encrypted server token. " + _DOWNLOAD_AGAIN
        )
    return info["content"]


def _decrypt_enveloped(enveloped: cms.EnvelopedData, private_key: rsa.RSAPrivateKey) -> bytes:
    try:
        content_info = enveloped["encrypted_content_info"]
        algorithm = content_info["content_encryption_algorithm"]
        algorithm_name = algorithm["algorithm"].native
        iv = algorithm["parameters"].native if algorithm_name in _CIPHERS else None
        ciphertext = content_info["encrypted_content"].native
        encrypted_keys = [
            info.chosen["encrypted_key"].native
            for info in enveloped["recipient_infos"]
            if info.name == "ktri" and info.chosen["key_encryption_algorithm"]["algorithm"].native == "rsaes_pkcs1v15"
        ]
    except Exception as exc:
        raise CorruptTokenFile(
            "The server token file is damaged (its encrypted structure cannot be read). " + _DOWNLOAD_AGAIN
        ) from exc
    if algorithm_name not in _CIPHERS:
        raise NotATokenFile(
            f"This file is encrypted with '{algorithm_name}', which Apple does not use for server tokens. "
            + _DOWNLOAD_AGAIN
        )
    if not encrypted_keys:
        raise NotATokenFile(
            "This encrypted file has no RSA recipient, so it is not a server token. " + _DOWNLOAD_AGAIN
        )
    factory, key_length = _CIPHERS[algorithm_name]
    block = factory.block_size // 8
    if not ciphertext or len(ciphertext) % block or not isinstance(iv, bytes) or len(iv) != block:
        raise CorruptTokenFile("The server token's encrypted content is truncated or damaged. " + _DOWNLOAD_AGAIN)
    for encrypted_key in encrypted_keys:
        plaintext = _try_recipient(encrypted_key, private_key, factory, key_length, iv, ciphertext)
        if plaintext is not None:
            return _unpad(plaintext, block)
    raise TokenFileForDifferentKey()


def _try_recipient(encrypted_key, private_key, factory, key_length, iv, ciphertext) -> bytes | None:
    """Return the raw (still padded) plaintext, or None if this key is not the recipient."""
    try:
        # Telling 'wrong key' from 'damaged' leaks a weak padding oracle to whoever uploads files; accepted:
        # only admins upload, an attack needs ~millions of uploads, and the prize is a token ABM gives them.
        content_key = private_key.decrypt(encrypted_key, padding.PKCS1v15())
    except ValueError:
        return None
    # Modern OpenSSL answers a wrong key with a random "implicit rejection" key instead of an error,
    # so the wrong-key case is spotted by the key length and then by the first block: a real token
    # starts with ASCII text, whereas a random key yields random bytes. Damage later in the file
    # only garbles later blocks (CBC), so it is still reported as damage, not as a wrong key.
    if len(content_key) != key_length:
        return None
    decryptor = Cipher(factory(content_key), modes.CBC(iv)).decryptor()
    plaintext = decryptor.update(ciphertext) + decryptor.finalize()
    head = plaintext[: len(iv)]
    if not all(32 <= byte < 127 or byte in (9, 10, 13) for byte in head):
        return None
    return plaintext


def _unpad(plaintext: bytes, block: int) -> bytes:
    count = plaintext[-1]
    if not 1 <= count <= block or plaintext[-count:] != bytes([count]) * count:
        raise CorruptTokenFile("The server token's encrypted content is damaged (bad padding). " + _DOWNLOAD_AGAIN)
    return plaintext[:-count]


def _parse_payload(plaintext: bytes) -> ServerTokenCredentials:
    try:
        text = plaintext.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise CorruptTokenFile(
            "The server token's decrypted content is damaged (not text). " + _DOWNLOAD_AGAIN
        ) from exc
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and _HEADER_LINE.match(lines[0]):
        _, lines = _split_headers(lines)
    stripped = [line.strip() for line in lines]
    if BEGIN_MARKER in stripped:
        start = stripped.index(BEGIN_MARKER) + 1
        end = stripped.index(END_MARKER, start) if END_MARKER in stripped[start:] else len(stripped)
        stripped = stripped[start:end]
    # Apple's documented sample hard-wraps the JSON; the pieces join back with no separator.
    body = "".join(stripped)
    if "{" not in body:
        raise NotATokenFile("This file decrypts, but it does not contain a server token. " + _DOWNLOAD_AGAIN)
    try:
        values = json.loads(body)
    except ValueError as exc:
        raise CorruptTokenFile(
            "The server token's content is damaged (its JSON cannot be read). " + _DOWNLOAD_AGAIN
        ) from exc
    if not isinstance(values, dict):
        raise NotATokenFile("This file decrypts, but it does not contain a server token. " + _DOWNLOAD_AGAIN)
    missing = [key for key in REQUIRED_KEYS if not isinstance(values.get(key), str) or not values[key].strip()]
    if missing:
        raise TokenFileMissingValues(f"The server token is missing {', '.join(missing)}. " + _DOWNLOAD_AGAIN)
    return ServerTokenCredentials(
        **{key: values[key].strip() for key in REQUIRED_KEYS},
        access_token_expiry=_parse_expiry(values.get("access_token_expiry")),
    )


def _parse_expiry(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
        if parsed is not None:
            # Apple always writes UTC with a Z; a bare time is read as UTC too.
            return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
    shown = repr(value)[:40]
    raise TokenFileBadExpiry(
        f"The server token's expiry date {shown} is not a valid date (expected e.g. 2026-07-01T22:18:53Z). "
        + _DOWNLOAD_AGAIN
    )
