"""The DSN reader over sisimai's 96 real bounces and non-bounces (`samples/email/sisimai/`, issue 17).

Each file is one of three things after reading:

* a bounce read with the right failed recipient(s): every recipient the reader reports as failed or
  delayed is an e-mail address the file itself names as a recipient — in a `Final-Recipient`,
  `Original-Recipient`, `X-Failed-Recipients`, `RCPT TO` or the returned message's `To` / `Cc` (checked
  here with a regular expression over the raw file, independently of the reader) — or, for the few
  plain-text notices that name the failed address only in their prose, the address listed by hand in
  `NAMED_IN_PROSE` after reading the file;
* rightly recognised as not a bounce: the two ARF feedback reports (`arf-*`), the RFC 3834 vacation
  auto-reply (`rfc3834-*`) and an Amazon SES *Delivery* notification (`lhost-amazonses-12`: sent to
  success@simulator.amazonses.com, a delivery, not a bounce);
* not understood: refused, or read with a recipient that is not an e-mail address named as above.

The counts are asserted exactly: more "not understood" or fewer "right" fails the test (so does an
improvement: then raise the numbers here).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mappings.base import FormatError
from mappings.status import dsn as dsn_reports
from mappings.status.dsn import AUTO_REPLY, DELAYED, DELIVERED, FAILED, FEEDBACK_REPORT
from tests.conftest import SHARED

SISIMAI = SHARED / "samples" / "email" / "sisimai"
FILES = sorted(SISIMAI.glob("*.eml"))

#: What the files that are not bounces are (sisimai's own grouping: arf-, rfc3834-; SES by its JSON).
NOT_BOUNCES = {
    "arf-11.eml": FEEDBACK_REPORT,
    "arf-19.eml": FEEDBACK_REPORT,
    "rfc3834-03.eml": AUTO_REPLY,
    "lhost-amazonses-12.eml": DELIVERED,
}
#: Plain-text notices whose failed address appears only in their prose, checked by hand (file: line).
NAMED_IN_PROSE = {
    "lhost-exchange2003-02.eml": {"kijitora@example.co.jp", "mikeneko@example.co.jp"},  # "… on Thu, 29 Apr"
    "lhost-exchange2003-04.eml": {"kijitora@example.com"},  # "could not be reached: kijitora@…"
    "lhost-ezweb-05.eml": {"this-local-part-does-not-exist-on-the-server@ezweb.ne.jp"},
    "lhost-notes-02.eml": {"kijitora@u1.example.co.jp"},  # under "Failure Reasons"
    "lhost-opensmtpd-02.eml": {"mailboxfull@example.jp", "userunknown@example.jp"},  # "550 5.2.2 / 5.1.1"
    "lhost-v5sendmail-05.eml": {  # "554 <…>... 550 Host unknown" per address
        "kijitora@example.edu",
        "kuroneko@example.or.jp",
        "kijitora@example.org",
        "mikeneko@example.co.jp",
    },
    "lhost-x1-02.eml": {"kijitora@example.org"},  # "kijitora@example.org [User unknown]"
    "lhost-x2-02.eml": {"kijitora@example.com", "mikeneko@example.com", "sabineko@example.com"},
    "lhost-x2-05.eml": {"kijitora@y.example.com"},  # "<kijitora@y.example.com>:" (qmail style)
    "lhost-yahoo-02.eml": {"kijitora@example.ed.jp"},  # "Remote host said: 550 5.2.2 <…> Mailbox Full"
}
#: Measured with this reader (issue 17).
EXPECTED_RIGHT, EXPECTED_NOT_A_BOUNCE, EXPECTED_NOT_UNDERSTOOD = 87, 4, 5

_PLAIN_ADDRESS = re.compile(r"^[^\s@<>|:]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


def _named_as_recipient(raw: str, address: str) -> bool:
    field = r"(to|cc|x-failed-recipients|final-recipient|original-recipient|rcpt to)"
    return re.search(rf"(?im)^[ \t>]*{field}[ \t]*:[^\n]*{re.escape(address)}", raw) is not None


def _verdict(path: Path) -> str:
    data = path.read_bytes()
    try:
        report = dsn_reports.parse(data)
    except FormatError:
        return "not understood"
    if path.name in NOT_BOUNCES:
        return "not a bounce" if report.classification == NOT_BOUNCES[path.name] else "not understood"
    if not report.is_delivery_report or report.classification not in {FAILED, DELAYED}:
        return "not understood"
    raw = data.decode("latin-1")
    found = [r.final_recipient or "" for r in report.recipients if r.action in {FAILED, DELAYED}]
    by_hand = NAMED_IN_PROSE.get(path.name, set())
    right = found and all(
        _PLAIN_ADDRESS.match(address) and (address in by_hand or _named_as_recipient(raw, address))
        for address in found
    )
    return "right" if right else "not understood"


def test_the_sisimai_set_is_there() -> None:
    assert len(FILES) == 96


def test_sisimai_bounces_are_read_with_the_right_recipient() -> None:
    verdicts = {path.name: _verdict(path) for path in FILES}
    right = sum(v == "right" for v in verdicts.values())
    not_a_bounce = sum(v == "not a bounce" for v in verdicts.values())
    not_understood = sorted(name for name, v in verdicts.items() if v == "not understood")
    print(
        f"\nsisimai: {right} bounces read with the right failed recipient, {not_a_bounce} rightly not a "
        f"bounce, {len(not_understood)} not understood: {', '.join(not_understood)}"
    )
    assert (right, not_a_bounce, len(not_understood)) == (
        EXPECTED_RIGHT,
        EXPECTED_NOT_A_BOUNCE,
        EXPECTED_NOT_UNDERSTOOD,
    )


@pytest.mark.parametrize(
    ("name", "read_by", "recipients"),
    [
        # qmail: plain text, "<address>:" then the remote reply
        ("lhost-qmail-15.eml", "flufl.bounce", ["pseudo-local-part-of-microsoft-outlook@outlook.com"]),
        # Exim: X-Failed-Recipients
        ("lhost-exim-07.eml", "flufl.bounce", ["shiba@example.com"]),
        # Gmail's plain-text "Delivery Status Notification (Failure)"
        ("lhost-gmail-11.eml", "flufl.bounce", ["kijitora@example.com"]),
        # Amazon WorkMail: a DSN's fields written into the text of a multipart/mixed
        ("lhost-amazonworkmail-02.eml", "text", ["sabineko@example.jp"]),
        # Mimecast: an empty message/delivery-status part, the failure named in the text
        ("lhost-mimecast-02.eml", "flufl.bounce", ["sabatora@example.net"]),
        # a multipart/report whose boundary never matches: Final-Recipient read from the text
        ("rhost-google-02.eml", "text", ["neko-nyaan@example.org"]),
        # RFC 3464 inside multipart/mixed (OpenSMTPD)
        ("lhost-opensmtpd-11.eml", "rfc3464", ["authfailure@libsisimai.net"]),
    ],
)
def test_classes_of_real_bounces(name: str, read_by: str, recipients: list[str]) -> None:
    report = dsn_reports.parse((SISIMAI / name).read_bytes())
    assert report.read_by == read_by
    assert [r.final_recipient for r in report.recipients] == recipients
    assert report.classification == FAILED


def test_auto_replies_and_feedback_reports_are_what_they_are() -> None:
    vacation = dsn_reports.parse((SISIMAI / "rfc3834-03.eml").read_bytes())
    assert (vacation.classification, vacation.recipients) == (AUTO_REPLY, [])
    assert vacation.references == ["<25203A4E-F90F-4A14-BF51-3E7B9D39BE8E@libsisimai.org>"]
    arf = dsn_reports.parse((SISIMAI / "arf-19.eml").read_bytes())
    assert (arf.classification, arf.recipients) == (FEEDBACK_REPORT, [])
    # Exim marks its bounces "Auto-Submitted: auto-replied": still a bounce, not an auto-reply
    exim = (SISIMAI / "lhost-exim-07.eml").read_bytes()
    assert b"Auto-Submitted: auto-replied" in exim
    assert dsn_reports.parse(exim).classification == FAILED
