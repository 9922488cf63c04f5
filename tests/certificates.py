"""Self-signed RSA certificates for tests: a Digipost broker's enterprise certificate, AS4 access points.

Each is a fresh 2048-bit key and a certificate naming `common_name` as subject and issuer, valid from five
minutes ago (a clock a little behind does not refuse it) for a day unless told otherwise (an expired one).
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def make_certificate(
    common_name: str,
    *,
    not_valid_before: dt.datetime | None = None,
    not_valid_after: dt.datetime | None = None,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A fresh 2048-bit RSA key and a self-signed certificate for it (valid for a day unless told)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_valid_before or now - dt.timedelta(minutes=5))
        .not_valid_after(not_valid_after or now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, certificate
