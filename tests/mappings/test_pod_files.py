"""Proof-of-delivery files by their bytes (`mappings.status.pod_files`): which of the five a file is, what a
refused one looks like, and a photo's size read from its header only."""

from __future__ import annotations

import pytest

from mappings.base import FormatError
from mappings.status import pod_files
from tests.conftest import SHARED
from tests.mappings.test_transport_status import sample_iftsta
from tests.services.test_pods import make_jpeg, make_png, make_zip_bomb

SAMPLES = SHARED / "samples"
INVOICE_810 = (SAMPLES / "edi" / "x12" / "810" / "bots_810-004010-01.x12").read_bytes()


def test_the_five_kinds_in_order() -> None:
    found = {
        "pdf": (SAMPLES / "print" / "digipost_a4-full-page.pdf").read_bytes(),
        "jpeg": make_jpeg(5, 4),
        "png": make_png(3, 2),
        "iftsta": sample_iftsta(),
        "x12-214": (SAMPLES / "edi" / "x12" / "214" / "edinet_214-MGCTLYST-SAMPLE.EDI").read_bytes(),
    }
    for kind, data in found.items():
        assert pod_files.kind_of(data) == kind
        assert pod_files.sniff(data)
        facts = pod_files.inspect(data)
        assert (facts["kind"], facts["media_type"]) == (kind, pod_files.MEDIA_TYPES[kind][0])
    assert pod_files.inspect(found["jpeg"])["width"] == 5 and pod_files.inspect(found["jpeg"])["height"] == 4


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (make_zip_bomb(), "a ZIP archive"),
        (b"GIF89a", "a GIF image (only JPEG and PNG photos are accepted)"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "an SVG image (it can carry scripts)"),
        (b"<!DOCTYPE html><p>hi", "an HTML document"),
        (b"<Invoice/>", "an XML or markup document"),
        (b"", "empty"),
        (b"hello", "an unknown kind of file"),
        (INVOICE_810, "an unknown kind of file"),
    ],
)
def test_what_a_refused_file_looks_like(data: bytes, what: str) -> None:
    assert pod_files.kind_of(data) is None and not pod_files.sniff(data)
    assert pod_files.looks_like(data) == what
    with pytest.raises(FormatError, match="not a proof of delivery"):
        pod_files.inspect(data)


def test_a_broken_photo_header_is_a_format_error_naming_it() -> None:
    with pytest.raises(FormatError, match="not a valid PNG: the IHDR header is missing"):
        pod_files.image_size("png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    with pytest.raises(FormatError, match=r"not a valid JPEG: no frame header \(SOF\)"):
        pod_files.image_size("jpeg", b"\xff\xd8\xff\xd9")
    assert pod_files.image_size("png", make_png(70_000, 1)) == (70_000, 1)  # read, never decoded
