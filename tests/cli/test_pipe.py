"""The real `gateway` executable with its stdout on a pipe (`gateway … | cat`): plain tab-separated rows with
whole ids and no drawing, and no progress bar; with stderr on a terminal (a pty) the bar is drawn there
while stdout stays plain."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

from gateway.settings import Settings
from tests.cli.conftest import invoices_folder

GATEWAY = Path(sys.executable).with_name("gateway")  # .venv/bin/gateway, the installed entry point
HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("GATEWAY_")}
    env.pop("FORCE_COLOR", None)
    env.pop("COLUMNS", None)
    return {
        **env,
        "GATEWAY_DATABASE_URL": settings.database,
        "GATEWAY_DATA_DIR": str(settings.data_dir),
        "GATEWAY_TENANT": "acme",
        **extra,
    }


def _run(settings: Settings, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GATEWAY), *args],
        capture_output=True,  # stdout and stderr on pipes, as in `gateway … 2>&1 | cat`
        env=_env(settings, **extra),
        cwd=settings.data_dir.parent,
        text=True,
        timeout=120,
        check=False,
    )


def test_piped_tables_are_plain_rows_and_there_is_no_progress_bar(settings: Settings, tmp_path: Path) -> None:
    inbox = invoices_folder(tmp_path / "in", 1, 2, 3)
    sent = _run(settings, "send", str(inbox))
    assert sent.returncode == 0, sent.stderr
    assert sent.stderr == ""  # no progress bar, no spinner, nothing
    rows = [line.split("\t") for line in sent.stdout.splitlines()]
    assert [row[:4] for row in rows] == [[f"{n}.json", "0", "created", f"INV-00000{n}"] for n in (1, 2, 3)]
    assert all(HEX_ID.match(row[5]) for row in rows)
    # FORCE_COLOR makes rich think it has a terminal; the stream itself decides here
    status = _run(settings, "status", FORCE_COLOR="1")
    assert status.returncode == 0, status.stderr
    assert "\x1b" not in status.stdout and not re.search("[┃│━─]", status.stdout)
    listed = [line.split("\t") for line in status.stdout.splitlines()]
    assert sorted(row[2] for row in listed) == ["INV-000001", "INV-000002", "INV-000003"]
    assert all(HEX_ID.match(row[0]) and HEX_ID.match(row[1]) for row in listed)
    assert {row[1] for row in listed} == {row[5] for row in rows}
    missing = _run(settings, "send", str(tmp_path / "gone.json"))
    assert missing.returncode == 2 and "gone.json: no such file" in missing.stderr and missing.stdout == ""


def test_a_terminal_on_stderr_gets_the_progress_bar_and_stdout_stays_plain(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = invoices_folder(tmp_path / "in", 1, 2)
    leader, follower = pty.openpty()
    drawn = bytearray()

    def read_terminal() -> None:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the process closed its end
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    process = subprocess.Popen(
        [str(GATEWAY), "send", str(inbox)],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=_env(settings, TERM="xterm-256color"),
        cwd=settings.data_dir.parent,
        text=True,
    )
    os.close(follower)
    stdout, _ = process.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(leader)
    assert process.returncode == 0
    assert "intake" in drawn.decode(errors="replace")  # the bar's label, drawn on the terminal
    rows = [line.split("\t") for line in stdout.splitlines()]
    assert [row[3] for row in rows] == ["INV-000001", "INV-000002"] and "\x1b" not in stdout
