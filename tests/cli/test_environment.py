"""Where the tests find what is not in the repository, said by two variables (named in the README):
`GATEWAY_SHARED_DIR` for the shared samples and `GATEWAY_TEST_POSTGRES_URL` for the PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import tests.conftest
from tests.conftest import SHARED, pytest_report_header, shared_dir

ROOT = Path(tests.conftest.__file__).resolve().parents[1]


def test_the_shared_folder_is_gateway_shared_dir_else_next_to_the_checkout(tmp_path: Path) -> None:
    assert shared_dir({"GATEWAY_SHARED_DIR": str(tmp_path)}) == tmp_path.resolve()
    assert shared_dir({}) == ROOT.parent / "shared"


def test_the_run_says_which_database_and_folder_it_uses() -> None:
    databases, shared = pytest_report_header()
    assert databases.endswith("(GATEWAY_TEST_POSTGRES_URL)") and tests.conftest.DATABASES[0] in databases
    assert shared == f"gateway: shared samples {SHARED} (GATEWAY_SHARED_DIR)"  # here, the folder is there
