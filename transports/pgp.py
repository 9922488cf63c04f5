"""OpenPGP encryption of print-batch files to a print house's public key (python-gnupg over `gpg`).

Each `PgpEncryptor` imports the key once into its own throwaway GNUPGHOME (mode 0700, deleted on
`close`), so no key ring is shared between tenants, profiles or tests, and nothing is left behind. gpg runs
with `--batch --no-autostart`: encrypting to a public key needs neither gpg-agent nor dirmngr, and
`--no-autostart` guarantees neither is started (so no daemon outlives the call, and no key server is ever
asked). `close` still runs `gpgconf --kill all` for that home if a daemon socket appeared there.

Output is binary OpenPGP (not armoured): the files are uploaded over SFTP, where armour only adds a third
to their size. Encryption is not deterministic (a fresh session key each time), so encrypt a batch once
and upload those bytes on every retry if the print house must see identical files.

The key is trusted as given (`always_trust`): it comes from the operator's configuration, not from a web
of trust. A key that gpg would refuse anyway is refused up front with `PgpError`, with the reason: not a
public key block, a private key, more than one key, expired or revoked, or no usable encryption subkey.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
import weakref
from pathlib import Path
from types import TracebackType
from typing import Any

import gnupg  # type: ignore[import-untyped]  # python-gnupg ships no type information

__all__ = ["PgpEncryptor", "PgpError", "encrypt_for_recipient"]

#: gpg options for every call: no daemons, no terminal, no network, no options file from elsewhere.
GPG_OPTIONS: tuple[str, ...] = (
    "--batch",
    "--no-tty",
    "--no-autostart",
    "--no-greeting",
    "--no-auto-key-retrieve",
    "--auto-key-locate",
    "local",
    "--trust-model",
    "always",
)
PUBLIC_KEY_HEADER = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
PRIVATE_KEY_HEADER = "-----BEGIN PGP PRIVATE KEY BLOCK-----"


class PgpError(ValueError):
    """The key or gpg cannot be used: the reason says which, so an operator can fix the profile."""


def _cleanup(home: str, gpgconf: str | None) -> None:
    """Stop any daemon that appeared in `home` (there should be none), then delete it."""
    if gpgconf and os.path.isdir(home) and any(name.startswith("S.") for name in os.listdir(home)):
        subprocess.run(
            [gpgconf, "--homedir", home, "--kill", "all"],
            check=False,
            capture_output=True,
            timeout=10,
        )
    shutil.rmtree(home, ignore_errors=True)


def _gpgconf_for(gpg_binary: str) -> str | None:
    """`gpgconf` next to the chosen gpg, else on PATH."""
    found = shutil.which(gpg_binary)
    if found:
        sibling = Path(found).with_name("gpgconf")
        if sibling.is_file():
            return str(sibling)
    return shutil.which("gpgconf")


def _date(epoch: str) -> str:
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date().isoformat() if epoch else "?"


class PgpEncryptor:
    """Encrypts any number of files to one public key; import once, reuse for every file of a batch.

    Use as a context manager, or call `close`; a forgotten instance is cleaned up when collected.
    """

    def __init__(self, public_key_armored: str, *, gpg_binary: str = "gpg") -> None:
        if PRIVATE_KEY_HEADER in public_key_armored:
            raise PgpError("this is a private key block; configure the print house's PUBLIC key")
        if PUBLIC_KEY_HEADER not in public_key_armored:
            raise PgpError(
                "not an ASCII-armoured OpenPGP public key block (-----BEGIN PGP PUBLIC KEY BLOCK-----)"
            )
        self._home = tempfile.mkdtemp(prefix="gw-pgp-")
        os.chmod(self._home, 0o700)
        self._finalizer = weakref.finalize(self, _cleanup, self._home, _gpgconf_for(gpg_binary))
        try:
            self._gpg = self._start(gpg_binary)
            self._fingerprint = self._import(public_key_armored)
        except BaseException:
            self._finalizer()
            raise

    def _start(self, gpg_binary: str) -> Any:
        try:
            return gnupg.GPG(gpgbinary=gpg_binary, gnupghome=self._home, options=list(GPG_OPTIONS))
        except (OSError, ValueError, RuntimeError) as error:
            raise PgpError(f"cannot run gpg ({gpg_binary!r}): {error}") from None

    def _import(self, public_key_armored: str) -> str:
        result = self._gpg.import_keys(public_key_armored)
        if not result.fingerprints:
            detail = "; ".join(str(r.get("text", "")).strip() for r in result.results) or "no key found"
            raise PgpError(f"the public key does not parse ({detail})")
        if self._gpg.list_keys(secret=True):
            raise PgpError("the key block holds a private key; configure the print house's PUBLIC key")
        keys = self._gpg.list_keys()
        if len(keys) != 1:
            raise PgpError(f"the key block holds {len(keys)} keys; give exactly the print house's one key")
        key: dict[str, Any] = keys[0]
        fingerprint = str(key["fingerprint"])
        validity = key.get("trust", "")
        if validity == "e":
            raise PgpError(f"key {fingerprint} expired on {_date(key.get('expires', ''))}")
        if validity == "r":
            raise PgpError(f"key {fingerprint} is revoked")
        # Upper-case letters in the primary key's capabilities are what the whole key can still do;
        # "E" means at least one valid (unexpired, unrevoked) encryption subkey.
        if "E" not in key.get("cap", ""):
            subkeys = [s for s in key.get("subkey_info", {}).values() if "e" in s.get("cap", "")]
            expired = [s for s in subkeys if s.get("trust") == "e"]
            if expired:
                dates = ", ".join(_date(s.get("expires", "")) for s in expired)
                raise PgpError(f"key {fingerprint}: its encryption subkey expired ({dates})")
            if subkeys:
                raise PgpError(f"key {fingerprint}: its encryption subkey is revoked or unusable")
            raise PgpError(f"key {fingerprint} has no encryption subkey (a signing-only key cannot encrypt)")
        return fingerprint

    @property
    def fingerprint(self) -> str:
        """The primary key's fingerprint (40 hex digits), to record which key a batch went to."""
        return self._fingerprint

    def encrypt(self, data: bytes) -> bytes:
        """`data` as a binary OpenPGP message to the key; `PgpError` if gpg fails."""
        if not self._finalizer.alive:
            raise PgpError("this encryptor is closed")
        result = self._gpg.encrypt(data, self._fingerprint, always_trust=True, armor=False)
        if not result.ok:
            raise PgpError(f"gpg could not encrypt ({result.status}): {str(result.stderr).strip()[-300:]}")
        return bytes(result.data)

    def close(self) -> None:
        """Delete the throwaway GNUPGHOME (and stop any daemon in it). Safe to call twice."""
        self._finalizer()

    def __enter__(self) -> PgpEncryptor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def encrypt_for_recipient(data: bytes, public_key_armored: str, *, gpg_binary: str = "gpg") -> bytes:
    """One file encrypted to `public_key_armored` (binary OpenPGP); a batch should reuse a `PgpEncryptor`."""
    with PgpEncryptor(public_key_armored, gpg_binary=gpg_binary) as encryptor:
        return encryptor.encrypt(data)
