"""Where and how to log in to an SFTP server: settings any layer may hold (a partner profile, a bank source).

Pure configuration: the pinned host key and the private key are checked when the settings are built, with
`cryptography`'s readers only, so a profile that names an SFTP transport can be loaded, stored and shown
without the SSH client. The client (`transports.sftp`) turns these settings into a session.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = ["HOST_KEY_TYPES", "SftpSettings", "read_private_key"]

#: The host key types a pin may name (what `ssh-keyscan` prints), as in a known_hosts line.
HOST_KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)


def _parse_host_key(value: str) -> tuple[str, bytes]:
    """`(key type, public key blob)` from "<keytype> <base64>" or a known_hosts line "<hosts> <keytype>
    <base64> [comment]"; raises ValueError saying what is wrong."""
    fields = value.split()
    if fields and fields[0].startswith("@"):
        raise ValueError(
            f"host_key: known_hosts markers ({fields[0]}) are not supported; pin the server's own key"
        )
    if len(fields) >= 2 and fields[0] in HOST_KEY_TYPES:
        key_type, encoded = fields[0], fields[1]
    elif len(fields) >= 3 and fields[1] in HOST_KEY_TYPES:
        key_type, encoded = fields[1], fields[2]
    else:
        raise ValueError(
            "host_key must be '<keytype> <base64>' as in a known_hosts line (the host name may be left out),"
            f" e.g. 'ssh-ed25519 AAAAC3Nza…'; key types: {', '.join(HOST_KEY_TYPES)}"
        )
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"host_key: the {key_type} key is not valid base64") from None
    line = f"{key_type} {base64.b64encode(blob).decode('ascii')}".encode("ascii")
    try:  # the blob names its own type: an ed25519 blob under "ssh-rsa" is refused here
        key = serialization.load_ssh_public_key(line)
        again = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    except (ValueError, UnsupportedAlgorithm, TypeError):
        raise ValueError(f"host_key: the base64 data is not an {key_type} public key") from None
    if again != line:
        raise ValueError(f"host_key: the base64 data is not an {key_type} public key")
    return key_type, blob


def _load(data: bytes, password: bytes | None) -> tuple[object | None, bool]:
    """(the key or None, whether a reader said it is encrypted and needs a password it was not given)."""
    encrypted = False
    for loader in (serialization.load_ssh_private_key, serialization.load_pem_private_key):
        try:
            return loader(data, password=password), False
        except TypeError:  # "encrypted but no password", or "a password but not encrypted"
            encrypted = encrypted or password is None
        except (ValueError, UnsupportedAlgorithm):  # not this format, malformed, or an unknown key type
            pass
    return None, encrypted


def read_private_key(
    text: str, passphrase: str | None
) -> ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    """The private key from OpenSSH or PEM (PKCS#1, SEC1, PKCS#8) text; ValueError with no secret in it."""
    data = text.strip().encode("utf-8") + b"\n"
    password = passphrase.encode("utf-8") if passphrase else None
    loaded, encrypted = _load(data, password)
    if loaded is None and password is not None:  # a passphrase given for a key that has none is fine
        loaded, encrypted = _load(data, None)
        if loaded is None and encrypted:
            raise ValueError("private_key_passphrase does not decrypt private_key")
    if loaded is None and encrypted:
        raise ValueError("private_key is encrypted: set private_key_passphrase")
    if isinstance(loaded, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return loaded
    if loaded is None:
        raise ValueError("private_key is not an OpenSSH or PEM private key")
    raise ValueError("private_key: only ed25519, ECDSA and RSA keys are supported")


class SftpSettings(BaseModel):
    """Where and how to log in. `host_key` is required: the server's key is pinned, never learned.

    `host_key` is "<keytype> <base64>" (what `ssh-keyscan` prints after the host name); a full known_hosts
    line is accepted and its host part ignored. A private key is tried before the password when both are
    set. Errors never show the input values (`hide_input_in_errors`), so secrets stay out of them too.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    host: str = Field(min_length=1)
    port: int = Field(22, ge=1, le=65535)
    username: str = Field(min_length=1)
    host_key: str
    password: SecretStr | None = None
    private_key: SecretStr | None = Field(None, description="OpenSSH or PEM text: ed25519, ECDSA or RSA")
    private_key_passphrase: SecretStr | None = None
    connect_timeout_seconds: float = Field(15, gt=0, le=600)
    operation_timeout_seconds: float = Field(60, gt=0, le=3600)

    @field_validator("host_key")
    @classmethod
    def _pinned_key_parses(cls, value: str) -> str:
        key_type, blob = _parse_host_key(value)
        return f"{key_type} {base64.b64encode(blob).decode('ascii')}"

    @model_validator(mode="after")
    def _credentials_usable(self) -> SftpSettings:
        if self.password is None and self.private_key is None:
            raise ValueError("set password or private_key (or both): the SFTP server needs a credential")
        if self.private_key_passphrase is not None and self.private_key is None:
            raise ValueError("private_key_passphrase is set but private_key is not")
        if self.private_key is not None:  # a wrong passphrase or a broken key is a configuration error
            passphrase = self.private_key_passphrase
            read_private_key(
                self.private_key.get_secret_value(), passphrase.get_secret_value() if passphrase else None
            )
        return self

    @property
    def pinned_key_type(self) -> str:
        return self.host_key.split()[0]

    @property
    def pinned_key_blob(self) -> bytes:
        return base64.b64decode(self.host_key.split()[1])

    def secrets(self) -> list[str]:
        """Every secret value, so messages can be checked against them."""
        values = (self.password, self.private_key, self.private_key_passphrase)
        return [
            value.get_secret_value() for value in values if value is not None and value.get_secret_value()
        ]
