"""`benchmarks/saxon_gil.py` runs on the official rules and prints its figures, the last line the share."""

from __future__ import annotations

import re

import pytest

from benchmarks import saxon_gil
from tests.conftest import SHARED


def test_the_gil_benchmark_prints_each_step_and_ends_with_the_loop_share(
    capsys: pytest.CaptureFixture[str],
) -> None:
    saxon_gil.main(["--rules-dir", str(SHARED / "validation"), "--documents", "3"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert "PEPPOL-EN16931-UBL" in lines[1]
    step_line = re.compile(r"alone +([\d.]+) ms, beside the loop +([\d.]+) ms; loop share ([\d.]+)")
    steps = [step_line.search(line) for line in lines[2:4]]
    assert all(step is not None and float(step[1]) > 0 and float(step[2]) > 0 for step in steps), lines
    share = re.fullmatch(r"loop share (\d+\.\d\d)", lines[-1])
    assert share is not None and 0 < float(share[1]) < 2, lines
