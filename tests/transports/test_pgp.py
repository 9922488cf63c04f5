"""PGP for print batches: a real gpg, a throwaway key pair, round trips, clear refusals, no daemons left."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gnupg  # type: ignore[import-untyped]
import psutil  # type: ignore[import-untyped]
import pytest

from tests.conftest import SHARED
from transports.pgp import PgpEncryptor, PgpError, encrypt_for_recipient

FAST_KEY = {"key_type": "EDDSA", "key_curve": "ed25519", "subkey_type": "ECDH", "subkey_curve": "cv25519"}


def _daemons(marker: str) -> list[str]:
    """Live gpg-agent / dirmngr / keyboxd processes whose command line mentions `marker`."""
    found = []
    for process in psutil.process_iter(["name", "cmdline", "status"]):
        try:
            name = process.info["name"] or ""
            if process.info["status"] == psutil.STATUS_ZOMBIE or not name.startswith(
                ("gpg-agent", "dirmngr", "keyboxd")
            ):
                continue
            cmdline = " ".join(process.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if marker in cmdline:
            found.append(f"{process.pid} {cmdline}")
    return found


@dataclass(frozen=True)
class Keys:
    home: str
    gpg: gnupg.GPG
    fingerprint: str
    public: str
    private: str
    sign_only: str
    expired: str
    two_keys: str


@pytest.fixture(scope="module")
def keys() -> Iterator[Keys]:
    """The print house's key pair (and some unusable keys), made in a home of their own."""
    home = tempfile.mkdtemp(prefix="gw-test-pgp-keys-")
    try:
        gpg = gnupg.GPG(gnupghome=home)
        main = gpg.gen_key(
            gpg.gen_key_input(name_email="print@house.example", no_protection=True, **FAST_KEY)
        )
        other = gpg.gen_key(
            gpg.gen_key_input(name_email="other@house.example", no_protection=True, **FAST_KEY)
        )
        sign_only = gpg.gen_key(
            gpg.gen_key_input(
                key_type="EDDSA", key_curve="ed25519", key_usage="sign", name_email="sign@house.example",
                no_protection=True,
            )
        )  # fmt: skip
        past = gnupg.GPG(gnupghome=home, options=["--faked-system-time", "20200101T000000!"])
        expired = past.gen_key(
            past.gen_key_input(
                name_email="old@house.example", no_protection=True, expire_date="1y", **FAST_KEY
            )
        )
        assert all(k.fingerprint for k in (main, other, sign_only, expired))
        yield Keys(
            home=home,
            gpg=gpg,
            fingerprint=main.fingerprint,
            public=gpg.export_keys(main.fingerprint),
            private=gpg.export_keys(main.fingerprint, secret=True, passphrase=""),
            sign_only=gpg.export_keys(sign_only.fingerprint),
            expired=gpg.export_keys(expired.fingerprint),
            two_keys=gpg.export_keys([main.fingerprint, other.fingerprint]),
        )
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
        assert not _daemons(home), "the test key ring's gpg-agent is still running"


@pytest.fixture(autouse=True)
def _no_daemons_left() -> Iterator[None]:
    yield
    assert not _daemons("gw-pgp-"), "an encryptor left a gpg daemon running"


@pytest.fixture
def private_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Encryptors make their GNUPGHOME here, so a test can watch it appear and go."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _decrypt(keys: Keys, data: bytes) -> bytes:
    result = keys.gpg.decrypt(data)
    assert result.ok, result.stderr
    assert result.key_id or result.fingerprint
    return bytes(result.data)


# -- round trips ----------------------------------------------------------------------------------------


def test_a_batch_of_files_encrypts_to_the_print_houses_key(keys: Keys, private_tmp: Path) -> None:
    pdf = SHARED / "samples" / "print" / "digipost_a4-free-barcode-area.pdf"
    files = {"batch.pdf": pdf.read_bytes(), "batch.csv": "Ærlig;Øst;Å\r\n".encode(), "empty": b""}
    with PgpEncryptor(keys.public) as encryptor:
        assert encryptor.fingerprint == keys.fingerprint
        [home] = list(private_tmp.iterdir())
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        encrypted = {name: encryptor.encrypt(data) for name, data in files.items()}
        assert not _daemons(str(home)), "encrypting to a public key must not start gpg-agent"
    assert list(private_tmp.iterdir()) == []  # the throwaway home is gone
    for name, data in files.items():
        assert not encrypted[name].startswith(b"-----BEGIN PGP MESSAGE")  # binary, not armoured
        assert data == b"" or data not in encrypted[name]
        assert _decrypt(keys, encrypted[name]) == data


def test_one_shot_encryption(keys: Keys, private_tmp: Path) -> None:
    first = encrypt_for_recipient(b"one invoice", keys.public)
    second = encrypt_for_recipient(b"one invoice", keys.public)
    assert first != second  # a fresh session key each time: encrypt once, upload those bytes on retry
    assert _decrypt(keys, first) == _decrypt(keys, second) == b"one invoice"
    assert list(private_tmp.iterdir()) == []


def test_a_closed_encryptor_refuses_and_closing_twice_is_fine(keys: Keys) -> None:
    encryptor = PgpEncryptor(keys.public)
    encryptor.close()
    encryptor.close()
    with pytest.raises(PgpError, match="closed"):
        encryptor.encrypt(b"x")


# -- keys that cannot be used ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "not an ASCII-armoured OpenPGP public key block"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== print@house", "not an ASCII-armoured"),
        (
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n=AAAA\n"
            "-----END PGP PUBLIC KEY BLOCK-----\n",
            "does not parse",
        ),
        ("private", "private key"),
        ("sign_only", "has no encryption subkey"),
        ("expired", "expired on 2020-12-31"),
        ("two_keys", "holds 2 keys"),
    ],
)
def test_unusable_keys_are_refused_with_the_reason(
    keys: Keys, private_tmp: Path, key: str, message: str
) -> None:
    armored = getattr(keys, key) if key in {"private", "sign_only", "expired", "two_keys"} else key
    with pytest.raises(PgpError, match=message) as caught:
        PgpEncryptor(armored)
    assert isinstance(caught.value, ValueError)
    assert list(private_tmp.iterdir()) == []  # no home left behind on failure either


def test_a_truncated_key_is_refused(keys: Keys, private_tmp: Path) -> None:
    lines = keys.public.splitlines()
    truncated = "\n".join([*lines[: len(lines) // 2], "-----END PGP PUBLIC KEY BLOCK-----"])
    with pytest.raises(PgpError):
        PgpEncryptor(truncated)
    assert list(private_tmp.iterdir()) == []


def test_missing_gpg_is_a_clear_error(keys: Keys, private_tmp: Path) -> None:
    with pytest.raises(PgpError, match="cannot run gpg"):
        encrypt_for_recipient(b"x", keys.public, gpg_binary=os.fspath(private_tmp / "no-such-gpg"))
    assert list(private_tmp.iterdir()) == []
