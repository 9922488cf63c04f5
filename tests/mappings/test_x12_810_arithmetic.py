"""An X12 810 whose stated amounts do not add up is refused at intake naming the segment, like an INVOIC.

Stands for the 004030 810s other projects' test suites carry whose summary TXI (VAT) and AMT*1 (line total)
disagree with the IT1 lines: read as they were, they became EHF invoices that failed the official rules
later. A stated VAT figure the official rule accepts (BR-CO-17: a difference below one currency unit) is
kept, with the exact figure as a warning.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from mappings.invoice import x12_810
from mappings.syntax.x12 import X12SyntaxError
from tests.conftest import SHARED

LINES = [
    "IT1*1*3*EA*16.11**VN*A1",  # 48.33
    "TXI*VA**25*******S",
    "PID*F*08***Widget",
    "IT1*2*2*EA*100**VN*B2",  # 200.00
    "TXI*VA**25*******S",
    "PID*F*08***Gadget",
]


def _810(
    *, tax: str = "62.08", taxable: str = "248.33", total_cents: str = "31041", line_total: str = "248.33"
) -> bytes:
    """A hand-built 004030 810 (two lines, 25 % VAT, NOK) with its summary figures as given."""
    body = [
        "ST*810*0001",
        "BIG*20260517*INV-4030-1*20260510*PO-77",
        "CUR*SE*NOK",
        "N1*SE*Nordlys Verksted AS*92*S1",
        "N1*BT*Fjordkraft Kunde AS*91*B1",
        *LINES,
        f"TDS*{total_cents}",
        f"TXI*VA*{tax}*25*****{taxable}**S",
        f"AMT*1*{line_total}",
        "CTT*2",
    ]
    body.append(f"SE*{len(body) + 1}*0001")
    segments = [
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
        "*260517*1200*^*00403*000000001*0*P*:",
        "GS*IN*SENDER*RECEIVER*20260517*1200*1*X*004030",
        *body,
        "GE*1*1",
        "IEA*1*000000001",
    ]
    return ("~\n".join(segments) + "~\n").encode()


def test_hand_built_4030_810_that_adds_up_is_read() -> None:
    (invoice,) = x12_810.parse(_810())
    assert invoice.totals.tax_inclusive == Decimal("310.41")
    assert invoice.arithmetic_warnings == []


def test_stated_vat_within_one_unit_is_kept_with_a_warning() -> None:
    (invoice,) = x12_810.parse(_810(tax="62.03", total_cents="31036"))
    assert invoice.vat_breakdown[0].tax_amount == Decimal("62.03")
    assert [(w.rule, str(w.stated), str(w.computed)) for w in invoice.arithmetic_warnings] == [
        ("BR-CO-17", "62.03", "62.08")
    ]


@pytest.mark.parametrize(
    ("figures", "tag", "element", "reason"),
    [
        (
            {"tax": "52.08", "total_cents": "30041"},
            "TXI",
            2,
            "TXI02 says the VAT in VAT category S at 25 % is 52.08",
        ),
        ({"taxable": "238.33"}, "TXI", 8, "(BR-S-08)"),
        ({"line_total": "250.00"}, "AMT", 2, "AMT*1 says the lines total 250.00"),
        ({"total_cents": "31141"}, "TDS", 1, "TDS01 says the invoice totals 311.41"),
    ],
)
def test_810_that_does_not_add_up_is_refused_naming_the_segment(
    figures: dict[str, str], tag: str, element: int, reason: str
) -> None:
    data = _810(**figures)
    with pytest.raises(X12SyntaxError) as refused:
        x12_810.parse(data)
    assert (refused.value.segment_tag, refused.value.element_index) == (tag, element)
    assert reason in str(refused.value)
    (report,) = x12_810.inspect(data)["invoices"]
    assert report["readable"] is False and tag in report["errors"][0]["field"]


def test_shared_810_samples_still_read() -> None:
    """The 810s in ../shared/samples/edi that were read before are read the same (the new checks only
    refuse what does not add up)."""
    folder = SHARED / "samples/edi/x12/810"
    for name, count in [
        ("bots_810-004010-01.x12", 2),
        ("oopf_Example3_MultiInvoice.txt", 2),
        ("stupidedi_IN810_4010_pass_1.edi", 1),
        ("oopf_Example1_CaliforniaISO.txt", 1),
    ]:
        assert len(x12_810.parse((folder / name).read_bytes())) == count, name
