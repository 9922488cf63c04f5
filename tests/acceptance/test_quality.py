"""The package is `ruff`, `mypy --strict` and `import-linter` clean (all configured in pyproject.toml).

The checkers are separate processes that need nothing from the tests, and mypy alone takes minutes on a cold
cache: `tests/conftest.py` starts the selected ones when collection ends (`start_checks`) and runs these
tests last, so the checkers work alongside the rest of the suite and each test here collects its result.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]

#: Each test's checker command, run in ROOT.
CHECKS: dict[str, list[str]] = {
    "test_ruff_is_clean": [sys.executable, "-m", "ruff", "check", "."],
    "test_mypy_strict_is_clean": [sys.executable, "-m", "mypy"],
    "test_imports_keep_the_layers": [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
}


class _Running:
    """A checker started in the background; its output goes to files (a full pipe would stall it)."""

    def __init__(self, argv: list[str]) -> None:
        self.stdout: IO[str] = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in `result`
        self.stderr: IO[str] = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.process = subprocess.Popen(argv, cwd=ROOT, stdout=self.stdout, stderr=self.stderr, text=True)

    def result(self) -> subprocess.CompletedProcess[str]:
        returncode = self.process.wait()
        output = []
        for stream in (self.stdout, self.stderr):
            stream.seek(0)
            output.append(stream.read())
            stream.close()
        return subprocess.CompletedProcess(self.process.args, returncode, output[0], output[1])


_running: dict[str, _Running] = {}


def start_checks(test_names: list[str]) -> None:
    """Start the checkers of these tests now (called when collection ends; each starts at most once)."""
    for name in test_names:
        if name in CHECKS and name not in _running:
            _running[name] = _Running(CHECKS[name])


def stop_checks() -> None:
    """End the checkers no test collected (the run stopped early: `-x`, Ctrl-C)."""
    while _running:
        _, running = _running.popitem()
        running.process.kill()
        running.result()


def check_result(test_name: str) -> subprocess.CompletedProcess[str]:
    """The finished checker of this test (started now if it was not started at collection)."""
    start_checks([test_name])
    return _running.pop(test_name).result()


def test_ruff_is_clean() -> None:
    result = check_result("test_ruff_is_clean")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = check_result("test_mypy_strict_is_clean")
    assert result.returncode == 0, result.stdout + result.stderr


def test_imports_keep_the_layers() -> None:
    """No import runs up a layer, lazy ones included; channels reach no database (contracts in pyproject)."""
    result = check_result("test_imports_keep_the_layers")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout
