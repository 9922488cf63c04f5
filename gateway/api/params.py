"""Query parameter types every route shares, so each bound is written once.

An unbounded integer reaches the database as a bigint it cannot hold (`offset=99999999999999999999` was a
500); a moment is read as `gateway.services.moments` says. FastAPI answers a value outside these with a
422 on `query.<name>`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from gateway.services.moments import UTC_MOMENT_WORDS, UtcMoment

#: The largest offset a list takes: far beyond any real list, far below a database integer's limit.
MAX_OFFSET = 1_000_000_000

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"rows to skip (0 to {MAX_OFFSET:,})")]
Limit = Annotated[int, Query(ge=1, le=1000, description="rows per answer (1 to 1,000)")]
Since = Annotated[UtcMoment | None, Query(description=f"at or after this moment: {UTC_MOMENT_WORDS}")]
