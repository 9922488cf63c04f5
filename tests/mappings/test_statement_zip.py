"""The statement zip reader: members read in archive order under limits, hostile archives refused naming
the member. The archives are built here with `zipfile` (a bank's statement zip is a plain deflate zip of
camt files; the hostile ones are the classes of attack the reader must refuse)."""

from __future__ import annotations

import io
import zipfile

import pytest

import mappings
from mappings.base import FormatError
from mappings.remittance.statement_zip import ZipLimits, inspect, name_problem, open_statement_zip, sniff
from tests.conftest import SHARED

CAMT = SHARED / "samples" / "camt"


def build_zip(members: list[tuple[str, bytes]], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        for name, data in members:
            archive.writestr(
                zipfile.ZipInfo(name, date_time=(2024, 5, 2, 6, 0, 0)), data, compress_type=method
            )
    return out.getvalue()


def refused(data: bytes, limits: ZipLimits | None = None) -> FormatError:
    with pytest.raises(FormatError) as caught:
        open_statement_zip(data, limits)
    return caught.value


def test_a_banks_statement_zip_gives_its_members_in_order() -> None:
    # stands for a Norwegian bank's daily delivery: camt.053 + camt.054 in one .zip, one in a folder
    files = [
        ("camt053.xml", (CAMT / "genkgo_camt053.v8.xml").read_bytes()),
        ("statements/", b""),
        ("statements/camt054.xml", (CAMT / "SYNTHETIC_no_camt054_v08_kid_batch.xml").read_bytes()),
    ]
    data = build_zip(files)
    assert sniff(data) and mappings.detect_format(data) == "statement-zip"
    members = open_statement_zip(data)
    assert [(m.name, m.data) for m in members] == [files[0], files[2]]
    assert inspect(data)["members"] == [
        {"name": "camt053.xml", "size": len(files[0][1])},
        {"name": "statements/camt054.xml", "size": len(files[2][1])},
    ]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../etc/passwd", "'..' in the path (outside the archive)"),
        ("statements/../../x.xml", "'..' in the path (outside the archive)"),
        ("..\\x.xml", "'..' in the path (outside the archive)"),
        ("/etc/cron.d/x", "an absolute path"),
        ("\\windows\\x.xml", "an absolute path"),
        ("C:/x.xml", "a drive letter in the name"),
        ("c:x.xml", "a drive letter in the name"),
        ("x\x1b.xml", "control or invisible formatting characters in the name"),
    ],
)
def test_a_path_in_a_member_name_is_refused_naming_it(name: str, problem: str) -> None:
    assert name_problem(name) == problem
    error = refused(build_zip([("ok.xml", b"<a/>"), (name, b"<a/>")]))
    assert (error.where, error.reason) == (f"zip member {name!r}", f"refused: {problem}")


def test_a_zip_bomb_is_refused_by_ratio_and_by_total_size() -> None:
    bomb = build_zip([("camt.xml", b"<a/>"), ("bomb.xml", b"\0" * 20_000_000)])  # ~1000:1
    error = refused(bomb)
    assert error.where == "zip member 'bomb.xml'"
    assert error.reason.startswith("refused: compression ratio over 100:1")
    many = build_zip([(f"part{n}.xml", bytes(range(256)) * 4000) for n in range(4)])  # 1 MB each
    error = refused(many, ZipLimits(max_total_bytes=2_500_000, max_ratio=1000))
    assert (error.where, error.reason) == (
        "zip member 'part2.xml'",
        "refused: the archive decompresses past 2,500,000 bytes in all (a zip bomb?)",
    )


def test_header_sizes_are_not_trusted() -> None:
    # a bomb whose headers claim a small file: the bytes are counted as they are decompressed
    data = bytearray(build_zip([("liar.xml", b"\0" * 3_000_000)]))
    good = open_statement_zip(bytes(data), ZipLimits(max_ratio=10_000))
    assert len(good[0].data) == 3_000_000
    error = refused(bytes(data), ZipLimits(max_member_bytes=1_000_000, max_ratio=10_000))
    assert error.reason == "refused: decompresses past 1,000,000 bytes (a zip bomb?)"


def test_nested_archives_are_refused() -> None:
    inner = build_zip([("camt.xml", b"<a/>")])
    error = refused(build_zip([("camt.xml", b"<a/>"), ("more.zip", inner)]))
    assert (error.where, error.reason) == (
        "zip member 'more.zip'",
        "refused: a nested archive (an archive inside the zip)",
    )
    error = refused(build_zip([("camt.xml", b"<a/>"), ("more.xml", inner)]))
    assert (error.where, error.reason) == (
        "zip member 'more.xml'",
        "refused: a nested archive (a zip inside the zip)",
    )


def test_too_many_members_encrypted_duplicates_and_broken_archives_are_refused() -> None:
    error = refused(build_zip([(f"f{n}.xml", b"<a/>") for n in range(5)]), ZipLimits(max_members=4))
    assert (error.where, error.reason) == ("zip", "refused: 5 members, at most 4")

    encrypted = bytearray(build_zip([("secret.xml", b"<a/>")], method=zipfile.ZIP_STORED))
    encrypted[6] |= 0x1  # the general-purpose flag of the local header…
    central = encrypted.rfind(b"PK\x01\x02")
    encrypted[central + 8] |= 0x1  # …and of the central directory: an encrypted member
    error = refused(bytes(encrypted))
    assert (error.where, error.reason) == (
        "zip member 'secret.xml'",
        "refused: encrypted (the gateway reads no encrypted member)",
    )

    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile warns the writer, and writes both
        twice = build_zip([("a.xml", b"<a/>"), ("a.xml", b"<b/>")])
    error = refused(twice)
    assert (error.where, error.reason) == ("zip member 'a.xml'", "refused: two members have this name")
    assert refused(build_zip([("only/", b"")])).reason == "refused: the archive holds no files"
    assert refused(b"PK\x03\x04 truncated").where == "zip"

    corrupted = bytearray(build_zip([("camt.xml", b"<Document>" * 100)], method=zipfile.ZIP_STORED))
    corrupted[40] ^= 0xFF  # a byte of the stored member: its CRC no longer fits
    error = refused(bytes(corrupted))
    assert error.where == "zip member 'camt.xml'" and error.reason.startswith("refused: cannot be read")


def test_a_member_whose_deflate_stream_is_damaged_is_refused_naming_it() -> None:
    """Found by the fuzz tests (a mutated file that still opened as a zip): zlib's own error came out of
    `inspect` instead of a refusal. The member's compressed bytes are overwritten here the same way."""
    data = bytearray(build_zip([("stmt.xml", b"<Document>" + b"x" * 4000 + b"</Document>")]))
    start = data.index(b"stmt.xml") + len("stmt.xml")  # the local header's name, then the deflate stream
    data[start : start + 16] = b"\xff" * 16
    error = refused(bytes(data))
    assert "stmt.xml" in error.where and "cannot be read" in error.reason, error
    with pytest.raises(FormatError):
        inspect(bytes(data))
